import t from 'tap';
import { head, modelOf } from '../helpers.js';

const deployment = (name: string, replicas: number, extra = '') =>
  `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {${extra}containers: [{name: c, ports: [{containerPort: 80}]}]}}}}\n`;

const podsOf = (m: Awaited<ReturnType<typeof modelOf>>) => m.pods.filter((p) => p.namespace === 'default').map((p) => `${p.name} ${p.node ?? '-'} ${p.ip ?? '-'} ${p.phase}`);

t.test('a Deployment spreads round-robin over nodes in file order; pod i on a node gets .(i+2)', async (t) => {
  const m = await modelOf(`${head(2)}manifests:\n${deployment('web', 3)}${deployment('api', 2)}`);
  t.same(podsOf(m), [
    'web-0 node-1 10.244.0.2 Running',
    'web-1 node-2 10.244.1.2 Running',
    'web-2 node-1 10.244.0.3 Running',
    'api-0 node-1 10.244.0.4 Running',
    'api-1 node-2 10.244.1.3 Running',
  ]);
  t.same(
    m.nodes.map((n) => [n.name, n.ip, n.podCIDR, n.addresses.cni0, n.addresses['flannel.1']]),
    [
      ['node-1', '192.168.8.11', '10.244.0.0/24', '10.244.0.1', '10.244.0.0'],
      ['node-2', '192.168.8.12', '10.244.1.0/24', '10.244.1.1', '10.244.1.0'],
    ],
  );
});

t.test('nodeSelector and nodeName pin pods; an impossible one leaves them Pending with a warning', async (t) => {
  const text = `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: t}
nodes:
  - name: node-1
  - name: node-2
    labels: {apps/nginx: "true"}
manifests:
${deployment('web', 2, 'nodeSelector: {apps/nginx: "true"}, ')}${deployment('db', 1, 'nodeName: node-1, ')}${deployment('nope', 1, 'nodeSelector: {disk: ssd}, ')}`;
  const m = await modelOf(text);
  t.same(podsOf(m), ['web-0 node-2 10.244.1.2 Running', 'web-1 node-2 10.244.1.3 Running', 'db-0 node-1 10.244.0.2 Running', 'nope-0 - - Pending']);
  t.equal(m.pods.find((p) => p.name === 'nope-0')?.pendingReason, 'no node matches its nodeSelector');
});

t.test('DaemonSet pods are named after their node; hostNetwork pods use the node address', async (t) => {
  const m = await modelOf(
    `${head(3)}manifests:\n  - {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent}, spec: {selector: {matchLabels: {app: agent}}, template: {metadata: {labels: {app: agent}}, spec: {hostNetwork: true, containers: [{name: c}]}}}}\n${deployment('web', 1)}`,
  );
  t.same(podsOf(m), [
    'agent-node-1 node-1 192.168.8.11 Running',
    'agent-node-2 node-2 192.168.8.12 Running',
    'agent-node-3 node-3 192.168.8.13 Running',
    'web-0 node-1 10.244.0.2 Running',
  ]);
});

t.test('cluster DNS: kube-dns at the 10th service address, two CoreDNS pods after the user pods; none with dns: false', async (t) => {
  const m = await modelOf(`${head(2)}manifests:\n${deployment('web', 1)}`);
  const dns = m.services.find((s) => s.name === 'kube-dns')!;
  t.equal(dns.clusterIP, '10.96.0.10');
  t.same(
    dns.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`),
    ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP'],
  );
  t.same(
    m.pods.filter((p) => p.namespace === 'kube-system').map((p) => `${p.name} ${p.ip} ${p.workload}`),
    ['coredns-0 10.244.0.3 dns', 'coredns-1 10.244.1.2 dns'],
  );
  const off = await modelOf(`${head(1, '  dns: false')}manifests:\n${deployment('web', 1)}`);
  t.same(
    off.services.map((s) => s.name),
    [],
  );
  t.same(
    off.pods.map((p) => p.name),
    ['web-0'],
  );
});

t.test('a pod CIDR override moves later nodes to the next free subnet', async (t) => {
  const m = await modelOf(`apiVersion: knetlab/v1
kind: Scenario
metadata: {name: t}
nodes:
  - name: a
  - name: b
    podCIDR: 10.244.0.0/24
  - name: c
`);
  t.same(
    m.nodes.map((n) => n.podCIDR),
    ['10.244.1.0/24', '10.244.0.0/24', '10.244.2.0/24'],
  );
});

t.test('hosts are allocated from .200 down, nodes from .11 up, around given addresses', async (t) => {
  const m = await modelOf(`apiVersion: knetlab/v1
kind: Scenario
metadata: {name: t}
nodes:
  - name: a
    ip: 192.168.8.12
  - name: b
hosts:
  - name: x
  - name: y
    ip: 192.168.8.199
  - name: z
`);
  t.same(
    m.nodes.map((n) => n.ip),
    ['192.168.8.12', '192.168.8.11'],
  );
  t.same(
    m.hosts.map((h) => h.ip),
    ['192.168.8.200', '192.168.8.199', '192.168.8.198'],
  );
});

t.test("hostPort: the scheduler's NodePorts filter leaves a pod Pending where its host port is taken on every node", async (t) => {
  const hp = (name: string, replicas: number, port: string) =>
    `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {containers: [{name: c, ports: [${port}]}]}}}}\n`;
  const m = await modelOf(
    `${head(2)}manifests:\n${hp('web', 3, '{containerPort: 80, hostPort: 8080}')}${hp('dns', 2, '{containerPort: 53, hostPort: 8080, protocol: UDP}')}${hp('bound', 1, '{containerPort: 80, hostPort: 9000, hostIP: 192.168.8.11}')}${hp('any', 1, '{containerPort: 80, hostPort: 9000}')}`,
  );
  t.same(podsOf(m), [
    'web-0 node-1 10.244.0.2 Running',
    'web-1 node-2 10.244.1.2 Running',
    'web-2 - - Pending',
    'dns-0 node-1 10.244.0.3 Running',
    'dns-1 node-2 10.244.1.3 Running',
    'bound-0 node-1 10.244.0.4 Running',
    'any-0 node-2 10.244.1.4 Running',
  ]);
  t.equal(m.pods.find((p) => p.name === 'web-2')?.pendingReason, "2 node(s) didn't have free ports for the requested pod ports (hostPort 8080/TCP)");
});
