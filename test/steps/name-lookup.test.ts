// A name target is looked up inside the source's namespace (getent: glibc's getaddrinfo, as curl and
// ping do), and tcp, udp and ping send to the address it gave; a name that does not resolve fails the step.
import t from 'tap';
import type { Place } from '../../src/cluster/resolve.js';
import { RecordingRunner } from '../../src/kernel/exec.js';
import type { Step } from '../../src/scenario/steps.js';
import { judgeConnect } from '../../src/steps/judge.js';
import { kindOf } from '../../src/steps/kinds/index.js';
import type { RunContext } from '../../src/steps/kind.js';
import { addressOf, lookupName, unresolved, unresolvedTries } from '../../src/steps/name-lookup.js';
import { head, validateText } from '../helpers.js';

const app: Place = { kind: 'pod', name: 'app', namespace: 'default', ip: '10.244.0.3', node: 'node-1', hostNetwork: false };
const node: Place = { kind: 'node', name: 'node-1', ip: '192.168.8.11' };
const getentOut = '10.96.12.3      STREAM db.data.svc.cluster.local\n10.96.12.3      DGRAM  \n10.96.12.3      RAW    \n';

t.test('getent ahostsv4 in the source namespace; its first address', async (t) => {
  const runner = new RecordingRunner(() => ({ stdout: getentOut }));
  t.same(await lookupName(runner, app, 'db.data', 2000), { ok: true, ip: '10.96.12.3' });
  t.same(runner.calls[0]!.argv, ['ip', 'netns', 'exec', 'app.default', 'getent', 'ahostsv4', 'db.data']);
});

t.test('a name that does not resolve says so, and where', async (t) => {
  const notFound = new RecordingRunner(() => ({ exitCode: 2 }));
  t.same(await lookupName(notFound, app, 'dbx', 2000), { ok: false, error: 'cannot resolve dbx in pod/app' });
  t.match(await lookupName(notFound, node, 'db.data', 2000), { ok: false, error: /^cannot resolve db\.data in node\/node-1 \(nodes and hosts use no DNS server/ });
  const slow = new RecordingRunner(() => ({ exitCode: 124, timedOut: true }));
  t.same(
    await lookupName(slow, app, 'db', 1500),
    { ok: false, error: 'cannot resolve db in pod/app: no answer within 5000 ms' },
    'a short step timeout still gives the lookup 5 s',
  );
  t.same(await lookupName(slow, app, 'db', 8000), { ok: false, error: 'cannot resolve db in pod/app: no answer within 8000 ms' }, 'a longer one, its own');
  const odd = new RecordingRunner(() => ({ stdout: 'fe80::1 STREAM db\n' }));
  t.same(await lookupName(odd, app, 'db', 1500), { ok: false, error: 'cannot resolve db in pod/app: getent exited 0' }, 'no IPv4 address is no answer');
});

t.test('an address from the model is used as it is, without a lookup', async (t) => {
  const runner = new RecordingRunner();
  t.same(await addressOf(runner, app, { ip: '10.96.0.10', port: 53, meaning: 'x' }, 2000), { ok: true, ip: '10.96.0.10' });
  t.equal(runner.calls.length, 0);
});

t.test('a step whose name did not resolve fails, even one expecting no connect', async (t) => {
  const error = 'cannot resolve dbx in pod/app';
  const j = unresolved(judgeConnect(unresolvedTries(2, error), false), error);
  t.equal(j.passed, false);
  t.match(j.seen, /^cannot resolve dbx in pod\/app\. 0 of 2 connected/);
  t.same(j.tries, [
    { ok: false, failure: 'error', error },
    { ok: false, failure: 'error', error },
  ]);
});

const scenario = `${head(1, '  dns: true')}manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: app}, spec: {containers: [{name: app, image: busybox}]}}
steps:
  - tcp: {from: pod/app, to: "db.data:5432", count: 2}
  - udp: {from: pod/app, to: "http://db.data:8125/"}
  - ping: {from: pod/app, to: db.data}
  - tcp: {from: pod/app, to: "nope:1"}
`;

t.test('tcp, udp and ping send to the address the name was looked up to', async (t) => {
  const v = await validateText(scenario);
  t.same(v.lines, []);
  const steps = v.scenario!.steps as Step[];
  const runner = new RecordingRunner((argv) => (argv.includes('getent') ? (argv.includes('nope') ? { exitCode: 2 } : { stdout: getentOut }) : {}));
  const c: RunContext = {
    runner,
    model: v.model!,
    answeredBy: () => undefined,
    commit: async () => {},
    resync: async () => {},
    restartKubeProxy: async () => {},
    reboot: async () => {},
  };
  const run = (s: Step) => kindOf(s).run(s as never, c);
  for (const s of steps.slice(0, 3)) await run(s);
  const probes = runner.calls.filter((x) => !x.argv.includes('getent')).map((x) => x.argv.join(' '));
  t.equal(runner.calls.filter((x) => x.argv.includes('getent')).length, 3, 'one lookup a step');
  t.match(probes[0], /\/dev\/tcp\/10\.96\.12\.3\/5432/, 'tcp connects to the address');
  t.match(probes[1], / 10\.96\.12\.3 8125 /, 'udp sends to the address, at the URL port');
  t.match(probes[2], /^ip netns exec app\.default ping .* 10\.96\.12\.3$/, 'ping pings the address');
  const calls = runner.calls.length;
  const failed = (await run(steps[3]!)) as { passed: boolean; seen: string };
  t.equal(failed.passed, false);
  t.match(failed.seen, /^cannot resolve nope in pod\/app\./);
  t.equal(runner.calls.length, calls + 1, 'nothing is sent when the name does not resolve');
});
