// The source-IP model, cell by cell where DESIGN.md or upstream states the answer, and by properties
// over the whole matrix, and every answer of every mode against a golden file (test/golden/source-ip/
// model.txt; `UPDATE_GOLDEN=1` rewrites it). No kernel here: test/truth-table.test.ts checks every cell on the kernel.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import t from 'tap';
import { allCells, because, expectedSource, networks, type Cell, type ClientLocation, type Expected, type WayIn } from '../../src/cluster/source-ip.js';
import { cnis, networks as cniNetworks } from '../../src/cni/index.js';
import { proxyDrivers } from '../../src/proxy/drivers.js';
import { proxyModes } from '../../src/proxy/modes.js';

const cell = (from: ClientLocation, via: WayIn, policy: Cell['policy'] = 'Cluster', network: Cell['network'] = 'flannel-vxlan'): Cell => ({ from, via, policy, network });
/** The result without its reasons, to compare outcomes. */
function bare(e: Expected): unknown {
  if (e.outcome === 'answered') return e.node ? { source: e.source, node: e.node } : { source: e.source };
  if (e.outcome === 'either') return { either: e.of.map(bare) };
  return e.outcome;
}
const seen = (...args: Parameters<typeof cell>) => bare(expectedSource(cell(...args)));

t.test('the matrix: 5 client locations x 6 ways in x 2 policies x 5 networks, every cell with its reasons', async (t) => {
  const cells = allCells();
  t.equal(cells.length, 300);
  t.equal(new Set(cells.map((c) => JSON.stringify(c))).size, 300, 'no cell twice');
  t.equal(allCells('ipvs').length, 120, 'IPVS mode: flannel only (Calico is not modelled there)');
  const rules = new Set<string>(Object.values(because));
  for (const c of cells) {
    const e = expectedSource(c);
    if (!e.because.length || !e.because.every((b) => rules.has(b))) t.fail(`${JSON.stringify(c)}: reasons ${JSON.stringify(e.because)}`);
  }
  const used = new Set(cells.flatMap((c) => proxyModes.flatMap((m) => expectedSource(c, m).because)));
  t.same(
    [...rules].filter((r) => !used.has(r)),
    [],
    'every rule is used by some cell',
  );
});

t.test("DESIGN.md's flannel-vxlan facts", async (t) => {
  t.same(seen('outside-host', 'nodeport-endpoint-node'), { source: 'node-cni0', node: 'endpoint' }, "NodePort (Cluster) through the pod's own node: that node's cni0");
  t.same(seen('outside-host', 'nodeport-other-node'), { source: 'node-flannel', node: 'other' }, "through another node: that node's flannel.1");
  t.same(seen('pod-on-other-node', 'cluster-ip'), { source: 'client' }, 'pod to ClusterIP: the pod IP');
  t.same(seen('endpoint-node', 'cluster-ip'), { source: 'node-cni0', node: 'endpoint' }, "node to ClusterIP, endpoint on it: the node's cni0");
  t.same(seen('other-node', 'cluster-ip'), { source: 'node-flannel', node: 'other' }, "node to ClusterIP, endpoint elsewhere: the node's flannel.1");
});

t.test('host-gw: another node masquerades to its LAN address, never a flannel.1', async (t) => {
  t.same(seen('outside-host', 'nodeport-other-node', 'Cluster', 'host-gw'), { source: 'node-ip', node: 'other' });
  t.same(seen('other-node', 'cluster-ip', 'Cluster', 'host-gw'), { source: 'node-ip', node: 'other' });
  t.same(seen('outside-host', 'nodeport-endpoint-node', 'Cluster', 'host-gw'), { source: 'node-cni0', node: 'endpoint' }, 'on the endpoint node it is still cni0');
  const flannel = allCells().filter((c) => c.network === 'host-gw' && JSON.stringify(bare(expectedSource(c))).includes('node-flannel'));
  t.same(flannel, []);
});

