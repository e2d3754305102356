// The scenario format as a JSON Schema (draft 2020-12), for editors: `knetlab schema` prints it and
// the npm package ships it (schema/scenario.schema.json). It is made from the zod schemas the loader
// checks with; what those check in code (names that refer to things, a rule's refinements) is left
// to `knetlab validate`. Only keywords that draft-07 readers (yaml-language-server) also know are used.
import { z } from 'zod';
import { kubernetesVersions, NEWEST_KUBERNETES_VERSION } from '../dataplane/versions.js';
import { proxyModes } from '../proxy/modes.js';
import type { StepKindDef } from '../steps/kind.js';
import { stepKinds } from '../steps/kinds/index.js';
import { subdomainName } from './kube-schema.js';
import { topSchema } from './load.js';
import { apiVersions, kindSchemas, kubeKinds } from './objects.js';
import { clusterSchema, hostSchema, nodeSchema, stepKindNames, type StepKindName } from './schema.js';
import { skipOnlyKinds, tracedKinds } from './steps.js';

export type JsonSchema = { [k: string]: unknown };

const ref = (name: string): JsonSchema => ({ $ref: `#/$defs/${name}` });

/** One zod schema as JSON Schema: what it accepts as input; refinements are dropped, transforms read as their input. */
function fromZod(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

const props = (s: JsonSchema): Record<string, JsonSchema> => s.properties as Record<string, JsonSchema>;

/** The array schema of a (possibly nullish) list, whose items are then set. */
function withItems(s: JsonSchema, items: JsonSchema): JsonSchema {
  if (s.type === 'array') return { ...s, items };
  if (Array.isArray(s.anyOf)) return { ...s, anyOf: (s.anyOf as JsonSchema[]).map((b) => (b.type === 'array' ? withItems(b, items) : b)) };
  throw new Error(`not a list schema: ${JSON.stringify(s)}`);
}

const modeMap = (value: JsonSchema, description: string): JsonSchema => ({
  type: 'object',
  description,
  propertyNames: { enum: [...proxyModes] },
  additionalProperties: value,
});

/** One step kind: its action key with its body, and the keys every step has, as that kind allows them. */
function stepSchema(kind: StepKindName): JsonSchema {
  const def: StepKindDef<StepKindName, unknown> = stepKinds[kind];
  const traced = (tracedKinds as readonly string[]).includes(kind);
  const properties: Record<string, JsonSchema> = {
    [kind]: kind === 'apply' ? { ...ref('manifest'), description: 'Kubernetes objects applied as `kubectl apply` would: a path to a YAML file, or one object' } : fromZod(def.body),
    name: { type: 'string', description: "The step's name in reports (and for a later step's sameBackendAs, differentBackendFrom or `run --trace NAME`)" },
    trace: traced
      ? { type: 'boolean', description: 'true: one try is traced through the kernel and the report shows where it went' }
      : { const: false, description: `A ${kind} step sends no probe to trace: trace is for ${tracedKinds.join(', ')} steps` },
  };
  if (def.expect) {
    properties.expect = { ...ref(`expect-${kind}`), description: `What every try of the ${kind} step must show` };
    properties.expectIn = modeMap(
      { anyOf: [{ const: 'skip', description: 'The step does not run under this mode (reported skipped)' }, ref(`expect-${kind}`)] },
      'An expectation per kube-proxy mode that replaces `expect` under that mode, or skip',
    );
  } else if ((skipOnlyKinds as readonly string[]).includes(kind)) {
    properties.expectIn = modeMap({ const: 'skip' }, `skip: the ${kind} step does not run under this kube-proxy mode`);
  }
  return { type: 'object', title: `${kind} step`, properties, required: [kind], additionalProperties: false };
}

/** One Kubernetes kind knetlab reads: its apiVersions, and the fields it checks (the others of the API accepted as they are). */
function kubeObjectSchema(kind: (typeof kubeKinds)[number]): JsonSchema {
  const s = fromZod(kindSchemas[kind]);
  const meta = props(s).metadata!;
  // An object's name is a DNS subdomain unless its kind's own schema says more (Service, Namespace).
  const name = props(meta).name!;
  const named = name.pattern === undefined ? { ...meta, properties: { ...props(meta), name: { ...name, ...fromZod(subdomainName) } } } : meta;
  return {
    ...s,
    title: kind,
    properties: { ...props(s), apiVersion: { enum: [...apiVersions[kind]] }, kind: { const: kind }, metadata: named },
    required: ['apiVersion', 'kind', ...((s.required as string[] | undefined) ?? [])],
  };
}

/** The whole schema of a scenario file. */
export function scenarioJsonSchema(): JsonSchema {
  const top = fromZod(topSchema);
  const p = props(top);
  const cluster = fromZod(clusterSchema);
  // Checked by the cluster's reading (src/cluster/config.ts): quoted, v and a patch release allowed.
  props(cluster).kubernetesVersion = {
    type: 'string',
    pattern: `^v?(?:${kubernetesVersions.map((v) => v.replace('.', '\\.')).join('|')})(?:\\.\\d+)?$`,
    examples: [...kubernetesVersions],
    description: `The kube-proxy release whose behaviour is modelled, quoted ("${NEWEST_KUBERNETES_VERSION}"; YAML reads 1.30 as 1.3); default the newest`,
  };
  const defs: Record<string, JsonSchema> = {
    cluster,
    node: fromZod(nodeSchema),
    host: fromZod(hostSchema),
    step: {
      oneOf: stepKindNames.map((k) => ref(`step-${k}`)),
      description: `One step: exactly one of ${stepKindNames.join(', ')}, with name, expect, expectIn and trace as its kind allows`,
    },
    manifest: {
      anyOf: [{ type: 'string', description: "A path to a YAML file of Kubernetes objects, relative to the scenario's folder" }, ref('kube-object')],
    },
    'kube-object': {
      oneOf: [
        ...kubeKinds.map((k) => ref(`kube-${k}`)),
        {
          type: 'object',
          title: 'List',
          description: 'A List as `kubectl get -o yaml` prints several objects',
          properties: { kind: { const: 'List' }, items: { type: 'array', items: ref('kube-object') } },
          required: ['kind', 'items'],
        },
        {
          type: 'object',
          title: 'another kind',
          description: 'A kind knetlab does not understand is skipped with a warning (one that looks like a misspelt known kind is an error)',
          properties: {
            apiVersion: { type: 'string', not: { pattern: '^knetlab/' } },
            kind: { type: 'string', not: { enum: [...kubeKinds, 'List'] } },
          },
          required: ['apiVersion', 'kind'],
        },
      ],
    },
  };
  for (const k of kubeKinds) defs[`kube-${k}`] = kubeObjectSchema(k);
  for (const k of stepKindNames) {
    defs[`step-${k}`] = stepSchema(k);
    const e = stepKinds[k].expect;
    if (e) defs[`expect-${k}`] = fromZod(e);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'knetlab scenario',
    description:
      'A knetlab scenario file (apiVersion: knetlab/v1, kind: Scenario); docs/SCENARIO_FORMAT.md is the reference. Names that refer to things are checked by `knetlab validate`.',
    ...top,
    properties: {
      ...p,
      cluster: { anyOf: [ref('cluster'), { type: 'null' }] },
      nodes: withItems(p.nodes!, ref('node')),
      hosts: withItems(p.hosts!, ref('host')),
      manifests: withItems(p.manifests!, ref('manifest')),
      steps: withItems(p.steps!, ref('step')),
    },
    $defs: defs,
  };
}
