import { warnNotModelled } from './fields.js';
import { realpath } from 'node:fs/promises';
import type { NetworkKind } from '../cni/networks.js';
import { dirname, join, isAbsolute } from 'node:path';
import { z } from 'zod';
import { KnetlabError } from '../errors.js';
import { formatDuration } from './duration.js';
import { placeInputPath, resolveAllowPaths } from './input-file.js';
import { proxyModes } from '../proxy/modes.js';
import { DEFAULT_SCENARIO_LIMIT_MS, MAX_FILE_BYTES, MAX_HOSTS, MAX_MANIFESTS, MAX_NODES, MAX_SCENARIO_LIMIT_MS, MAX_STEPS } from './limits.js';
import { readKubeObject, type KubeObject } from './objects.js';
import { Problems, quote, show } from './problems.js';
import type { Parsed } from './refs.js';
import { clusterSchema, hostSchema, nodeSchema, stepKindNames, type ClusterInput, type HostInput, type NodeInput, type StepKindName } from './schema.js';
import { newTokenBudget, originAt, parseYaml, readYamlFile, type Origin, type SourceDoc, type TokenBudget } from './source.js';
import { kernelExpectKeys, skipOnlyKinds, tracedKinds, type Step } from './steps.js';
import type { ReadContext, StepKindDef } from '../steps/kind.js';
import { stepKinds } from '../steps/kinds/index.js';
import { suggestion } from './suggest.js';
import { heaviestSteps, worstCaseMs } from './worst-case.js';
import { reportZodIssues } from './zod-problems.js';

export interface Located<T> {
  spec: T;
  origin: Origin;
}

/** A scenario file read and checked for its form; names are resolved by cluster/. */
export interface LoadedScenario {
  file: string;
  name: string;
  description: string;
  cluster: ClusterInput;
  clusterOrigin: Origin;
  nodes: Located<NodeInput>[];
  hosts: Located<HostInput>[];
  /** Every Kubernetes object of manifests, in apply order. */
  objects: KubeObject[];
  /** Names of objects refused for their problems (already reported). */
  rejectedNames: string[];
  steps: Step[];
  origin: Origin;
  /** The longest the steps may take (every probe timing out, every sleep; see worst-case.ts). */
  worstCaseMs: number;
  /** The most the steps may take (`--timeout`, default 30 minutes), for the runner to hold a run to. */
  limitMs: number;
}

/** How a scenario is read: from the command line (`--allow-path`, `--timeout`). */
export interface LoadOptions {
  /** Folders besides the scenario's own that its manifest and apply paths may lead into. */
  allowPaths?: readonly string[];
  /** The most the steps may take in the worst case, in ms (default DEFAULT_SCENARIO_LIMIT_MS). */
  limitMs?: number;
  /** Build under this network instead of the scenario's `cluster.network` (`knetlab run --network`). */
  network?: NetworkKind;
  /** The scenario's text, read instead of `file`, which still names it and anchors its paths (a lab's steps: src/run/lab-steps.ts). */
  text?: string;
}

/** What reading the files a scenario names needs: where they may be, and what is left to read. */
interface FileContext {
  baseDir: string;
  /** The scenario file itself, resolved: it cannot be its own manifest. */
  self: string;
  allowPaths: readonly string[];
  budget: TokenBudget;
}

export interface LoadResult {
  /** Set when the scenario's own sections are well formed (manifests and steps may still have problems). */
  scenario?: LoadedScenario;
  problems: Problems;
}

/** The scenario's own top-level keys (its sections are read with their own schemas below). */
export const topSchema = z.strictObject({
  apiVersion: z.literal('knetlab/v1'),
  kind: z.literal('Scenario'),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, { error: 'to be at most 40 characters of a-z, 0-9 and -, starting and ending with a letter or digit' }),
    description: z.string().optional(),
  }),
  cluster: z.unknown().optional(),
  nodes: z.array(z.unknown()).min(1).max(MAX_NODES),
  hosts: z.array(z.unknown()).max(MAX_HOSTS).nullish(),
  manifests: z.array(z.unknown()).max(MAX_MANIFESTS).nullish(),
  steps: z.array(z.unknown()).max(MAX_STEPS).nullish(),
});