t.test('policy Local keeps outside clients and drops them on a node without an endpoint', async (t) => {
  t.same(seen('outside-host', 'nodeport-endpoint-node', 'Local'), { source: 'client' });
  t.same(seen('outside-host', 'nodeport-other-node', 'Local'), 'dropped');
  t.same(seen('outside-host', 'external-ip-via-endpoint-node', 'Local'), { source: 'client' });
  t.same(seen('outside-host', 'external-ip-via-other-node', 'Local'), 'dropped');
  t.same(seen('outside-host', 'load-balancer', 'Local'), { source: 'client' }, 'the load balancer only sends to node-1, which passes its health check');
  t.same(seen('other-node', 'nodeport-endpoint-node', 'Local'), { source: 'client' }, "another node's own address is outside traffic too");
  t.same(seen('endpoint-node', 'nodeport-other-node', 'Local'), 'dropped');
});

t.test("policy Local short-circuits the cluster's own traffic", async (t) => {
  t.same(seen('pod-on-other-node', 'load-balancer', 'Local'), { source: 'client' }, 'pod CIDR to KUBE-SVC, unmarked');
  t.same(seen('pod-on-other-node', 'nodeport-other-node', 'Local'), { source: 'client' }, "a pod to its own node's NodePort: pod CIDR to KUBE-SVC");
  t.same(seen('other-node', 'load-balancer', 'Local'), { source: 'node-flannel', node: 'other' }, 'LOCAL source: masqueraded, to every endpoint');
  t.same(seen('other-node', 'nodeport-other-node', 'Local'), { source: 'node-flannel', node: 'other' }, 'a node to its own NodePort is answered even without a local endpoint');
});

t.test("a pod through another node's address arrives as its node (flannel --ip-masq)", async (t) => {
  t.same(seen('pod-on-other-node', 'nodeport-endpoint-node', 'Local'), { source: 'node-ip', node: 'other' });
  t.same(seen('pod-on-endpoint-node', 'nodeport-other-node', 'Local'), 'dropped', 'and so is outside traffic to a node without an endpoint');
  t.same(seen('pod-on-endpoint-node', 'nodeport-other-node', 'Cluster'), { source: 'node-flannel', node: 'other' });
});

t.test('an outside host cannot reach a ClusterIP; the load balancer with policy Cluster may pick either node', async (t) => {
  for (const policy of ['Cluster', 'Local'] as const) t.same(seen('outside-host', 'cluster-ip', policy), 'unreachable');
  t.same(seen('outside-host', 'load-balancer', 'Cluster'), {
    either: [
      { source: 'node-cni0', node: 'endpoint' },
      { source: 'node-flannel', node: 'other' },
    ],
  });
  const either = allCells().filter((c) => expectedSource(c).outcome === 'either');
  t.same(
    either.map((c) => [c.from, c.via, c.policy]),
    Array(5).fill(['outside-host', 'load-balancer', 'Cluster']),
    'only there, on every network',
  );
});

t.test("Calico: the endpoint node's address-less cali veth gives its LAN address; another node its tunnel's (VXLAN) or LAN address (BGP)", async (t) => {
  t.same(seen('outside-host', 'nodeport-endpoint-node', 'Cluster', 'calico-vxlan'), { source: 'node-ip', node: 'endpoint' });
  t.same(seen('outside-host', 'nodeport-other-node', 'Cluster', 'calico-vxlan'), { source: 'node-tunnel', node: 'other' });
  t.same(seen('other-node', 'cluster-ip', 'Cluster', 'calico-vxlan'), { source: 'node-tunnel', node: 'other' });
  t.same(seen('endpoint-node', 'cluster-ip', 'Cluster', 'calico-vxlan'), { source: 'node-ip', node: 'endpoint' });
  t.same(seen('outside-host', 'nodeport-other-node', 'Cluster', 'calico-bgp'), { source: 'node-ip', node: 'other' });
  t.same(
    seen('pod-on-other-node', 'nodeport-endpoint-node', 'Local', 'calico-vxlan'),
    { source: 'node-ip', node: 'other' },
    "natOutgoing: a pod to another node's address arrives as its node",
  );
  t.same(seen('outside-host', 'nodeport-other-node', 'Local', 'calico-bgp'), 'dropped');
  t.notOk(
    allCells().some((c) => c.network.startsWith('calico-') && JSON.stringify(bare(expectedSource(c))).match(/node-cni0|node-flannel/)),
    'no flannel device on Calico',
  );
});

