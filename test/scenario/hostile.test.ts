// The hostile corpus: broken and malicious scenario files, each run through the real command line.
// Every one must be refused cleanly: exit 2, within 2 s (a bound, not a benchmark: the command's
// own CPU time, which other work on a shared or loaded machine does not inflate; and never a hang),
// at least one FILE:LINE:COL line, no stack trace, and never a word of the secret files some of
// them point at.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { ValidateJson } from '../../src/report/validate-json.js';
import { problemCodes } from '../../src/scenario/problem-codes.js';

const bin = resolve('dist/cli/main.js');
/**
 * CPU time within which a hostile input is refused: three times what validating a small valid
 * scenario costs in the same run (node's start-up and knetlab's modules are most of it, and both grow
 * on a loaded machine), at least 2 s. A blow-up (billion laughs, a quadratic parse) takes far more.
 */
let MAX_MS = 2000;
/** Wall time that means a hang (a FIFO read, a loop), whatever the machine's load. */
const HANG_MS = 15_000;

/** CPU time (user and system, ms) of this process's waited-for children so far: /proc/self/stat's cutime and cstime. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3: cutime and cstime are fields 16 and 17, in clock ticks (USER_HZ, 100).
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

// A marker no message could contain unless it echoed a secret file.
const MARKER = `KNETLAB-SECRET-${process.pid}-${Date.now().toString(36)}`;

const root = mkdtempSync(join(tmpdir(), 'knetlab-hostile-'));
chmodSync(root, 0o755); // user nobody must reach the folders of the unreadable-file cases
t.teardown(() => rmSync(root, { recursive: true, force: true }));

writeFileSync(join(root, 'secret.txt'), `root:${MARKER}:19000:0:99999:7:::\n`);
writeFileSync(join(root, 'secret.yaml'), `password: ${MARKER}\n`);

const isRoot = process.getuid?.() === 0;
const canBeNobody = isRoot && spawnSync('setpriv', ['--version']).status === 0 && spawnSync('id', ['-u', 'nobody']).status === 0;

type FileSpec = string | Buffer | { fifo: true } | { symlink: string } | { dir: true } | { text: string; mode: number };

interface Case {
  name: string;
  /** Files of the case's folder; `scenario.yaml` is what is validated unless `target` says otherwise. */
  files: Record<string, FileSpec>;
  target?: string;
  args?: string[];
  /** Also run with these commands (validate always runs). */
  also?: ('plan' | 'run')[];
  /** What the output must say. */
  says?: RegExp;
  /** Run as user nobody (for permissions root would ignore). */
  asNobody?: boolean;
}

const head = (extra = ''): string => `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: hostile}\nnodes:\n  - name: node-1\n${extra}`;
const withHosts = (extra: string): string => head(`hosts:\n  - name: client\n${extra}`);
const manifests = (...entries: string[]): string => head(`manifests:\n${entries.map((e) => `  - ${JSON.stringify(e)}\n`).join('')}`);
const steps = (...lines: string[]): string => withHosts(`steps:\n${lines.map((l) => `  - ${l}\n`).join('')}`);
const deployment = (name: string, replicas: number, extra = ''): string =>
  `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {${extra}containers: [{name: c}]}}}}\n`;
const service = (name: string, spec: string): string => `  - {apiVersion: v1, kind: Service, metadata: {name: ${name}}, spec: {${spec}}}\n`;
const labelled = (labels: string): string => head(`manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p, labels: ${labels}}, spec: {containers: [{name: c}]}}\n`);

/** `..` enough times to climb from a case folder to /. */
const toRoot = '../'.repeat(root.split('/').length + 1);
const billionLaughs = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((x, i) => `${x}: &${x} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');
const manyKeys = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}: x\n`).join('');
const manyServices = (bytes: number): string => {
  const out = [head('manifests:\n')];
  let size = out[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const line = service(`s${i}`, 'selector: {app: a}, ports: [{port: 80}]');
    out.push(line);
    size += line.length;
  }
  return out.join('');
};
const garbage = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = (x >> 16) & 0xff;
  }
  return b;
};