/** A section within its bound: one over it is reported by topSchema and not read at all. */
const listOf = (v: unknown, max: number): unknown[] | undefined => (Array.isArray(v) && v.length <= max ? v : undefined);

function checkPart<T extends z.ZodType>(schema: T, value: unknown, origin: Origin, prefix: (string | number)[], problems: Problems): z.infer<T> | undefined {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  reportZodIssues(schema, res.error, { origin, value, prefix }, problems);
  return undefined;
}

/**
 * Like checkPart, but when a mapping has bad fields, reports them and goes on without them (so
 * later checks can still find problems elsewhere); undefined only when even that cannot parse.
 */
function checkLenient<T extends z.ZodType>(schema: T, value: unknown, origin: Origin, prefix: (string | number)[], problems: Problems): z.infer<T> | undefined {
  let res = schema.safeParse(value);
  if (res.success) return res.data;
  reportZodIssues(schema, res.error, { origin, value, prefix }, problems);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  let rest: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (let round = 0; round < 20 && !res.success; round++) {
    const drop = new Set<string>();
    for (const issue of res.error.issues) {
      if (issue.code === 'unrecognized_keys' && issue.path.length === 0) issue.keys.forEach((k) => drop.add(k));
      else if (issue.path.length > 0) drop.add(String(issue.path[0]));
    }
    const before = Object.keys(rest).length;
    rest = Object.fromEntries(Object.entries(rest).filter(([k]) => !drop.has(k)));
    if (Object.keys(rest).length === before) return undefined; // a required field is missing
    res = schema.safeParse(rest);
  }
  return res.success ? res.data : undefined;
}

