// scripts/vm: two boots of the throwaway VM (Debian's kernel under qemu, about 4-5 s each here;
// the first run on a fresh machine also sets the cache up, about 15 s and a 70 MB download).
// One shows the kernel features this machine lacks are there, the other that a failing
// command's exit status comes back (and that its output is piped when the host's is).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const vm = join(import.meta.dirname, '..', 'scripts', 'vm');
const root = process.getuid?.() === 0;
const qemu =
  ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some(existsSync) ||
  (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'qemu-system-x86_64')));
const skip =
  process.env.KNETLAB_VM === '1'
    ? 'already inside the knetlab VM (no VM in the VM)'
    : !root
      ? "needs root (the VM runs its command as root, over the host's root filesystem)"
      : !qemu
        ? 'qemu is not installed (apt-get install qemu-system-x86; then scripts/vm setup)'
        : false;

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Without tap's NODE_OPTIONS (its process-info loader, which tap puts back into every child's
    // environment, loads the extensionless ESM script as CommonJS): `env -u` drops it at the last step.
    execFile('env', ['-u', 'NODE_OPTIONS', vm, ...args], { encoding: 'utf8', timeout: 280_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

t.test('scripts/vm run: ip_vs and dummy work in the guest, the output streams back, exit 0', { skip }, async (t) => {
  const r = await run(['run', '--', 'sh', '-c', 'modprobe ip_vs && ipvsadm -Ln && ip link add d0 type dummy && echo ok']);
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
  t.match(r.stdout, /^IP Virtual Server version \d+\.\d+\.\d+ \(size=\d+\)\n/, 'ipvsadm -Ln');
  t.match(r.stdout, /\nok\n$/, 'the dummy link was made');
  t.notMatch(r.stderr, /kernel's log/, 'no VM failure');
});

t.test("scripts/vm run: a failing command's exit status comes back; its stdout is no terminal when the host's is none", { skip }, async (t) => {
  const r = await run(['run', '--', 'sh', '-c', 'if [ -t 1 ]; then echo terminal; else echo pipe; fi; echo failing; exit 3']);
  t.equal(r.status, 3, `exit status (stderr: ${r.stderr})`);
  t.equal(r.stdout, 'pipe\nfailing\n');
});
