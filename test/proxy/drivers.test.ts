// The registry of kube-proxy modes: one driver per mode of the one list, an unknown mode an error,
// and each driver's applier issuing its mode's commands (recorded, no kernel needed).
import t from 'tap';
import { because, networks, networksFor } from '../../src/cluster/source-ip.js';
import { renderKubeProxyIptables } from '../../src/dataplane/iptables.js';
import { renderIpvs } from '../../src/dataplane/ipvs.js';
import { machineNetns } from '../../src/dataplane/names.js';
import { renderKubeProxyNftables } from '../../src/dataplane/nftables.js';
import { KnetlabError } from '../../src/errors.js';
import { RecordingRunner } from '../../src/kernel/exec.js';
import { KubeProxy } from '../../src/kernel/kube-proxy.js';
import { proxyDriver, proxyDrivers } from '../../src/proxy/drivers.js';
import { proxyModes } from '../../src/proxy/modes.js';
import { head, modelOf } from '../helpers.js';

const scenario = (mode: string) =>
  head(2, `  proxyMode: ${mode}\n  dns: false`) +
  `manifests:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, ports: [{containerPort: 80}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}}
`;

t.test('one driver per mode of proxyModes, each named for its mode', async (t) => {
  t.same(Object.keys(proxyDrivers).sort(), [...proxyModes].sort());
  for (const mode of proxyModes) t.equal(proxyDriver(mode).mode, mode);
});

t.test('an unknown mode is an error naming the modes, never iptables', async (t) => {
  t.throws(() => proxyDriver('userspace'), new KnetlabError('EINVALID', 'Unknown kube-proxy mode `userspace`: expected iptables, nftables, ipvs'));
  t.throws(() => proxyDriver('toString'), KnetlabError, 'not a property of any object');
  const model = await modelOf(scenario('iptables'));
  const runner = new RecordingRunner();
  const bad = { ...model, config: { ...model.config, proxyMode: 'userspace' as never } };
  await t.rejects(new KubeProxy(runner, { clearStaleConntrack: true }).sync(undefined, bad), { code: 'EINVALID' });
  t.same(runner.calls, [], 'nothing applied');
});

t.test("render is the mode's renderer", async (t) => {
  t.equal(proxyDrivers.iptables.render(await modelOf(scenario('iptables')), 'node-1'), renderKubeProxyIptables(await modelOf(scenario('iptables')), 'node-1'));
  t.equal(proxyDrivers.nftables.render(await modelOf(scenario('nftables')), 'node-1'), renderKubeProxyNftables(await modelOf(scenario('nftables')), 'node-1'));
  t.same(proxyDrivers.ipvs.render(await modelOf(scenario('ipvs')), 'node-1'), renderIpvs(await modelOf(scenario('ipvs')), 'node-1'));
});

t.test('features: each mode names its own', async (t) => {
  t.same(proxyDrivers.nftables.features(await modelOf(scenario('nftables'))), ['nft']);
  t.same(proxyDrivers.iptables.features(await modelOf(scenario('iptables'))), ['statistic']);
  t.same(proxyDrivers.ipvs.features(await modelOf(scenario('ipvs'))), ['ip_vs', 'ip_vs_rr', 'dummy', 'ipset']);
});

t.test("the source-IP model's mode-only rules are each one mode's, and the model's rules", async (t) => {
  const claimed = proxyModes.flatMap((m) => Object.entries(proxyDrivers[m].sourceIp.because));
  t.equal(new Set(claimed.map(([name]) => name)).size, claimed.length, 'no rule claimed twice');
  for (const [name, words] of claimed) t.equal(because[name], words, `${name} is a rule of the model, in the same words`);
  t.same(proxyDrivers.iptables.sourceIp, { because: {} }, "iptables mode's answers are the shared ones");
  for (const m of proxyModes) {
    const modelled = proxyDrivers[m].sourceIp.networks ?? networks;
    t.ok(
      modelled.every((n) => networks.includes(n)),
      `${m}: its modelled networks are the truth table's`,
    );
    t.same(networksFor(m), [...modelled], `${m}: networksFor derives from the driver`);
  }
});

t.test('appliers: the commands each mode runs per node, first sync, unchanged sync and resync', async (t) => {
  const ipt = await modelOf(scenario('iptables'));
  let runner = new RecordingRunner();
  let kp = new KubeProxy(runner, { clearStaleConntrack: true });
  await kp.sync(undefined, ipt);
  const restores = runner.calls.filter((c) => c.argv.includes('iptables-restore'));
  t.same(
    restores.map((c) => c.argv.slice(0, 4)),
    ipt.nodes.map((n) => ['ip', 'netns', 'exec', machineNetns(n.name)]),
    'one restore per node, in its namespace',
  );
  t.equal(runner.calls.filter((c) => c.argv.includes('sysctl')).length, 2, 'route_localnet once per node');
  t.match(runner.calls.find((c) => c.argv.includes('iptables-restore'))!.input, /^-I PREROUTING 1 /m, 'the first sync inserts the jumps');
  runner.calls.length = 0;
  await kp.sync(ipt, ipt);
  t.same(runner.calls, [], 'nothing changed: nothing restored');
  await kp.resync(ipt);
  t.equal(runner.calls.filter((c) => c.argv.includes('iptables-restore')).length, 2, 'a resync restores every node');
  t.notMatch(runner.calls[0]!.input, /^-I /m, 'without the jumps again');

  const nft = await modelOf(scenario('nftables'));
  runner = new RecordingRunner();
  kp = new KubeProxy(runner, { clearStaleConntrack: true });
  await kp.sync(undefined, nft);
  t.same(
    runner.calls.map((c) => c.argv.slice(4)),
    [
      ['nft', '-f', '-'],
      ['nft', '-f', '-'],
    ],
  );
  t.match(runner.calls[0]!.input, /^add table ip kube-proxy\ndelete table ip kube-proxy\n/);
  runner.calls.length = 0;
  await kp.sync(nft, nft);
  t.same(runner.calls, [], 'nothing changed: no transaction');
  await kp.resync(nft);
  t.equal(runner.calls.length, 2, 'a resync runs one transaction a node');
  t.notMatch(runner.calls[0]!.input, /^delete table/m, 'flush and refill, not a new table');
});
