// Which kernel features a scenario needs, how a missing one is reported, and that a probe that
// does not finish is an error rather than a missing feature (no cache: the tests' answers are made up).
import t from 'tap';
import { missingReason, neededFeatures, probeCapabilities } from '../../src/kernel/capabilities.js';
import { RecordingRunner } from '../../src/kernel/exec.js';
import { modelOf } from '../helpers.js';

const scenario = (cluster: string, service = 'type: ClusterIP') => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: caps}
cluster: {${cluster}}
nodes: [{name: node-1}]
manifests:
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {${service}, selector: {app: web}, ports: [{port: 80}]}}
`;

t.test('IPVS mode needs ip_vs, its scheduler, dummy and ipset; xt_ipvs only for LB source ranges', async (t) => {
  const ipvs = neededFeatures(await modelOf(scenario('proxyMode: ipvs, dns: false')));
  for (const f of ['ip_vs', 'ip_vs_rr', 'dummy', 'ipset'] as const) t.ok(ipvs.includes(f), f);
  t.notOk(ipvs.includes('statistic'), 'no iptables endpoint choice');
  t.notOk(ipvs.includes('xt_ipvs'));
  t.ok(neededFeatures(await modelOf(scenario('proxyMode: ipvs, dns: false, ipvs: {scheduler: sh}'))).includes('ip_vs_sh'), 'the configured scheduler');
  const ranges = neededFeatures(await modelOf(scenario('proxyMode: ipvs, dns: false', 'type: LoadBalancer, loadBalancerSourceRanges: [203.0.113.0/24]')));
  t.ok(ranges.includes('xt_ipvs'));
  const iptables = neededFeatures(await modelOf(scenario('dns: false')));
  t.notOk(iptables.includes('ip_vs'), 'iptables mode does not need ip_vs');
  t.ok(iptables.includes('statistic'));
});

t.test('a missing feature is named with its module, the error and where to get it', async (t) => {
  const runner = new RecordingRunner((argv) => (argv.includes('ipvsadm') ? { exitCode: 2, stderr: "Can't initialize ipvs: Protocol not available\nmore" } : {}));
  const features = ['veth', 'ip_vs', 'ip_vs_sh'] as const;
  const caps = await probeCapabilities(runner, features);
  t.ok(caps.has('veth'));
  t.notOk(caps.has('ip_vs'));
  const reason = missingReason(caps, features)!;
  t.match(reason, "ip_vs (module ip_vs: Can't initialize ipvs: Protocol not available)");
  t.match(reason, 'ip_vs_sh (module ip_vs_sh:');
  t.match(reason, 'scripts/vm run');
  t.notMatch(reason, 'veth');
  t.ok(
    runner.calls.some((c) => c.argv.includes('-s') && c.argv.includes('sh')),
    'the scheduler probe asks for sh',
  );
  t.equal(missingReason(await probeCapabilities(new RecordingRunner(), features), features), null, 'nothing missing');
});

t.test('a probe that times out is an error, not a missing feature', async (t) => {
  const runner = new RecordingRunner((argv) => (argv.includes('iptables-restore') ? { exitCode: 124, timedOut: true } : {}));
  await t.rejects(probeCapabilities(runner, ['nat']), /the probe for nat .* did not finish in 60 s/);
});
