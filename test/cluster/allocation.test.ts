import fc from 'fast-check';
import t from 'tap';
import type { Model } from '../../src/cluster/types.js';
import { planJson } from '../../src/report/plan-json.js';
import { broadcastOf, cidrContains, cidrOf, ipToInt } from '../../src/util/ip.js';
import { validateScenario } from '../../src/validate.js';
import { modelOf, writeScenario } from '../helpers.js';

// Property checks: whatever the scenario, allocation is deterministic and never hands out an
// address or port twice.

interface Spec {
  nodes: number;
  services: { name: string; type: 'ClusterIP' | 'NodePort' | 'LoadBalancer'; ports: number; fixedNodePort?: number; local: boolean }[];
  deployments: { name: string; replicas: number }[];
  hosts: number;
}

const name = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
const specArb: fc.Arbitrary<Spec> = fc.record({
  nodes: fc.integer({ min: 1, max: 5 }),
  hosts: fc.integer({ min: 0, max: 3 }),
  services: fc.uniqueArray(
    fc.record({
      name,
      type: fc.constantFrom('ClusterIP' as const, 'NodePort' as const, 'LoadBalancer' as const),
      ports: fc.integer({ min: 1, max: 3 }),
      fixedNodePort: fc.option(fc.integer({ min: 30000, max: 30010 }), { nil: undefined }),
      local: fc.boolean(),
    }),
    { selector: (s) => s.name, maxLength: 8 },
  ),
  deployments: fc.uniqueArray(fc.record({ name, replicas: fc.integer({ min: 0, max: 6 }) }), { selector: (d) => d.name, maxLength: 5 }),
});

function render(spec: Spec): string {
  const nodes = Array.from({ length: spec.nodes }, (_, i) => `  - name: n${i}`).join('\n');
  const hosts = Array.from({ length: spec.hosts }, (_, i) => `  - name: h${i}`).join('\n');
  const used = new Set<number>();
  const services = spec.services.map((s) => {
    const ports = Array.from({ length: s.ports }, (_, i) => {
      let np = '';
      // A fixed nodePort only once in the whole file, on the first port, so the file stays valid.
      if (i === 0 && s.type !== 'ClusterIP' && s.fixedNodePort !== undefined && !used.has(s.fixedNodePort)) {
        used.add(s.fixedNodePort);
        np = `, nodePort: ${s.fixedNodePort}`;
      }
      return `{name: p${i}, port: ${80 + i}${np}}`;
    });
    const policy = s.type !== 'ClusterIP' && s.local ? ', externalTrafficPolicy: Local' : '';
    return `  - {apiVersion: v1, kind: Service, metadata: {name: svc-${s.name}}, spec: {type: ${s.type}${policy}, selector: {app: ${s.name}}, ports: [${ports.join(', ')}]}}`;
  });
  const deployments = spec.deployments.map(
    (d) =>
      `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: dep-${d.name}}, spec: {replicas: ${d.replicas}, selector: {matchLabels: {app: ${d.name}}}, template: {metadata: {labels: {app: ${d.name}}}, spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}}}}`,
  );
  return `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: prop}
nodes:
${nodes}
${spec.hosts ? `hosts:\n${hosts}\n` : ''}manifests:
${[...deployments, ...services].join('\n') || '  []'}
`.replace('manifests:\n  []', 'manifests: []');
}

function duplicates<T>(values: T[]): T[] {
  const seen = new Set<T>();
  return values.filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
}

