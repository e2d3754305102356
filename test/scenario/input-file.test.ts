import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeText, placeInputPath, readInputFile, resolveAllowPaths } from '../../src/scenario/input-file.js';
import { MAX_FILE_BYTES } from '../../src/scenario/limits.js';

const dir = mkdtempSync(join(tmpdir(), 'knetlab-input-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

t.test('a regular UTF-8 file is read whole', async (t) => {
  writeFileSync(at('ok.yaml'), 'a: 1\n');
  t.same(await readInputFile(at('ok.yaml')), { ok: true, text: 'a: 1\n' });
});

t.test('what is not a regular file is refused by its type, before it is opened', async (t) => {
  mkdirSync(at('folder'));
  t.match(await readInputFile(at('folder')), { ok: false, reason: /a folder, not a regular file/ });
  t.match(await readInputFile('/dev/zero'), { ok: false, reason: /a character device/ });
  t.match(await readInputFile(at('missing')), { ok: false, reason: 'no such file' });
  if (spawnSync('mkfifo', [at('fifo')]).status === 0) {
    const start = performance.now();
    t.match(await readInputFile(at('fifo')), { ok: false, reason: /FIFO/ });
    t.ok(performance.now() - start < 1000, 'a FIFO with no writer does not block');
  }
});

t.test('a file over the size limit is refused without being read', async (t) => {
  writeFileSync(at('big.yaml'), Buffer.alloc(MAX_FILE_BYTES + 1, 0x61));
  t.match(await readInputFile(at('big.yaml')), { ok: false, reason: /at most 4\.0 MB/ });
  writeFileSync(at('limit.yaml'), Buffer.alloc(MAX_FILE_BYTES, 0x61));
  const r = await readInputFile(at('limit.yaml'));
  t.equal(r.ok && r.text.length, MAX_FILE_BYTES, 'a file of exactly the limit is read');
});

t.test('text that is not UTF-8 is refused with where the bad byte is', async (t) => {
  t.match(decodeText(Buffer.from([0xff, 0xfe, 0x61, 0])), { ok: false, reason: /UTF-16/ });
  t.match(decodeText(Buffer.from('a: 1\nb: \0\n')), { ok: false, reason: /NUL byte/, line: 2, col: 4 });
  t.match(decodeText(Buffer.from([0x61, 0x0a, 0x62, 0xc3, 0x28])), { ok: false, reason: /not UTF-8/, line: 2, col: 2 });
  t.same(decodeText(Buffer.from('é: ü\n')), { ok: true, text: 'é: ü\n' });
});

t.test('paths a scenario names must lead into its folder or an allowed one, links followed', async (t) => {
  const scen = at('scen');
  mkdirSync(join(scen, 'manifests'), { recursive: true });
  writeFileSync(join(scen, 'manifests', 'web.yaml'), 'x');
  writeFileSync(at('outside.yaml'), 'x');
  mkdirSync(at('scen-evil'));
  writeFileSync(at('scen-evil/x.yaml'), 'x');
  symlinkSync('../outside.yaml', join(scen, 'link.yaml'));
  symlinkSync('manifests/web.yaml', join(scen, 'inner-link.yaml'));
  t.match(await placeInputPath('manifests/web.yaml', scen, []), { ok: true, real: join(scen, 'manifests', 'web.yaml') });
  t.match(await placeInputPath('./inner-link.yaml', scen, []), { ok: true }, 'a link within the folder is fine');
  t.match(await placeInputPath('../outside.yaml', scen, []), { ok: false, reason: /^it is outside the scenario's folder .*scen; / });
  t.match(await placeInputPath('link.yaml', scen, []), { ok: false, reason: /leads to .*outside\.yaml, outside/ });
  t.match(await placeInputPath('../scen-evil/x.yaml', scen, []), { ok: false }, 'a sibling folder whose name starts the same is outside');
  t.match(await placeInputPath('/etc/passwd', scen, []), { ok: false, reason: /--allow-path/ });
  t.match(await placeInputPath('../outside.yaml', scen, [dir]), { ok: true }, 'an allowed folder lets it in');
  t.match(await placeInputPath('nothere.yaml', scen, []), { ok: false, reason: 'no such file' });
  t.match(await placeInputPath('a\0b', scen, []), { ok: false, reason: /NUL/ });
});

t.test('--allow-path folders are resolved, and must exist as folders', async (t) => {
  t.match(await resolveAllowPaths([dir]), { ok: true });
  t.match(await resolveAllowPaths([at('missing')]), { ok: false, reason: /no such file/ });
  writeFileSync(at('file'), 'x');
  t.match(await resolveAllowPaths([at('file')]), { ok: false, reason: /not a folder/ });
});
