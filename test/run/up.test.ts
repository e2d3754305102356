// knetlab up holds a scenario; exec and down work from another terminal (here, other processes).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';

const notRoot = process.getuid?.() !== 0 ? 'knetlab up builds namespaces: needs root' : false;
const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8' });

t.test('up, exec in a node and a pod, down', { skip: notRoot }, async (t) => {
  if (!existsSync('dist/cli/main.js')) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  const up = spawn(process.execPath, ['dist/cli/main.js', 'up', 'test/kernel/fixtures/sandbox-pass.yaml'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  up.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const ended = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
  for (let i = 0; i < 200 && !/ is up: /.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
  t.match(stderr, / is up: .*node\/node-1/, 'up says what can be entered');
  const addr = cli('exec', 'node/node-1', '--', 'ip', '-br', 'addr', 'show', 'cni0');
  t.equal(addr.status, 0, addr.stderr);
  t.match(addr.stdout, /cni0\s+UP\s+10\.244\.0\.1\/24/);
  const curl = cli('exec', 'pod/web-0', '--', 'curl', '-s', 'http://10.244.1.2:80/');
  t.equal(curl.status, 0, curl.stderr);
  t.match(curl.stdout, /"clientIP": "10\.244\.0\.2"/, 'a pod reaches another across nodes, as the scenario has it');
  t.equal(cli('exec', 'node/nope', '--', 'true').status, 2, 'an unknown place is a usage error');
  const down = cli('down');
  t.equal(down.status, 0, down.stderr);
  t.equal(await ended, 0, 'up ends when down is said');
  t.equal(cli('exec', 'node/node-1', '--', 'true').status, 2, 'nothing is held any more');
});