t.test('properties over the matrix', async (t) => {
  const cells = allCells();
  const at = (c: Cell, change: Partial<Cell>) => JSON.stringify(bare(expectedSource({ ...c, ...change })));
  for (const c of cells) {
    const e = expectedSource(c);
    const name = `${c.network} ${c.policy} ${c.from} -> ${c.via}`;
    if (c.via === 'cluster-ip' && at(c, { policy: 'Cluster' }) !== at(c, { policy: 'Local' })) t.fail(`${name}: externalTrafficPolicy changed a ClusterIP`);
    if (c.from !== 'outside-host' && c.via.startsWith('external-ip') && at(c, { via: 'external-ip-via-endpoint-node' }) !== at(c, { via: 'external-ip-via-other-node' }))
      t.fail(`${name}: the outside host's route changed an in-cluster client`);
    if (c.policy === 'Cluster' && (e.outcome === 'dropped' || (e.outcome === 'answered' && e.source === 'client' && !(c.from.startsWith('pod-') && c.via === 'cluster-ip')))) {
      t.fail(`${name}: policy Cluster kept the client's address or dropped (${JSON.stringify(bare(e))})`);
    }
    if (e.outcome === 'answered' && e.source === 'node-cni0' && e.node !== 'endpoint') t.fail(`${name}: cni0 of a node without the endpoint`);
    if (e.outcome === 'answered' && e.source === 'client' && c.from.endsWith('-node') && !c.from.startsWith('pod-') && c.via !== 'nodeport-endpoint-node') {
      t.fail(`${name}: a node kept its own address where kube-proxy masquerades LOCAL sources`);
    }
  }
  t.pass('checked');
});

t.test('IPVS mode: where policy Local differs from iptables mode, as the VM kernel showed', async (t) => {
  const ipvs = (...args: Parameters<typeof cell>) => bare(expectedSource(cell(...args), 'ipvs'));
  t.equal(seen('outside-host', 'nodeport-other-node', 'Local'), 'dropped', 'iptables: a node without a local endpoint drops');
  t.same(ipvs('outside-host', 'nodeport-other-node', 'Local'), { source: 'node-flannel', node: 'other' }, 'IPVS: it falls back to every endpoint, and flannel masquerades');
  t.same(ipvs('outside-host', 'external-ip-via-other-node', 'Local', 'host-gw'), { source: 'node-ip', node: 'other' }, 'over host-gw to its eth0');
  t.same(ipvs('endpoint-node', 'nodeport-endpoint-node', 'Local'), { source: 'client' }, "the node's own NodePort: unmarked, its own address");
  t.same(seen('endpoint-node', 'nodeport-endpoint-node', 'Local'), { source: 'node-cni0', node: 'endpoint' }, 'iptables masquerades the node itself');
  t.same(ipvs('endpoint-node', 'load-balancer', 'Local'), { source: 'vip' }, 'an LB IP on kube-ipvs0: the Service address is the source');
  t.same(ipvs('endpoint-node', 'external-ip-via-other-node', 'Local'), { source: 'vip' });
  t.same(ipvs('outside-host', 'nodeport-endpoint-node', 'Local'), { source: 'client' }, 'the endpoint node keeps the client, as in iptables mode');
  const differ = allCells('ipvs').filter((c) => JSON.stringify(bare(expectedSource(c))) !== JSON.stringify(bare(expectedSource(c, 'ipvs'))));
  t.equal(differ.length, 16, '16 cells differ');
  t.ok(
    differ.every((c) => c.policy === 'Local' && c.via !== 'cluster-ip'),
    'all with policy Local, none through the ClusterIP',
  );
});