/** Reads a scenario file, its manifest files and its steps, reporting every problem of form. */
export async function loadScenario(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const problems = new Problems();
  const allowed = await resolveAllowPaths(opts.allowPaths ?? []);
  if (!allowed.ok) throw new KnetlabError('EUSAGE', allowed.reason);
  const limitMs = opts.limitMs ?? DEFAULT_SCENARIO_LIMIT_MS;
  // A run is held to it by a timer, and Node's timers fire at once past 2^31-1 ms.
  if (!(limitMs > 0 && limitMs <= MAX_SCENARIO_LIMIT_MS))
    throw new KnetlabError('EUSAGE', `the scenario time limit must be more than 0 and at most ${formatDuration(MAX_SCENARIO_LIMIT_MS)}, got ${limitMs} ms`);
  const budget = newTokenBudget();
  if (opts.text !== undefined && Buffer.byteLength(opts.text) > MAX_FILE_BYTES)
    throw new KnetlabError('EUSAGE', `the scenario text given for ${file} is over ${MAX_FILE_BYTES} bytes, the most a scenario file may be`);
  const parsed = opts.text !== undefined ? parseYaml(file, opts.text, budget) : await readYamlFile(file, file, budget);
  problems.push(...parsed.problems);
  if (parsed.problems.length > 0) return { problems };
  if (parsed.docs.length !== 1) {
    if (parsed.docs.length === 0) problems.error('empty-file', { file, line: 1, col: 1 }, 'The scenario file is empty');
    else problems.error('multiple-documents', parsed.docs[1]!.start(), 'A scenario file holds one YAML document; put manifests in their own file and list it under manifests');
    return { problems };
  }
  const doc = parsed.docs[0]!;
  const top: Origin = { doc, path: [] };
  const value = doc.value();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    // Its shape only: the file may be anything (a key, a password file) given by mistake.
    problems.error('not-a-scenario', top, `Expected the scenario to be a mapping with apiVersion: knetlab/v1 and kind: Scenario, got ${parsed.documents[0]?.shape ?? 'nothing'}`);
    return { problems };
  }
  const raw = value as Record<string, unknown>;
  if (raw.apiVersion !== 'knetlab/v1' && raw.kind !== 'Scenario' && typeof raw.kind === 'string' && raw.nodes === undefined) {
    problems.error(
      'not-a-scenario',
      originAt(top, 'kind'),
      `This is a Kubernetes ${raw.kind}, not a scenario (apiVersion: knetlab/v1, kind: Scenario); list its file under \`manifests:\` of a scenario`,
    );
    return { problems };
  }
  const head = checkPart(topSchema, raw, top, [], problems);
  const at = (...p: (string | number)[]): Origin => originAt(top, ...p);

  // Bad fields are reported and left out, so the rest can still be checked as a whole.
  const cluster = raw.cluster === undefined || raw.cluster === null ? {} : checkLenient(clusterSchema, raw.cluster, at('cluster'), ['cluster'], problems);
  const nodes: Located<NodeInput>[] = [];
  let machinesOk = cluster !== undefined;
  const rawNodes = listOf(raw.nodes, MAX_NODES);
  if (rawNodes) {
    rawNodes.forEach((n, i) => {
      const spec = checkLenient(nodeSchema, n, at('nodes', i), ['nodes', i], problems);
      if (spec) nodes.push({ spec, origin: at('nodes', i) });
      else machinesOk = false;
    });
  } else machinesOk = false;
  const hosts: Located<HostInput>[] = [];
  const rawHosts = listOf(raw.hosts, MAX_HOSTS);
  if (raw.hosts != null && !rawHosts) machinesOk = false;
  if (rawHosts) {
    rawHosts.forEach((h, i) => {
      const spec = checkLenient(hostSchema, h, at('hosts', i), ['hosts', i], problems);
      if (spec) hosts.push({ spec, origin: at('hosts', i) });
      else machinesOk = false;
    });
  }

  const files: FileContext = { baseDir: dirname(file), self: await realpath(file).catch(() => file), allowPaths: allowed.dirs, budget };
  const objects: KubeObject[] = [];
  const rejected: string[] = [];
  const manifests = listOf(raw.manifests, MAX_MANIFESTS);
  if (manifests) {
    for (let i = 0; i < manifests.length; i++) {
      objects.push(...(await readManifestEntry(manifests[i], at('manifests', i), `manifests[${i}]`, files, problems, rejected)));
    }
  }

  const steps: Step[] = [];
  const rawSteps = listOf(raw.steps, MAX_STEPS);
  if (rawSteps) {
    for (let i = 0; i < rawSteps.length; i++) {
      const step = await readStep(rawSteps[i], i, at('steps', i), files, problems, rejected);
      if (step) steps.push(step);
    }
    checkSameBackendRefs(rawSteps, steps, problems);
  }
  const worstCase = worstCaseMs(steps);
  if (worstCase > limitMs) {
    problems.error(
      'over-time-limit',
      originAt(top, 'steps'),
      `The steps may take ${formatDuration(worstCase)} in the worst case (${heaviestSteps(steps)}), more than the limit of ${formatDuration(limitMs)} for a scenario; shorten them, or raise the limit with --timeout DURATION`,
      { key: true },
    );
  }

  // A bad head (name, apiVersion) is reported above; the cluster can still be checked.
  if (!machinesOk || nodes.length === 0) return { problems };
  const meta = (raw.metadata ?? {}) as { name?: unknown; description?: unknown };
  return {
    problems,
    scenario: {
      file,
      name: head?.metadata.name ?? (typeof meta.name === 'string' ? meta.name : ''),
      description: head?.metadata.description ?? (typeof meta.description === 'string' ? meta.description : ''),
      cluster: opts.network ? { ...cluster, network: opts.network } : (cluster ?? {}),
      clusterOrigin: at('cluster'),
      nodes,
      hosts,
      objects,
      rejectedNames: rejected,
      steps,
      origin: top,
      worstCaseMs: worstCase,
      limitMs,
    },
  };
}