/** Every broken promise of the allocators, as sentences; empty when all hold. */
function invariantFailures(m: Model): string[] {
  const out: string[] = [];
  const check = (ok: unknown, what: string) => {
    if (!ok) out.push(what);
  };
  const noDups = <T>(values: T[], what: string) => check(duplicates(values).length === 0, `${what} repeat: ${duplicates(values).join(', ')}`);
  const c = m.config;
  const svcCidr = c.serviceCIDR;
  const clusterIPs = m.services.flatMap((s) => (s.clusterIP ? [s.clusterIP] : []));
  noDups(clusterIPs, 'ClusterIPs');
  for (const ip of clusterIPs) {
    const n = ipToInt(ip);
    check(cidrContains(svcCidr, ip) && n !== svcCidr.base && n !== broadcastOf(svcCidr) && n !== svcCidr.base + 1, `${ip} is not a usable service address`);
  }
  const nodePorts = m.services.flatMap((s) => [...new Set(s.ports.flatMap((p) => (p.nodePort !== undefined ? [p.nodePort] : [])))].concat(s.healthCheckNodePort ?? []));
  noDups(nodePorts, 'nodePorts (across Services)');
  for (const p of nodePorts) check(p >= c.nodePortRange.min && p <= c.nodePortRange.max, `nodePort ${p} is out of range`);
  for (const s of m.services) {
    const wantsPorts = s.spec.type !== 'ClusterIP';
    check(
      s.ports.every((p) => (p.nodePort !== undefined) === wantsPorts),
      `${s.name}: nodePorts not exactly for NodePort and LoadBalancer`,
    );
    check((s.healthCheckNodePort !== undefined) === (s.spec.type === 'LoadBalancer' && s.spec.externalTrafficPolicy === 'Local'), `${s.name}: health check port wrong`);
  }
  const lbIPs = m.services.flatMap((s) => s.loadBalancerIPs);
  const machineIPs = [c.gateway, ...m.nodes.map((n) => n.ip), ...m.hosts.map((h) => h.ip)];
  noDups([...machineIPs, ...lbIPs], 'LAN addresses (gateway, nodes, hosts, load balancers)');
  for (const ip of machineIPs) check(cidrContains(c.lanCIDR, ip), `${ip} is not on the LAN`);
  noDups(
    m.pods.filter((p) => !p.hostNetwork && p.ip).map((p) => p.ip!),
    'pod addresses',
  );
  for (const p of m.pods) {
    const node = m.nodes.find((n) => n.name === p.node);
    check(node && p.ip && cidrContains(cidrOf(node.podCIDR), p.ip) && !Object.values(node.addresses).includes(p.ip), `${p.name} has no address of its node's subnet`);
  }
  noDups(
    m.nodes.map((n) => n.podCIDR),
    'node pod subnets',
  );
  return out;
}

t.test('allocation is deterministic and collision-free (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(specArb, async (spec) => {
      const text = render(spec);
      const file = writeScenario(text);
      const a = (await validateScenario(file)).model!;
      const b = (await validateScenario(file)).model!;
      if (!a) throw new Error(`invalid:\n${text}`);
      const same = JSON.stringify(planJson(a)) === JSON.stringify(planJson(b));
      if (!same) throw new Error(`two builds of the same file differ:\n${text}`);
      const failures = invariantFailures(a);
      if (failures.length) throw new Error(`${failures.join('\n')}\n${text}`);
    }),
    { numRuns: 60, seed: 20261122 },
  );
  t.pass('60 random scenarios checked');
});

t.test('invariants hold on a dense example', async (t) => {
  const spec: Spec = {
    nodes: 3,
    hosts: 2,
    services: ['a', 'b', 'c', 'd'].map((n, i) => ({ name: n, type: (['ClusterIP', 'NodePort', 'LoadBalancer', 'LoadBalancer'] as const)[i]!, ports: 2, local: i === 3 })),
    deployments: [
      { name: 'a', replicas: 4 },
      { name: 'b', replicas: 3 },
    ],
  };
  t.same(invariantFailures(await modelOf(render(spec))), []);
});

t.test('an unrelated new Service leaves existing addresses alone', async (t) => {
  const base = render({ nodes: 2, hosts: 0, services: [{ name: 'web', type: 'NodePort', ports: 1, local: false }], deployments: [{ name: 'web', replicas: 2 }] });
  const more = `${base}  - {apiVersion: v1, kind: Service, metadata: {name: other}, spec: {type: NodePort, ports: [{port: 80}]}}\n`;
  const a = await modelOf(base);
  const b = await modelOf(more);
  const web = (m: Model) => m.services.find((s) => s.name === 'svc-web')!;
  t.equal(web(b).clusterIP, web(a).clusterIP);
  t.equal(web(b).ports[0]!.nodePort, web(a).ports[0]!.nodePort);
});