t.test("nftables mode: the node's own traffic to a Local external IP or LB IP without a local endpoint is dropped", async (t) => {
  const nft = (...args: Parameters<typeof cell>) => bare(expectedSource(cell(...args), 'nftables'));
  t.equal(nft('other-node', 'load-balancer', 'Local'), 'dropped');
  t.same(seen('other-node', 'load-balancer', 'Local'), { source: 'node-flannel', node: 'other' }, 'iptables mode lets it through, masqueraded');
  t.same(nft('other-node', 'nodeport-other-node', 'Local'), { source: 'node-flannel', node: 'other' }, 'its own NodePort is checked in INPUT only');
  const differ = allCells().filter((c) => JSON.stringify(bare(expectedSource(c))) !== JSON.stringify(bare(expectedSource(c, 'nftables'))));
  t.equal(differ.length, 15, 'other-node x (2 external IPs, LB) x 5 networks');
  t.ok(differ.every((c) => c.from === 'other-node' && c.policy === 'Local'));
});

t.test("each rule is the model's, a CNI's or a mode's, and each CNI names its masquerade addresses", async (t) => {
  const cniRules = cniNetworks.flatMap((n) => Object.values(cnis[n].masquerade));
  for (const m of cniRules) {
    const same = cniRules.filter((o) => o.rule === m.rule);
    if (same.some((o) => o.because !== m.because || o.source !== m.source)) t.fail(`${m.rule}: one name, two answers`);
  }
  const modeRules = proxyModes.flatMap((m) => Object.keys(proxyDrivers[m].sourceIp.because));
  const ofNetworks = new Set(networks.flatMap((n) => Object.values(cnis[n].masquerade).map((m) => m.rule)));
  t.same(
    Object.keys(because).filter((r) => ofNetworks.has(r) || modeRules.includes(r)),
    [...ofNetworks, ...modeRules],
    "the truth table's networks' rules, then the modes', in the order the doc numbers them",
  );
  t.same(
    cnis['calico-ipip'].masquerade.otherNode,
    { source: 'node-tunnel', rule: 'masqCalicoIpip', because: cnis['calico-ipip'].masquerade.otherNode.because },
    'calico-ipip: tunl0',
  );
  t.ok(Object.hasOwn(because, 'masqCalicoIpip'), "and a rule of the table's (its column is checked in CI's VM)");
});

t.test('the model is pure: nothing it imports, however indirectly, is of src/kernel/, src/run/ or src/steps/', async (t) => {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    // Type-only imports are erased: only value imports load a module.
    for (const m of readFileSync(file, 'utf8').matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']+)\.js';/gm)) walk(join(dirname(file), `${m[1]}.ts`));
  };
  walk('src/cluster/source-ip.ts');
  t.ok(seen.has(join('src/proxy/drivers.ts')), 'it asks the drivers');
  t.same(
    [...seen].map((f) => relative('src', f)).filter((f) => /^(kernel|run|steps)\//.test(f)),
    [],
  );
});

t.test("golden: every mode's answer for every cell, its rules numbered as docs/source-ip.md numbers them", async (t) => {
  const rules = Object.values(because);
  const numbered = (e: Expected): unknown =>
    e.outcome === 'either' ? { ...e, of: e.of.map(numbered), because: e.because.map((b) => rules.indexOf(b) + 1) } : { ...e, because: e.because.map((b) => rules.indexOf(b) + 1) };
  const lines = ['# The rules, numbered', ...rules.map((r, i) => `${i + 1}. ${r}`)];
  for (const mode of proxyModes) {
    lines.push(`# ${mode}`);
    for (const c of allCells(mode)) lines.push(`${c.network} ${c.policy} ${c.from} ${c.via} ${JSON.stringify(numbered(expectedSource(c, mode)))}`);
  }
  const text = `${lines.join('\n')}\n`;
  const file = 'test/golden/source-ip/model.txt';
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    mkdirSync('test/golden/source-ip', { recursive: true });
    writeFileSync(file, text);
  }
  t.equal(text, readFileSync(file, 'utf8'), `${file} (UPDATE_GOLDEN=1 rewrites it)`);
});