/** `sameBackendAs` and `differentBackendFrom` name the latest earlier step of that name, which must be of a kind whose endpoint answers (http, udp). */
function checkSameBackendRefs(raw: unknown[], steps: readonly Step[], problems: Problems): void {
  const kindOf = (r: unknown) => (r && typeof r === 'object' ? Object.keys(r).find((k) => (stepKindNames as readonly string[]).includes(k)) : undefined);
  const nameOf = (r: unknown) => (r && typeof r === 'object' && typeof (r as { name?: unknown }).name === 'string' ? (r as { name: string }).name : undefined);
  const answering: string[] = stepKindNames.filter((k) => stepKinds[k].answeredByEndpoint);
  for (const step of steps) {
    const variants: [string[], unknown][] = [
      [['expect'], 'expect' in step ? step.expect : undefined],
      ...Object.entries(step.expectIn ?? {}).map(([m, e]) => [['expectIn', m], e] as [string[], unknown]),
    ];
    for (const [path, e] of variants)
      for (const key of ['sameBackendAs', 'differentBackendFrom'] as const) {
        const ref = (e as Partial<Record<typeof key, string>> | undefined)?.[key];
        if (ref === undefined) continue;
        const at = originAt(step.origin, ...path, key);
        const where = `steps[${step.index}].${path.join('.')}.${key}`;
        const earlier = raw.slice(0, step.index);
        const j = earlier.findLastIndex((r) => nameOf(r) === ref);
        if (j < 0) {
          const names = earlier.map(nameOf).filter((n): n is string => n !== undefined);
          const later = raw.slice(step.index).some((r) => nameOf(r) === ref);
          problems.error(
            'unknown-step',
            at,
            `\`${where}\`: no earlier step is named \`${ref}\`${later ? ' (the step of that name comes later; it must have run first)' : suggestion(ref, names)}`,
          );
        } else if (!answering.includes(kindOf(earlier[j]) ?? '')) {
          problems.error(
            'unknown-step',
            at,
            `\`${where}\`: steps[${j}] \`${ref}\` is a ${kindOf(earlier[j]) ?? 'bad'} step; only an ${answering.join(' or ')} step has an endpoint that answered`,
          );
        }
      }
  }
}

/**
 * A manifests entry (or an apply step): a path to a multi-document file, or one inline object. A
 * file must be where the scenario may read (see placeInputPath); one that is not YAML Kubernetes
 * objects is named with its problem, and nothing of its content is shown: it may be a secret.
 */
async function readManifestEntry(entry: unknown, origin: Origin, shownAs: string, files: FileContext, problems: Problems, rejected: string[]): Promise<KubeObject[]> {
  if (typeof entry === 'string') {
    const path = isAbsolute(entry) ? entry : join(files.baseDir, entry);
    const what = `manifest file ${quote(entry)}${path === entry ? '' : ` (${path})`}`;
    const placed = await placeInputPath(entry, files.baseDir, files.allowPaths);
    if (!placed.ok || placed.real === files.self) {
      problems.error('unreadable-file', origin, `Cannot read ${what}: ${placed.ok ? 'it is this scenario file itself; list the files of Kubernetes objects' : placed.reason}`);
      return [];
    }
    // The resolved path is read (a link swapped meanwhile cannot lead elsewhere); the written one is shown.
    const parsed = await readYamlFile(placed.real, path, files.budget);
    if (parsed.refused) {
      if (parsed.refused.message.startsWith('cannot read'))
        problems.error('unreadable-file', origin, `Cannot read ${what}: ${parsed.refused.message.replace(/^cannot read [^:]*: /, '')}`);
      else problems.push(parsed.refused); // a limit, at its place in the file: no content in it
      return [];
    }
    const out: KubeObject[] = [];
    const foreign = parsed.documents.filter((d) => !d.kubeLike);
    if (foreign.length > 0) {
      const d = foreign[0]!;
      const more = foreign.length > 1 ? `, and so are ${foreign.length - 1} more of its documents` : '';
      problems.error(
        'not-a-kubernetes-object',
        origin,
        `${what[0]!.toUpperCase()}${what.slice(1)} is not YAML Kubernetes objects: its document at line ${d.start.line} is ${d.shape}${d.problems.length ? ' (and not valid YAML)' : ''}, not a mapping with apiVersion and kind${more}; its content is not shown`,
      );
    }
    for (const d of parsed.documents) {
      if (!d.kubeLike) continue;
      problems.push(...d.problems);
      if (d.doc) out.push(...readObjects(d.doc.value(), { doc: d.doc, path: [] }, problems, rejected));
    }
    return out;
  }
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) return readObjects(entry, origin, problems, rejected);
  problems.error('wrong-type', origin, `Expected \`${shownAs}\` to be a path to a YAML file or a Kubernetes object, got ${show(entry)}`);
  return [];
}

