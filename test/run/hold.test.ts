import t from 'tap';
import { enterCommand, placeNetns, type Held } from '../../src/run/hold.js';

const held: Held = {
  name: 'demo', file: 'demo.yaml', upPid: 1, sandboxPid: 4242, rootless: false,
  netns: { lan: 'lan', 'node/node-1': 'node-1', 'host/client': 'client', 'pod/web-0.default': 'web-0.default', 'pod/agent-node-1.default': 'node-1' },
};

t.test('places by the names steps use, or bare', async (t) => {
  t.equal(placeNetns(held, 'node/node-1'), 'node-1');
  t.equal(placeNetns(held, 'node-1'), 'node-1');
  t.equal(placeNetns(held, 'client'), 'client');
  t.equal(placeNetns(held, 'pod/web-0'), 'web-0.default');
  t.equal(placeNetns(held, 'web-0'), 'web-0.default');
  t.equal(placeNetns(held, 'pod/agent-node-1'), 'node-1', 'a hostNetwork pod is in its node');
  t.throws(() => placeNetns(held, 'node/node-9'), /demo has no node\/node-9; did you mean node\/node-1\?/);
});

t.test('entering: the sandbox first, then the namespace', async (t) => {
  t.same(enterCommand(held, 'node-1', ['ip', 'route']), ['nsenter', '--target', '4242', '--mount', '--net', '--pid', '--', 'ip', 'netns', 'exec', 'node-1', 'ip', 'route']);
  t.same(enterCommand({ ...held, rootless: true }, 'x', ['true']).slice(0, 5), ['nsenter', '--target', '4242', '--user', '--preserve-credentials']);
});
