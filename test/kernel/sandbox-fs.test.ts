// The sandbox's filesystem plan (pure): the host's mounts read-only before anything writable is
// mounted, private /run /tmp /var /dev, the run's folders bound last. test/kernel/sandbox.test.ts
// and scenarios/host-files-read-only.yaml check it on the kernel.
import t from 'tap';
import { ARTIFACTS_MOUNT, sandboxFsPlan, type FsOp } from '../../src/kernel/sandbox-fs.js';

const at = (ops: FsOp[], pred: (o: FsOp) => boolean) => ops.findIndex(pred);

t.test('everything the host mounted is made read-only first, in one recursive operation', async (t) => {
  const ops = sandboxFsPlan({ hostEtcNetns: true, writable: ['/work/diag/run-1'], artifacts: '/tmp/art/run-1' });
  const ro = at(ops, (o) => o.op === 'readonly' && o.path === '/' && o.recursive === true);
  t.ok(ro >= 0, 'a recursive read-only of /');
  t.ok(
    ops.slice(0, ro).every((o) => o.op === 'keep'),
    'before it only folders are held open, nothing is mounted',
  );
  for (const target of ['/run', '/etc/netns']) t.ok(at(ops, (o) => o.op === 'tmpfs' && o.target === target) > ro, `${target} is a private tmpfs, mounted after`);
  for (const target of ['/tmp', '/var']) {
    const i = at(ops, (o) => o.op === 'overlay' && o.target === target && o.lower === target);
    t.ok(i > ro, `${target} is an overlay of the host's whose writes stay private (knetlab's own checkout may be in /tmp)`);
    t.match(ops[i], { upper: /^\/run\//, work: /^\/run\// }, `${target}'s writes go to the private /run`);
  }
  t.notOk(
    ops.some((o) => o.op === 'tmpfs' && o.target === '/tmp'),
    "no empty /tmp hides the host's (only a fallback without overlayfs)",
  );
  t.ok(at(ops, (o) => o.op === 'move' && o.target === '/dev') > ro, "a private /dev replaces the host's");
});

t.test("the private /dev holds no device that reaches the host's disks or memory", async (t) => {
  const ops = sandboxFsPlan({ hostEtcNetns: true, writable: [] });
  const devices = ops
    .filter((o): o is Extract<FsOp, { op: 'bind' }> => o.op === 'bind' && o.source.startsWith('/dev/'))
    .map((o) => o.source)
    .sort();
  t.same(devices, ['/dev/full', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero']);
});

t.test("the run's folders are held open before /tmp hides them and bound writable at the end", async (t) => {
  const ops = sandboxFsPlan({ hostEtcNetns: true, writable: ['/tmp/diag/run-1'], artifacts: '/tmp/art/run-1' });
  t.same(
    ops.filter((o) => o.op === 'keep'),
    [
      { op: 'keep', path: '/tmp/diag/run-1', id: 'w0' },
      { op: 'keep', path: '/tmp/art/run-1', id: 'artifacts' },
    ],
  );
  t.same(ops.slice(-6), [
    { op: 'mkdir', path: '/tmp/diag/run-1' },
    { op: 'bind', source: 'kept:w0', target: '/tmp/diag/run-1' },
    { op: 'writable', path: '/tmp/diag/run-1' },
    { op: 'mkdir', path: ARTIFACTS_MOUNT },
    { op: 'bind', source: 'kept:artifacts', target: ARTIFACTS_MOUNT },
    { op: 'writable', path: ARTIFACTS_MOUNT },
  ]);
  t.same(
    ops.filter((o) => o.op === 'writable').map((o) => (o as { path: string }).path),
    ['/proc/sys/net', '/tmp/diag/run-1', ARTIFACTS_MOUNT],
    "nothing else is made writable again: of /proc/sys, only the namespaces' own sysctls",
  );
});

t.test('without /etc/netns on the host, an overlay on /etc makes one, and /etc is read-only again', async (t) => {
  const ops = sandboxFsPlan({ hostEtcNetns: false, writable: [] });
  const overlay = at(ops, (o) => o.op === 'overlay' && o.target === '/etc');
  const mkdir = at(ops, (o) => o.op === 'mkdir' && o.path === '/etc/netns');
  const ro = at(ops, (o) => o.op === 'readonly' && o.path === '/etc');
  const tmpfs = at(ops, (o) => o.op === 'tmpfs' && o.target === '/etc/netns');
  t.ok(overlay >= 0 && overlay < mkdir && mkdir < ro && ro < tmpfs, 'overlay, mkdir, read-only, then the tmpfs');
  t.ok(
    [overlay, mkdir, ro, tmpfs].every((i) => ops[i]!.group === 'etc-netns'),
    'all in one group that may fail together (overlayfs in a user namespace needs Linux 5.11)',
  );
});