/** One object, or every item of a `kind: List` as `kubectl get -o yaml` prints several. */
function readObjects(value: unknown, origin: Origin, problems: Problems, rejected: string[]): KubeObject[] {
  if (value !== null && typeof value === 'object' && (value as { kind?: unknown }).kind === 'List') {
    const items = (value as { items?: unknown }).items;
    if (!Array.isArray(items)) {
      problems.error('wrong-type', originAt(origin, 'items'), `Expected \`items\` of List to be a list, got ${show(items)}`);
      return [];
    }
    return items.flatMap((item, i) => readObjects(item, originAt(origin, 'items', i), problems, rejected));
  }
  const obj = readKubeObject(value, origin, problems);
  if (obj) warnNotModelled(obj, problems);
  if (obj) return [obj];
  // Remember what was refused, so that steps naming it do not repeat the error as "no such thing".
  const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  if (typeof name === 'string') rejected.push(name);
  return [];
}

function parsedOr<T>(p: Parsed<T>, origin: Origin, path: string, value: string, problems: Problems): T | undefined {
  if (p.ok) return p.value;
  problems.error('bad-address', origin, `Expected \`${path}\` ${p.reason}, got \`${value}\``);
  return undefined;
}

const PROXY_MODES = proxyModes;

/**
 * A step, with its `expectIn` (an expectation per kube-proxy mode that replaces `expect` under that
 * mode): each read as the step's own `expect` would be, once the rest of the step is valid.
 */
async function readStep(value: unknown, index: number, origin: Origin, files: FileContext, problems: Problems, rejected: string[]): Promise<Step | undefined> {
  const step = await readStepWith(value, index, origin, files, problems, rejected, ['expect']);
  const raw = value as Record<string, unknown>;
  if (!step || raw.expectIn === undefined) return step;
  const expectIn = await readExpectIn(step, raw, origin, files, problems, rejected);
  return expectIn ? { ...step, expectIn } : undefined;
}

