import t from 'tap';
import { applyTopology } from '../../src/kernel/apply.js';
import { RecordingRunner } from '../../src/kernel/exec.js';
import type { TopologyPlan } from '../../src/dataplane/types.js';

t.test('namespaces in one batch, then each stage; a batch per namespace, never a process per line', async (t) => {
  const plan: TopologyPlan = {
    namespaces: ['lan', 'n1', 'p1'],
    stages: [
      [{ name: 'lan', kind: 'lan', ip: ['link add br-lan type bridge', 'link set br-lan up'], bridge: [], sysctls: { 'net.ipv4.ip_forward': '1' }, iptables: '', etc: {} }],
      [{ name: 'n1', kind: 'node', ip: ['addr add 192.168.8.11/24 dev eth0'], bridge: ['fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.168.8.12 self permanent'], sysctls: {}, iptables: '*nat\nCOMMIT\n', etc: {} }],
      [{ name: 'p1', kind: 'pod', ip: ['addr add 10.244.0.2/24 dev eth0', 'link set eth0 up'], bridge: [], sysctls: {}, iptables: '', etc: {} }],
    ],
  };
  const runner = new RecordingRunner();
  await applyTopology(runner, plan, { etcNetns: false });
  const calls = runner.calls.map((c) => c.argv.join(' '));
  t.equal(calls[0], 'ip -batch -');
  t.equal(runner.calls[0]!.input, 'netns add lan\nnetns add n1\nnetns add p1\n');
  t.ok(calls.includes('ip -n lan -batch -'));
  t.ok(calls.includes('ip netns exec lan sysctl -q -w net.ipv4.ip_forward=1'));
  t.ok(calls.includes('bridge -n n1 -batch -'));
  t.ok(calls.includes('ip netns exec n1 iptables-restore'));
  t.equal(runner.calls.find((c) => c.argv.join(' ') === 'ip -n p1 -batch -')?.input, 'addr add 10.244.0.2/24 dev eth0\nlink set eth0 up\n');
  const idx = (s: string) => calls.indexOf(s);
  t.ok(idx('ip -n lan -batch -') < idx('ip -n n1 -batch -') && idx('ip -n n1 -batch -') < idx('ip -n p1 -batch -'), 'stages in order');
  t.ok(idx('ip -n n1 -batch -') < idx('bridge -n n1 -batch -'), 'fdb entries after the links');
  t.equal(calls.length, 7, 'seven processes: the namespaces, three batches, one fdb batch, one sysctl, one restore');
});
