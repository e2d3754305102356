import t from 'tap';
import type { NamespacePlan, TopologyPlan } from '../../src/dataplane/types.js';
import { applyTopology, removePods } from '../../src/kernel/apply.js';
import { RecordingRunner, type LineSession, type RunOptions, type RunResult, type Runner } from '../../src/kernel/exec.js';
import { NETNS_CONFIG_COMMAND } from '../../src/kernel/netns-config.js';

const ns = (name: string, kind: NamespacePlan['kind'], more: Partial<NamespacePlan> = {}): NamespacePlan => ({
  name,
  kind,
  ip: [],
  bridge: [],
  sysctls: {},
  iptables: '',
  etc: {},
  ...more,
});
const ok = (_argv: readonly string[], line: string) => JSON.stringify({ id: (JSON.parse(line) as { id: number }).id, ok: true });
const requests = (r: RecordingRunner) =>
  r.calls
    .find((c) => c.argv.join(' ') === NETNS_CONFIG_COMMAND.join(' '))!
    .input.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { netns: string; sysctls: string[][]; ops: { line: string }[] });

const plan: TopologyPlan = {
  namespaces: ['lan', 'n1', 'p1'],
  stages: [
    [
      ns('lan', 'lan', {
        ip: ['link add br-lan address 02:00:00:00:00:01 type bridge', 'link set dev br-lan up', 'link add n1 address 02:00:00:00:00:02 type veth peer name eth0 netns n1'],
        sysctls: { 'net.ipv4.ip_forward': '1' },
      }),
    ],
    [
      ns('n1', 'node', {
        ip: ['addr add 192.168.8.11/24 dev eth0', 'link add veth1 mtu 1450 type veth peer name eth0 mtu 1450 netns p1'],
        bridge: ['fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.168.8.12 self permanent'],
        iptables: '*nat\nCOMMIT\n',
      }),
    ],
    [ns('p1', 'pod', { ip: ['addr add 10.244.0.2/24 dev eth0', 'link set dev eth0 up'] })],
  ],
};

t.test('namespaces in one batch, then one netns-config process for every line and sysctl; a process only for rules', async (t) => {
  const runner = new RecordingRunner(undefined, ok);
  await applyTopology(runner, plan, { etcNetns: false });
  const calls = runner.calls.map((c) => c.argv.join(' '));
  t.same(calls.sort(), ['ip -batch -', 'ip netns exec n1 iptables-restore', NETNS_CONFIG_COMMAND.join(' ')].sort(), 'three processes, whatever the number of namespaces');
  t.equal(runner.calls.find((c) => c.argv.join(' ') === 'ip -batch -')!.input, 'netns add lan\nnetns add n1\nnetns add p1\n');
  const asked = requests(runner);
  t.same(
    asked.map((r) => r.netns),
    ['lan', 'n1', 'p1'],
    'stages in order',
  );
  t.same(asked[0]!.sysctls, [['net.ipv4.ip_forward', '1']]);
  t.same(
    asked[1]!.ops.map((o) => o.line),
    [...plan.stages[1]![0]!.ip, ...plan.stages[1]![0]!.bridge],
    'ip lines, then fdb entries, each request carrying its line',
  );
  t.same(
    asked[2]!.ops.map((o) => o.line),
    plan.stages[2]![0]!.ip,
  );
});

t.test('a namespace with a line netns-config does not know goes to ip and bridge batches, its sysctls still to the helper', async (t) => {
  const odd = {
    ...plan,
    stages: [
      [
        ns('lan', 'lan', {
          ip: ['link add dummy0 type dummy', 'link set dev dummy0 up'],
          bridge: ['fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.168.8.12 self permanent'],
          sysctls: { 'net.ipv4.ip_forward': '1' },
        }),
      ],
    ],
  };
  const runner = new RecordingRunner(undefined, ok);
  await applyTopology(runner, { namespaces: ['lan'], stages: odd.stages }, { etcNetns: false });
  const calls = runner.calls.map((c) => c.argv.join(' '));
  t.equal(runner.calls.find((c) => c.argv.join(' ') === 'ip -n lan -batch -')?.input, 'link add dummy0 type dummy\nlink set dev dummy0 up\n', 'every ip line, none skipped');
  t.ok(calls.indexOf('ip -n lan -batch -') < calls.indexOf('bridge -n lan -batch -'), 'fdb entries after the links');
  t.same(requests(runner), [{ id: 1, netns: 'lan', sysctls: [['net.ipv4.ip_forward', '1']], ops: [] }]);
});