/** A step's `expectIn`, each mode's expectation read as its `expect`; undefined after reporting any problem. */
async function readExpectIn(
  step: Step,
  raw: Record<string, unknown>,
  origin: Origin,
  files: FileContext,
  problems: Problems,
  rejected: string[],
): Promise<Step['expectIn'] | undefined> {
  const where = `steps[${step.index}].expectIn`;
  if (raw.expectIn === null || typeof raw.expectIn !== 'object' || Array.isArray(raw.expectIn)) {
    problems.error(
      'wrong-type',
      originAt(origin, 'expectIn'),
      `Expected \`${where}\` to map kube-proxy modes to expectations, such as \`{ipvs: {reachable: true}}\`, got ${show(raw.expectIn)}`,
    );
    return undefined;
  }
  const expectIn: NonNullable<Step['expectIn']> = {};
  let ok = true;
  for (const [mode, exp] of Object.entries(raw.expectIn as Record<string, unknown>)) {
    if (!(PROXY_MODES as readonly string[]).includes(mode)) {
      problems.error(
        'unknown-value',
        originAt(origin, 'expectIn', mode),
        `Unknown kube-proxy mode \`${mode}\` in \`${where}\`: expected ${PROXY_MODES.join(', ')}${suggestion(mode, PROXY_MODES)}`,
        { key: true },
      );
      ok = false;
      continue;
    }
    if (exp === 'skip') {
      // Under this mode the step does not run (it is reported skipped): a check of another mode's state.
      // A flows step's expectations are its cases (each may have its own expectIn): the whole table can be skipped.
      if ('expect' in step || (skipOnlyKinds as readonly string[]).includes(step.kind)) (expectIn as Record<string, unknown>)[mode] = 'skip';
      else {
        problems.error('nothing-to-expect', originAt(origin, 'expectIn', mode), `A ${step.kind} step has nothing to expect, so nothing to skip; remove \`${where}.${mode}\``);
        ok = false;
      }
      continue;
    }
    const variant = await readStepWith({ ...raw, expect: exp }, step.index, origin, files, problems, rejected, ['expectIn', mode]);
    if (!variant || !('expect' in variant)) {
      ok = false;
      continue;
    }
    (expectIn as Record<string, unknown>)[mode] = variant.expect;
  }
  return ok ? expectIn : undefined;
}

/** A step's kind and name, once its keys are known good: the first phase of reading a step. */
interface StepHead {
  raw: Record<string, unknown>;
  kind: StepKindName;
  name: string;
}

/** Which kind a step is (exactly one action key), and its keys and name checked; undefined after reporting why not. */
function readStepHead(value: unknown, where: string, origin: Origin, problems: Problems): StepHead | undefined {
  // `- sleep: 1s` is a one-key mapping like the others; a bare string is a mistake.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.error('wrong-type', origin, `Expected \`${where}\` to be a mapping such as \`http: {from: ..., to: ...}\`, got ${show(value)}`);
    return undefined;
  }
  const raw = value as Record<string, unknown>;
  const keys = Object.keys(raw);
  const kinds = keys.filter((k): k is StepKindName => (stepKindNames as readonly string[]).includes(k));
  const allowed = [...stepKindNames, 'name', 'expect', 'expectIn', 'trace'];
  let bad = false;
  for (const k of keys) {
    if (!allowed.includes(k)) {
      problems.error('unknown-key', originAt(origin, k), `Unknown key \`${k}\` in \`${where}\`${suggestion(k, allowed)}`, { key: true });
      bad = true;
    }
  }
  if (kinds.length === 0) {
    if (!bad) problems.error('missing-action', origin, `\`${where}\` has no action: expected one of ${stepKindNames.join(', ')}`);
    return undefined;
  }
  if (kinds.length > 1) {
    problems.error('conflicting-fields', originAt(origin, kinds[1]!), `\`${where}\` has more than one action (${kinds.join(', ')}); write one step each`, { key: true });
    return undefined;
  }
  if (raw.name !== undefined && typeof raw.name !== 'string') {
    problems.error('wrong-type', originAt(origin, 'name'), `Expected \`${where}.name\` to be a string, got ${show(raw.name)}`);
    bad = true;
  }
  if (raw.trace !== undefined && typeof raw.trace !== 'boolean') {
    problems.error('wrong-type', originAt(origin, 'trace'), `Expected \`${where}.trace\` to be true or false, got ${show(raw.trace)}`);
    bad = true;
  } else if (raw.trace === true && !(tracedKinds as readonly string[]).includes(kinds[0]!)) {
    problems.error('not-traceable', originAt(origin, 'trace'), `A step of kind ${kinds[0]} sends no probe to trace: \`trace\` is for ${tracedKinds.join(', ')} steps`, {
      key: true,
    });
    bad = true;
  }
  // A bad key or name was reported: the caller sees the error count and goes no further than the schemas.
  return { raw, kind: kinds[0]!, name: typeof raw.name === 'string' ? raw.name : '' };
}

