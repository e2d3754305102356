import type { LoadedScenario } from '../scenario/load.js';
import { describe, type KubeObject } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import { locate, originAt } from '../scenario/source.js';
import { formatLocation } from '../errors.js';
import { resolveConfig } from './config.js';
import { checkEndpointOwners } from './endpoints.js';
import { resolveMachines } from './machines.js';
import { reconcile } from './reconcile.js';
import { systemObjects } from './system.js';
import { objectKey, type Model } from './types.js';
import { kubeProxyFeatures, type KubernetesVersion } from '../dataplane/versions.js';
import type { ProxyMode } from '../proxy/modes.js';

/** Objects applied together must not repeat, nor take a name the cluster keeps for itself. */
export function checkNewObjects(objects: readonly KubeObject[], system: readonly KubeObject[], problems: Problems): KubeObject[] {
  const seen = new Map<string, KubeObject>();
  const systemKeys = new Set(system.map(objectKey));
  const out: KubeObject[] = [];
  for (const o of objects) {
    const key = objectKey(o);
    const first = seen.get(key);
    if (first) {
      problems.error(
        'duplicate-name',
        originAt(o.origin, 'metadata', 'name'),
        `${describe(o)} is defined twice (first at ${formatLocation(locate(originAt(first.origin, 'metadata', 'name')))})`,
      );
      continue;
    }
    if (systemKeys.has(key)) {
      problems.error('reserved-name', originAt(o.origin, 'metadata', 'name'), `${describe(o)} is the cluster's own DNS; set \`cluster.dns: false\` to bring your own`);
      continue;
    }
    seen.set(key, o);
    out.push(o);
  }
  return out;
}

/** Before 1.31 spec.trafficDistribution is unknown (alpha, its gate off, in 1.30): the API server drops it, and no hints are made. */
function warnTrafficDistributionAbsent(objects: readonly KubeObject[], version: KubernetesVersion, problems: Problems): void {
  const stage = kubeProxyFeatures(version).trafficDistribution;
  if (stage === 'beta' || stage === 'ga') return;
  for (const o of objects) {
    if (o.kind !== 'Service' || !o.spec.trafficDistribution) continue;
    problems.warn(
      'ignored-field',
      originAt(o.origin, 'spec', 'trafficDistribution'),
      `\`spec.trafficDistribution\` of ${describe(o)} is ignored by Kubernetes ${version}: the field is ${stage === 'alpha' ? 'alpha (feature gate ServiceTrafficDistribution, off)' : 'not in the API'} before 1.31, so no topology hints are made`,
    );
  }
}

/** What the command line puts in place of the scenario's own settings. */
export interface ConfigOverrides {
  proxyMode?: ProxyMode;
  kubernetesVersion?: KubernetesVersion;
}

/** The cluster as it stands once every manifest is applied, before the first step (`overrides`: `run --proxy-mode`, `--kubernetes-version`). */
export function buildModel(s: LoadedScenario, problems: Problems, overrides: ConfigOverrides = {}): Model {
  const own = resolveConfig(s, problems);
  // Before anything is derived from them: the EndpointSlice controller's hints depend on the release, for one.
  const config = {
    ...own,
    ...(overrides.proxyMode ? { proxyMode: overrides.proxyMode } : {}),
    ...(overrides.kubernetesVersion ? { kubernetesVersion: overrides.kubernetesVersion } : {}),
  };
  const machines = resolveMachines(s, config, problems);
  const system = systemObjects(config, originAt(s.clusterOrigin, 'dns'), problems);
  const objects = checkNewObjects(s.objects, system, problems);
  const empty: Model = {
    scenario: { name: s.name, description: s.description, file: s.file },
    config,
    nodes: machines.nodes,
    hosts: machines.hosts,
    objects: [...objects, ...system],
    pods: [],
    services: [],
    endpointSlices: [],
    ipamLast: {},
    nextPodIndex: {},
  };
  const model = reconcile(empty, problems);
  checkEndpointOwners(objects, model.services, problems);
  warnTrafficDistributionAbsent(objects, config.kubernetesVersion, problems);
  // A pod's network namespace is named NAME.NAMESPACE, a machine's by its name: they must differ.
  for (const m of [...model.nodes, ...model.hosts]) {
    const pod = model.pods.find((p) => `${p.name}.${p.namespace}` === m.name);
    if (pod)
      problems.error(
        'duplicate-name',
        originAt(m.origin, 'name'),
        `The name \`${m.name}\` is also the namespace name of pod ${pod.namespace}/${pod.name} (NAME.NAMESPACE); rename the machine`,
      );
  }
  return model;
}