const cases: Case[] = [
  // Paths out of the scenario's folder, and files that are not files.
  { name: 'manifest /etc/passwd', files: { 'scenario.yaml': manifests('/etc/passwd') }, says: /outside the scenario's folder/, also: ['plan', 'run'] },
  { name: 'manifest ../../etc/shadow, to the real /etc/shadow', files: { 'scenario.yaml': manifests(`${toRoot}etc/shadow`) }, says: /outside the scenario's folder/ },
  { name: 'manifest ../../etc/shadow as written', files: { 'scenario.yaml': manifests('../../etc/shadow') } },
  { name: 'manifest ../secret.txt', files: { 'scenario.yaml': manifests('../secret.txt') }, says: /outside the scenario's folder/, also: ['run'] },
  {
    name: 'manifest through a symlink out of the folder',
    files: { 'scenario.yaml': manifests('./innocent.yaml'), 'innocent.yaml': { symlink: '../secret.txt' } },
    says: /leads to .*outside/,
    also: ['plan'],
  },
  { name: 'manifest through a symlink to /etc/passwd', files: { 'scenario.yaml': manifests('link.yaml'), 'link.yaml': { symlink: '/etc/passwd' } }, says: /outside/ },
  { name: 'manifest through a symlinked folder', files: { 'scenario.yaml': manifests('up/secret.yaml'), up: { symlink: '..' } }, says: /outside/ },
  { name: 'manifest /dev/zero', files: { 'scenario.yaml': manifests('/dev/zero') }, says: /outside/ },
  {
    name: 'manifest /dev/zero in an allowed folder',
    files: { 'scenario.yaml': manifests('/dev/zero') },
    args: ['--allow-path', '/dev'],
    says: /character device, not a regular file/,
    also: ['run'],
  },
  { name: 'manifest a FIFO', files: { 'scenario.yaml': manifests('pipe.yaml'), 'pipe.yaml': { fifo: true } }, says: /FIFO/, also: ['plan', 'run'] },
  { name: 'manifest a folder', files: { 'scenario.yaml': manifests('sub'), sub: { dir: true } }, says: /a folder, not a regular file/ },
  { name: 'manifest of 5 MB', files: { 'scenario.yaml': manifests('big.yaml'), 'big.yaml': manyServices(5 * 1024 * 1024) }, says: /at most 4\.0 MB/ },
  { name: 'manifest that does not exist', files: { 'scenario.yaml': manifests('nothere.yaml') }, says: /no such file/ },
  { name: 'manifest is the scenario itself', files: { 'scenario.yaml': manifests('./scenario.yaml') }, says: /this scenario file itself/ },
  { name: 'manifest is another scenario', files: { 'scenario.yaml': manifests('other.yaml'), 'other.yaml': head() }, says: /not a Kubernetes object/ },
  { name: 'apply ../secret.txt', files: { 'scenario.yaml': steps('apply: ../secret.txt') }, says: /outside/, also: ['run'] },
  { name: 'apply /etc/passwd', files: { 'scenario.yaml': steps('apply: /etc/passwd') }, says: /outside/ },
  { name: 'apply through a symlink', files: { 'scenario.yaml': steps('apply: ./s.yaml'), 's.yaml': { symlink: '../secret.yaml' } }, says: /outside/ },
  { name: 'apply a FIFO', files: { 'scenario.yaml': steps('apply: ./p.yaml'), 'p.yaml': { fifo: true } }, says: /FIFO/ },
  { name: 'apply a bad path', files: { 'scenario.yaml': steps('apply: "./no\\u0000such.yaml"') } },
  // Secrets inside the folder (or an allowed one) are named, never shown.
  {
    name: 'manifest: a secret beside the scenario',
    files: { 'scenario.yaml': manifests('key.txt'), 'key.txt': `-----BEGIN KEY-----\n${MARKER}\n-----END KEY-----\n` },
    says: /not YAML Kubernetes objects/,
  },
  { name: 'manifest: secret YAML without kind', files: { 'scenario.yaml': manifests('s.yaml'), 's.yaml': `password: ${MARKER}\n` }, says: /not YAML Kubernetes objects/ },
  { name: 'manifest: secret with duplicate keys', files: { 'scenario.yaml': manifests('s.yaml'), 's.yaml': `${MARKER}: 1\n${MARKER}: 2\n` }, says: /not YAML Kubernetes objects/ },
  { name: 'manifest: secret that is bad YAML', files: { 'scenario.yaml': manifests('s.yaml'), 's.yaml': `token: "${MARKER}\\q"\nx: [${MARKER}\n` }, says: /not valid YAML/ },
  {
    name: 'manifest: secret binary',
    files: { 'scenario.yaml': manifests('s.bin'), 's.bin': Buffer.concat([garbage(100), Buffer.from(MARKER), garbage(100)]) },
    says: /not UTF-8|NUL/,
  },
  {
    name: 'manifest: secret allowed with --allow-path',
    files: { 'scenario.yaml': manifests('../secret.txt') },
    args: ['--allow-path', root],
    says: /not YAML Kubernetes objects/,
    also: ['plan', 'run'],
  },
  {
    name: 'manifest: a List with a secret item',
    files: { 'scenario.yaml': manifests('l.yaml'), 'l.yaml': `apiVersion: v1\nkind: List\nitems:\n  - ${MARKER}${'x'.repeat(200)}\n` },
    says: /Expected a Kubernetes object/,
  },
  {
    name: 'manifest: a Secret object',
    files: { 'scenario.yaml': manifests('s.yaml'), 's.yaml': `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: ${MARKER}}\n---\n${MARKER}\n` },
    says: /not YAML Kubernetes objects/,
  },
  // The scenario file itself.
  { name: 'scenario is a FIFO', files: { 'pipe.yaml': { fifo: true } }, target: 'pipe.yaml', says: /FIFO/, also: ['plan', 'run'] },
  { name: 'scenario is /dev/zero', files: {}, target: '/dev/zero', says: /character device/, also: ['plan', 'run'] },
  { name: 'scenario of 5 MB', files: { 'scenario.yaml': manyServices(5 * 1024 * 1024) }, says: /at most 4\.0 MB/, also: ['run'] },
  { name: 'scenario of 5.7 MB', files: { 'scenario.yaml': manyServices(5.7 * 1024 * 1024) }, says: /at most 4\.0 MB/ },
  { name: 'scenario of 3.9 MB, under the size limit', files: { 'scenario.yaml': manyServices(3.9 * 1024 * 1024) }, says: /YAML tokens/ },
  { name: 'scenario with 40k unknown keys', files: { 'scenario.yaml': head() + manyKeys(40_000) }, says: /YAML tokens/ },
  { name: 'scenario with 7000 unknown keys', files: { 'scenario.yaml': head() + manyKeys(7000) }, says: /and 6800 more problems/ },
  { name: 'a folder with a FIFO named .yaml', files: { 'a.yaml': head(), 'b.yaml': { fifo: true } }, target: '.', says: /not a regular file/, also: ['run'] },
  { name: 'a folder with a dangling link named .yaml', files: { 'a.yaml': head(), 'b.yaml': { symlink: 'nowhere.yaml' } }, target: '.', says: /no such file/ },
  { name: 'a folder with an unreadable scenario', files: { 'a.yaml': head(), 'locked.yaml': { text: head(), mode: 0 } }, target: '.', says: /permission denied/, asNobody: true },
  { name: 'a folder with an unreadable sub-folder', files: { 'a.yaml': head(), 'locked/x.yaml': head() }, target: '.', says: /cannot read the folder/, asNobody: true },
  { name: 'manifest unreadable', files: { 'scenario.yaml': manifests('m.yaml'), 'm.yaml': { text: 'apiVersion: v1\n', mode: 0 } }, says: /permission denied/, asNobody: true },
  // YAML that explodes.
  { name: 'billion laughs', files: { 'scenario.yaml': `${head()}${billionLaughs}\n` }, says: /alias bomb/, also: ['plan', 'run'] },
  { name: 'billion laughs in a manifest', files: { 'scenario.yaml': manifests('m.yaml'), 'm.yaml': `apiVersion: v1\nkind: ConfigMap\n${billionLaughs}\n` }, says: /alias bomb/ },
  { name: 'an alias to nothing', files: { 'scenario.yaml': `${head()}description: *nothere\n` }, says: /YAML/ },
  { name: 'flow nesting 100,000 deep', files: { 'scenario.yaml': `${head()}x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n` }, says: /nested more than 64/, also: ['run'] },
  {
    name: 'block nesting 2000 deep',
    files: { 'scenario.yaml': `${head()}x:\n${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i + 1)}- \n`).join('')}` },
    says: /nested more than 64/,
  },
  {
    name: 'nesting 100 deep in a manifest',
    files: { 'scenario.yaml': manifests('m.yaml'), 'm.yaml': `apiVersion: v1\nkind: Pod\nx: ${'{a: '.repeat(100)}1${'}'.repeat(100)}\n` },
    says: /nested more than 64/,
  },
  {
    name: '2000 documents',
    files: { 'scenario.yaml': manifests('m.yaml'), 'm.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n'.repeat(2000) },
    says: /more than 1000 documents/,
  },
  { name: 'a duplicate key', files: { 'scenario.yaml': `${head()}metadata: {name: again}\n` }, says: /appears twice/ },
  { name: 'a __proto__ key', files: { 'scenario.yaml': `${head()}__proto__: {polluted: true}\n` }, says: /`__proto__` is not allowed/ },
  { name: 'a key 100,000 characters long', files: { 'scenario.yaml': `${head()}? ${'k'.repeat(100_000)}\n: 1\n` }, says: /Unknown key `k+…`/ },
  { name: 'a value 1 MB long', files: { 'scenario.yaml': head(`cluster: {proxyMode: ${'x'.repeat(1024 * 1024)}}\n`) }, says: /proxyMode/ },
  { name: 'a line break inside a key', files: { 'scenario.yaml': `${head()}"x\\n/etc/passwd:1:1: forged": 1\n` }, says: /\\n/ },
  { name: 'binary garbage', files: { 'scenario.yaml': garbage(4096) }, says: /not UTF-8|NUL/, also: ['run'] },
  { name: 'UTF-16 with a byte-order mark', files: { 'scenario.yaml': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(head(), 'utf16le')]) }, says: /UTF-16/ },
  { name: 'UTF-16 without a byte-order mark', files: { 'scenario.yaml': Buffer.from(head(), 'utf16le') }, says: /NUL byte/ },
  { name: 'a NUL byte', files: { 'scenario.yaml': `${head()}\0\n` }, says: /NUL byte/ },
  { name: 'a NUL in an exec word', files: { 'scenario.yaml': steps('exec: {on: node/node-1, command: ["sh\\0", -c, id]}') }, says: /NUL/ },
  { name: 'tabs for indentation', files: { 'scenario.yaml': `${head()}cluster:\n\tdns: true\n` }, says: /YAML/ },
  { name: 'an empty file', files: { 'scenario.yaml': '' }, says: /empty/ },
  { name: 'a list, not a mapping', files: { 'scenario.yaml': '- a\n- b\n' }, says: /got a list/ },
  { name: 'over 2000 steps', files: { 'scenario.yaml': steps(...Array(2001).fill('sleep: 1ms')) }, says: /at most 2000 items/ },
  {
    name: 'over 250 nodes',
    files: { 'scenario.yaml': `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: h}\nnodes:\n${Array.from({ length: 251 }, (_, i) => `  - {name: n${i}}\n`).join('')}` },
    says: /at most 250 items/,
  },
  // Durations and counts.
  { name: 'sleep 30000m', files: { 'scenario.yaml': steps('sleep: 30000m') }, says: /at most 1h/, also: ['run'] },
  { name: 'sleep 100000000m (overflows a timer)', files: { 'scenario.yaml': steps('sleep: 100000000m') }, says: /at most 1h/ },
  { name: 'sleep of 400 digits', files: { 'scenario.yaml': steps(`sleep: ${'9'.repeat(400)}h`) }, says: /at most 1h/ },
  { name: 'sleep 2h', files: { 'scenario.yaml': steps('sleep: 2h') }, says: /at most 1h/ },
  { name: 'two sleeps of 1h, over the scenario limit', files: { 'scenario.yaml': steps('sleep: 1h', 'sleep: 1h') }, says: /limit of 30m .*--timeout/, also: ['run'] },
  {
    name: 'probes over the scenario limit',
    files: { 'scenario.yaml': steps(...Array(10).fill('http: {from: host/client, to: "192.168.8.11:80", count: 1000, timeout: 5m}')) },
    says: /1000 tries of 5m.*--timeout/,
  },
  { name: 'exec timeout 2147483648ms (overflows a timer)', files: { 'scenario.yaml': steps('exec: {on: node/node-1, command: [id], timeout: 2147483648ms}') }, says: /at most 1h/ },
  { name: 'exec timeout 100000000m', files: { 'scenario.yaml': steps('exec: {on: node/node-1, command: [id], timeout: 100000000m}') }, says: /at most 1h/ },
  { name: 'probe timeout 6m', files: { 'scenario.yaml': steps('tcp: {from: host/client, to: "192.168.8.11:80", timeout: 6m}') }, says: /at most 5m/ },
  { name: 'a duration with no unit', files: { 'scenario.yaml': steps('sleep: "3600"') }, says: /duration such as/ },
  { name: 'negative, NaN and infinite durations', files: { 'scenario.yaml': steps('sleep: -1s', 'sleep: .nan', 'sleep: .inf') }, says: /duration/ },
  {
    name: 'count NaN, infinite, negative, huge, fractional',
    files: { 'scenario.yaml': steps(...['.nan', '.inf', '-1', '1e9', '1.5'].map((c) => `ping: {from: host/client, to: node/node-1, count: ${c}}`)) },
    says: /whole number from 1 to 1000/,
  },
  {
    name: 'replicas infinite and negative',
    files: { 'scenario.yaml': head(`manifests:\n${deployment('a', Infinity).replace('Infinity', '.inf')}${deployment('b', -1)}`) },
    says: /from 0 to 250/,
  },
  { name: 'scale to 1e12', files: { 'scenario.yaml': head(`manifests:\n${deployment('a', 1)}steps:\n  - scale: {deployment: a, replicas: 1e12}\n`) }, says: /from 0 to 250/ },
  { name: 'a port of 1e400', files: { 'scenario.yaml': head(`manifests:\n${service('s', 'ports: [{port: 1e400}]')}`) }, says: /port number/ },
  // HTTP headers and paths.
  {
    name: 'CR/LF in a header value',
    files: { 'scenario.yaml': steps('http: {from: host/client, to: "192.168.8.11:80", headers: {X-A: "a\\r\\nX-Injected: 1"}}') },
    says: /header value without line breaks/,
    also: ['run'],
  },
  { name: 'a space in a header name', files: { 'scenario.yaml': steps('http: {from: host/client, to: "192.168.8.11:80", headers: {"X A": b}}') }, says: /header name/ },
  {
    name: 'a __proto__ header',
    files: { 'scenario.yaml': steps('http: {from: host/client, to: "192.168.8.11:80", headers: {__proto__: b}}') },
    says: /`__proto__` is not allowed/,
  },
  { name: 'a space in path', files: { 'scenario.yaml': steps('http: {from: host/client, to: "192.168.8.11:80", path: "/a b"}') }, says: /without spaces/ },
  { name: 'a control character in path', files: { 'scenario.yaml': steps('http: {from: host/client, to: "192.168.8.11:80", path: "/a\\tb"}') }, says: /without spaces or control/ },
  { name: 'a curl glob in path', files: { 'scenario.yaml': steps('http: {from: host/client, to: "192.168.8.11:80", path: "/[1-100000]"}') }, says: /path such as/ },
  { name: 'a bad %-escape in path', files: { 'scenario.yaml': steps('http: {from: host/client, to: "192.168.8.11:80", path: "/%zz"}') }, says: /path such as/ },
  { name: 'a space in a URL target', files: { 'scenario.yaml': steps('http: {from: host/client, to: "http://web/a b"}') }, says: /have a path/ },
  // Kubernetes names and labels, as the API server checks them.
  { name: 'a __proto__ label', files: { 'scenario.yaml': labelled('{__proto__: x, app: web}') }, says: /`__proto__` is not allowed/, also: ['plan'] },
  {
    name: 'a __proto__ node label',
    files: { 'scenario.yaml': `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: h}\nnodes:\n  - {name: n, labels: {__proto__: x}}\n` },
    says: /`__proto__` is not allowed/,
  },
  { name: 'a label key with two slashes', files: { 'scenario.yaml': labelled('{a/b/c: x}') }, says: /one \/ at most/ },
  { name: 'a label value of 64 characters', files: { 'scenario.yaml': labelled(`{app: ${'v'.repeat(64)}}`) }, says: /label value/ },
  { name: 'a label key with an upper-case prefix', files: { 'scenario.yaml': labelled('{Example.com/app: x}') }, says: /DNS subdomain/ },
  { name: 'a label value with a space', files: { 'scenario.yaml': labelled('{app: "a b"}') }, says: /label value/ },
  {
    name: 'an annotation key with a space',
    files: { 'scenario.yaml': head(`manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p, annotations: {"a b": x}}, spec: {containers: [{name: c}]}}\n`) },
    says: /qualified name/,
  },
  {
    name: 'a nodeSelector key that is not a label key',
    files: { 'scenario.yaml': head(`manifests:\n${deployment('a', 1, 'nodeSelector: {"-bad": x}, ')}`) },
    says: /qualified name/,
  },
  {
    name: 'a matchExpressions key that is not a label key',
    files: {
      'scenario.yaml': head(
        `manifests:\n  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: a}, spec: {selector: {matchExpressions: [{key: "a b", operator: Exists}]}, template: {spec: {containers: [{name: c}]}}}}\n`,
      ),
    },
    says: /qualified name/,
  },
  {
    name: 'an upper-case Pod name',
    files: { 'scenario.yaml': head(`manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: Web}, spec: {containers: [{name: c}]}}\n`) },
    says: /DNS subdomain name/,
  },
  {
    name: 'a container name with an underscore',
    files: { 'scenario.yaml': head(`manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: Web_1}]}}\n`) },
    says: /containers\[0\]\.name.*DNS label/,
  },
  { name: 'a Service name starting with a digit', files: { 'scenario.yaml': head(`manifests:\n${service('1web', 'ports: [{port: 80}]')}`) }, says: /DNS-1035 label/ },
  {
    name: 'a namespace with an underscore',
    files: { 'scenario.yaml': head(`manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: Team_A}, spec: {containers: [{name: c}]}}\n`) },
    says: /DNS label/,
  },
  {
    name: 'a node label value with a space',
    files: { 'scenario.yaml': `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: h}\nnodes:\n  - {name: n, labels: {app: "a b"}}\n` },
    says: /label value/,
  },
  {
    name: 'a pod name too long for a netns name',
    files: {
      'scenario.yaml': head(`manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: ${'a'.repeat(240)}, namespace: ${'b'.repeat(60)}}, spec: {containers: [{name: c}]}}\n`),
    },
    says: /Linux allows 255/,
  },
  // Capacity.
  {
    name: 'more pods than a node subnet holds',
    files: { 'scenario.yaml': head(`manifests:\n${deployment('a', 200)}${deployment('b', 100)}`) },
    says: /node node-1's pod subnet 10\.244\.0\.0\/24 holds 253 pods/,
    also: ['plan', 'run'],
  },
  {
    name: 'more pods than a /30 holds',
    files: {
      'scenario.yaml': `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: h}\ncluster: {dns: false}\nnodes:\n  - {name: n, podCIDR: 10.244.9.0/30}\nmanifests:\n${deployment('a', 2)}`,
    },
    says: /holds 1 pod/,
  },
  {
    name: 'a scale step past a subnet',
    files: { 'scenario.yaml': head(`manifests:\n${deployment('a', 200)}${deployment('b', 10)}steps:\n  - scale: {deployment: b, replicas: 100}\n`) },
    says: /steps\[0\]\.scale.*holds 253 pods/,
  },
  {
    name: 'Services x pods: 300 Services over 960 pods',
    files: {
      'scenario.yaml': `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: h}\nnodes:\n${Array.from({ length: 8 }, (_, i) => `  - {name: n${i}}\n`).join('')}manifests:\n${Array.from({ length: 4 }, (_, i) => deployment(`d${i}`, 240)).join('')}${Array.from({ length: 300 }, (_, i) => service(`s${i}`, `selector: {app: d${i % 4}}, ports: [{port: 80}]`)).join('')}`,
    },
    says: /more than 10000/,
  },
  {
    name: 'more pods than knetlab runs',
    files: {
      'scenario.yaml': `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: h}\nnodes:\n${Array.from({ length: 25 }, (_, i) => `  - {name: n${i}}\n`).join('')}manifests:\n${Array.from({ length: 11 }, (_, i) => deployment(`d${i}`, 250)).join('')}`,
    },
    says: /more than 1000/,
  },
  {
    name: '2000 delete steps over 1000 pods',
    files: {
      'scenario.yaml': `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: h}\nnodes:\n${Array.from({ length: 10 }, (_, i) => `  - {name: n${i}}\n`).join('')}manifests:\n${Array.from({ length: 4 }, (_, i) => deployment(`d${i}`, 249)).join('')}${Array.from({ length: 40 }, (_, i) => service(`s${i}`, `selector: {app: d${i % 4}}, ports: [{port: 80}]`)).join('')}steps:\n${Array.from({ length: 2000 }, (_, i) => `  - delete: {kind: Pod, name: d${i % 4}-${i % 249}}\n`).join('')}`,
    },
    says: /more than knetlab checks/,
  },
  {
    name: 'nodePorts beyond the range',
    files: {
      'scenario.yaml': head(`cluster: {nodePortRange: 30000-30001}\nmanifests:\n${['a', 'b', 'c'].map((n) => service(n, 'type: NodePort, ports: [{port: 80}]')).join('')}`),
    },
    says: /No free port is left in `cluster.nodePortRange` 30000-30001 \(2 ports\)/,
  },
  {
    name: 'a nodePort outside the range',
    files: { 'scenario.yaml': head(`manifests:\n${service('a', 'type: NodePort, ports: [{port: 80, nodePort: 80}]')}`) },
    says: /outside `cluster.nodePortRange`/,
  },
  {
    name: 'ClusterIPs beyond serviceCIDR',
    files: { 'scenario.yaml': head(`cluster: {serviceCIDR: 10.96.0.0/28}\nmanifests:\n${Array.from({ length: 14 }, (_, i) => service(`s${i}`, 'ports: [{port: 80}]')).join('')}`) },
    says: /No free address is left in `cluster.serviceCIDR`/,
  },
  {
    name: 'LoadBalancer addresses beyond the pool',
    files: {
      'scenario.yaml': head(
        `cluster: {loadBalancerCIDR: 192.168.8.248/30}\nmanifests:\n${['a', 'b', 'c', 'd', 'e'].map((n) => service(n, 'type: LoadBalancer, ports: [{port: 80}]')).join('')}`,
      ),
    },
    says: /No free address is left in `cluster.loadBalancerCIDR`/,
  },
  // Other numbers and shapes.
  { name: 'a nodePortRange of negative numbers', files: { 'scenario.yaml': head('cluster: {nodePortRange: "-1-5"}\n') }, says: /nodePortRange/ },
  { name: 'a CIDR of /99', files: { 'scenario.yaml': head('cluster: {podCIDR: 10.0.0.0/99}\n') }, says: /CIDR/ },
  { name: 'a sleep as a mapping', files: { 'scenario.yaml': steps('sleep: {ms: 5}') }, says: /duration/ },
  { name: 'manifests as a number', files: { 'scenario.yaml': head('manifests: 42\n') }, says: /manifests/ },
];

/** Makes a case's folder; false (with the reason) when this machine cannot. */
function makeCase(dir: string, files: Record<string, FileSpec>): true | string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const locked: string[] = [];
  for (const [name, spec] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o755 });
    if (typeof spec === 'string' || Buffer.isBuffer(spec)) writeFileSync(path, spec);
    else if ('fifo' in spec) {
      const r = spawnSync('mkfifo', [path]);
      if (r.status !== 0) return `mkfifo failed: ${String(r.stderr)}`;
    } else if ('symlink' in spec) symlinkSync(spec.symlink, path);
    else if ('dir' in spec) mkdirSync(path, { recursive: true });
    else {
      writeFileSync(path, spec.text);
      chmodSync(path, spec.mode);
    }
    if (name.startsWith('locked/')) locked.push(join(dir, 'locked'));
  }
  for (const l of locked) chmodSync(l, 0o700); // only its owner (root) may list it
  return true;
}

function knetlab(args: string[], cwd: string, asNobody: boolean) {
  // `env -i`: a clean environment. tap adds its process-info hook to NODE_OPTIONS of every child,
  // even one given its own env, and that hook slows the command and fails as nobody.
  const node = ['env', '-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, 'LANG=C.UTF-8', process.execPath, bin, ...args];
  const argv = asNobody && canBeNobody ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...node] : node;
  const start = performance.now();
  const cpu = childrenCpuMs();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Math.round(performance.now() - start), cpuMs: childrenCpuMs() - cpu };
}

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
  const baseline = Math.max(...[1, 2, 3].map(() => knetlab(['validate', resolve('scenarios/clusterip-round-robin.yaml')], process.cwd(), false).cpuMs));
  MAX_MS = Math.max(MAX_MS, 3 * baseline);
});

t.test('the corpus is large enough', async (t) => {
  t.ok(cases.length >= 75, `${cases.length} cases`);
  t.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'every case has its own name');
});

/** The targets of the cases run as they are, validated once more together as JSON at the end. */
const asJson: string[] = [];

cases.forEach((c, i) => {
  // As root, an unreadable file is readable: only user nobody meets the permission error.
  const skip = c.asNobody && isRoot && !canBeNobody ? 'root reads every file and setpriv or user nobody is missing, so the permission error cannot happen' : false;
  t.test(c.name, { skip }, async (t) => {
    const dir = join(root, `case-${String(i + 1).padStart(3, '0')}`);
    const made = makeCase(dir, c.files);
    if (made !== true) {
      t.comment(`skipped: ${made}`);
      t.pass(`cannot be made here: ${made}`);
      return;
    }
    const target = c.target ?? 'scenario.yaml';
    for (const cmd of ['validate', ...(c.also ?? [])]) {
      const r = knetlab([cmd, ...(c.args ?? []), target], dir, c.asNobody === true);
      const out = `${r.stdout}${r.stderr}`;
      t.equal(r.status, 2, `${cmd}: exit 2 (signal ${r.signal ?? 'none'})`);
      t.ok(r.cpuMs < MAX_MS, `${cmd}: refused within ${MAX_MS} ms of CPU time (took ${r.cpuMs} ms; ${r.ms} ms wall)`);
      t.ok(r.ms < HANG_MS, `${cmd}: no hang (${r.ms} ms wall)`);
      t.match(out, /^[^\s:][^\n]*:\d+:\d+: /m, `${cmd}: a FILE:LINE:COL line`);
      t.notMatch(out, /^\s+at |internal error|\n\s+at [^\n]*\(/m, `${cmd}: no stack trace`);
      t.notOk(out.includes(MARKER), `${cmd}: nothing of a secret file is shown`);
      t.ok(out.length < 200_000, `${cmd}: the output is bounded (${out.length} characters)`);
      if (c.says) t.match(out, c.says, `${cmd}: says why`);
      if (cmd === 'validate') {
        // Every line on stdout is a problem at its place, then the summary: no input can forge a line of its own.
        const lines = r.stdout.split('\n').filter((l) => l !== '');
        t.match(lines.at(-1), /^\d+ files? ha(s|ve) errors \(of \d+\)$/, 'validate: the summary comes last');
        const bad = lines.slice(0, -1).filter((l) => !/^[^\s:][^\n]*:\d+:\d+: /.test(l));
        t.same(bad, [], 'validate: every line before it is FILE:LINE:COL: message');
      }
    }
    if (!c.args && !c.asNobody) asJson.push(resolve(dir, target));
  });
});

t.test('as JSON, every refusal of the corpus carries a code of the closed list', async (t) => {
  // One run for them all: the corpus is slow enough run once per case.
  const r = knetlab(['validate', '-o', 'json', ...asJson], root, false);
  t.equal(r.status, 2, `exit 2 (signal ${r.signal ?? 'none'})`);
  t.notOk(`${r.stdout}${r.stderr}`.includes(MARKER), 'nothing of a secret file is shown');
  const doc = JSON.parse(r.stdout) as ValidateJson;
  const problems = doc.files.flatMap((f) => f.problems);
  t.ok(asJson.length >= 50 && problems.length >= asJson.length, `${problems.length} problems of ${asJson.length} cases`);
  t.same(
    problems.filter((p) => !Object.hasOwn(problemCodes, p.code)),
    [],
    'every problem has a code of the list',
  );
  t.ok(new Set(problems.map((p) => p.code)).size >= 10, 'many kinds of problem, many codes');
});