/** A kind that sends no probe cannot expect what the kernel did to one: its kernel keys reported and taken out (not reported again as unknown). */
function notTraced(e: unknown, kind: StepKindName, index: number, origin: Origin, problems: Problems, expectPath: ['expect'] | ['expectIn', string]): unknown {
  if ((tracedKinds as readonly string[]).includes(kind) || e === null || typeof e !== 'object' || Array.isArray(e)) return e;
  const rest: Record<string, unknown> = { ...(e as Record<string, unknown>) };
  for (const k of kernelExpectKeys) {
    if (!(k in rest)) continue;
    problems.error(
      'untraced-kernel-expect',
      originAt(origin, ...expectPath, k),
      `\`steps[${index}].${expectPath.join('.')}.${k}\` is judged from a trace of the probe, and a step of kind ${kind} sends none: only ${tracedKinds.join(', ')} steps can expect it`,
      { key: true },
    );
    delete rest[k];
  }
  return rest;
}

/** The body and the expectation checked against the kind's schemas (both reported, whatever the first gave). */
function readStepSchemas(
  head: StepHead,
  index: number,
  origin: Origin,
  problems: Problems,
  expectPath: ['expect'] | ['expectIn', string],
): { body: unknown; expect: unknown } | undefined {
  const { raw, kind } = head;
  const def: StepKindDef<StepKindName, unknown> = stepKinds[kind];
  // A body may be null where its schema says so (`- resync:` with nothing after it).
  const body = checkPart(def.body, raw[kind], originAt(origin, kind), ['steps', index, kind], problems);
  let expect: unknown;
  if (raw.expect !== undefined) {
    if (!def.expect) {
      problems.error('nothing-to-expect', originAt(origin, ...expectPath), `A ${kind} step has nothing to expect; remove \`steps[${index}].${expectPath.join('.')}\``, {
        key: true,
      });
    } else {
      expect = checkPart(def.expect, notTraced(raw.expect, kind, index, origin, problems, expectPath), originAt(origin, ...expectPath), ['steps', index, ...expectPath], problems);
    }
  }
  return body === undefined ? undefined : { body, expect };
}

/**
 * One step read with the expectation at expectPath (`expect`, or an `expectIn` one put in its
 * place): its kind and keys, its schemas, then the kind's own reading (src/steps/kinds/).
 */
async function readStepWith(
  value: unknown,
  index: number,
  origin: Origin,
  files: FileContext,
  problems: Problems,
  rejected: string[],
  expectPath: ['expect'] | ['expectIn', string],
): Promise<Step | undefined> {
  const where = `steps[${index}]`;
  const before = problems.errorCount;
  const head = readStepHead(value, where, origin, problems);
  if (!head) return undefined;
  const parts = readStepSchemas(head, index, origin, problems, expectPath);
  if (!parts || problems.errorCount > before) return undefined;
  const { kind } = head;
  const bodyOrigin = originAt(origin, kind);
  const exWhere = `${where}.${expectPath.join('.')}`;
  const ctx: ReadContext<unknown, unknown> = {
    index,
    where,
    exWhere,
    body: parts.body,
    expect: parts.expect,
    problems,
    bodyOrigin,
    field: (k) => originAt(bodyOrigin, k),
    expectAt: (...k) => originAt(origin, ...expectPath, ...k),
    parsed: (p, at, path, v) => parsedOr(p, at, path, v, problems),
    readManifest: (entry, at, shownAs) => readManifestEntry(entry, at, shownAs, files, problems, rejected),
    failedSinceStart: () => problems.errorCount > before,
  };
  const def: StepKindDef<StepKindName, unknown> = stepKinds[kind];
  const spec = await def.read(ctx);
  if (spec === undefined) return undefined;
  return { ...(spec as object), index, origin, name: head.name, kind, ...(head.raw.trace === true ? { trace: true } : {}) } as Step;
}

export type { SourceDoc };