/** A runner whose `ip -n NAME -batch -` processes wait until released, answering helper lines at once. */
class GatedRunner implements Runner {
  readonly order: string[] = [];
  readonly gates = new Map<string, () => void>();
  async run(argv: readonly string[], _opts?: RunOptions): Promise<RunResult> {
    const node = argv[0] === 'ip' && argv[1] === '-n' ? argv[2]! : undefined;
    if (node) await new Promise<void>((resolve) => this.gates.set(node, resolve));
    this.order.push(argv.join(' '));
    return { command: [...argv], exitCode: 0, stdout: '', stderr: '', timedOut: false };
  }
  session(): LineSession {
    return {
      ask: async (line) => {
        const { id, netns } = JSON.parse(line) as { id: number; netns: string };
        this.order.push(`configure ${netns}`);
        return JSON.stringify({ id, ok: true });
      },
      end: async () => ({ command: [], exitCode: 0, stdout: '', stderr: '', timedOut: false }),
    };
  }
}

t.test('a pod waits for the node that makes its veth, not for every node', async (t) => {
  // Node lines netns-config does not know, so that each node is a process this test holds.
  const node = (name: string, pod: string) => ns(name, 'node', { ip: ['link add dummy0 type dummy', `link add v-${pod} type veth peer name eth0 netns ${pod}`] });
  const gated: TopologyPlan = {
    namespaces: ['a', 'b', 'pa', 'pb'],
    stages: [
      [node('a', 'pa'), node('b', 'pb')],
      [ns('pa', 'pod', { ip: ['link set dev eth0 up'] }), ns('pb', 'pod', { ip: ['link set dev eth0 up'] })],
    ],
  };
  const runner = new GatedRunner();
  const done = applyTopology(runner, gated, { etcNetns: false });
  const settle = () => new Promise((r) => setTimeout(r, 20));
  await settle();
  t.same([...runner.gates.keys()].sort(), ['a', 'b'], 'both nodes at once');
  runner.gates.get('a')!();
  await settle();
  t.ok(runner.order.includes('configure pa'), 'node a done: its pod is configured');
  t.notOk(runner.order.includes('configure pb'), 'node b not done: its pod waits');
  runner.gates.get('b')!();
  await done;
  t.ok(runner.order.indexOf('ip -n b -batch -') < runner.order.indexOf('configure pb'));
});

t.test("a failure rejects with the helper's words and ends the helper", async (t) => {
  let ended = 0;
  const runner = new RecordingRunner(undefined, (_argv, line) => {
    const { id, netns } = JSON.parse(line) as { id: number; netns: string };
    return JSON.stringify(netns === 'p1' ? { id, ok: false, error: 'netns p1: `addr add 10.244.0.2/24 dev eth0`: no device eth0: No such device (ENODEV)' } : { id, ok: true });
  });
  const session = runner.session.bind(runner);
  runner.session = (argv) => {
    const s = session(argv);
    return { ask: s.ask, end: () => (ended++, s.end()) };
  };
  await t.rejects(applyTopology(runner, plan, { etcNetns: false }), /netns p1: `addr add 10\.244\.0\.2\/24 dev eth0`: no device eth0/);
  t.equal(ended, 1);
});

t.test('removing pods: one batch per node, then one for every namespace', async (t) => {
  const runner = new RecordingRunner();
  await removePods(
    runner,
    [
      { node: 'n1', ip: ['link del dev veth1'], netns: 'p1', netnsLines: ['netns del p1'] },
      { node: 'n2', ip: ['link del dev veth2'], netns: 'p2', netnsLines: ['netns del p2'] },
      { node: 'n1', ip: ['link del dev veth3'], netns: 'p3', netnsLines: ['netns del p3'] },
    ],
    { etcNetns: false },
  );
  t.same(
    runner.calls.map((c) => [c.argv.join(' '), c.input]),
    [
      ['ip -n n1 -batch -', 'link del dev veth1\nlink del dev veth3\n'],
      ['ip -n n2 -batch -', 'link del dev veth2\n'],
      ['ip -batch -', 'netns del p1\nnetns del p2\nnetns del p3\n'],
    ],
  );
});
