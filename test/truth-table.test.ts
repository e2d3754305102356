// The source-IP truth table on the kernel: scripts/truth-table.mjs generates a scenario per network x
// externalTrafficPolicy from the model (src/cluster/source-ip.ts), runs them with the CLI and reports
// every cell; one assertion per cell, so that CI counts them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { allCells } from '../src/cluster/source-ip.js';
import { testedProxyModes, testedNetworks } from './helpers.js';

// The file's time limit (tap's default is 300 s): every cell runs for real under each mode and network: minutes, more on a loaded machine.
t.setTimeout(40 * 60_000);

interface CellResult {
  network: string;
  policy: string;
  from: string;
  via: string;
  expected: string;
  seen: string;
  agree: boolean;
  knetlab: 'passed' | 'failed' | 'not run';
}

const notRoot = process.getuid?.() !== 0 ? 'the truth table runs scenarios, which needs root (or unprivileged user namespaces): run `sudo npm test`' : false;

for (const mode of testedProxyModes())
  t.test(`source-IP truth table, kube-proxy in ${mode} mode: every cell on the kernel as the model says`, { skip: notRoot }, async (t) => {
    if (!existsSync('dist/cluster/source-ip.js')) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-truth-table-test-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const json = join(dir, 'cells.json');
    const only = testedNetworks();
    const cellsHere = allCells(mode).filter((c) => !only || only.includes(c.network));
    if (cellsHere.length === 0) return void t.pass(`no cell of ${only?.join(', ')} under ${mode} mode`);
    const r = spawnSync(
      process.execPath,
      ['scripts/truth-table.mjs', '--jobs', '2', '--proxy-mode', mode, '--out', dir, '--json', json, ...(only ? ['--network', only.join(',')] : [])],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    if (r.status === 3) {
      t.test(`${mode} mode`, { skip: `not run: ${r.stderr.trim().split('\n').pop()}` }, async () => {});
      return;
    }
    t.not(r.status, 2, `the generator ran (${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')})`);
    if (r.status === 2 || !existsSync(json)) return;
    const { cells, notRun } = JSON.parse(readFileSync(json, 'utf8')) as { cells: CellResult[]; notRun: { network: string; policy: string; cells: number; reason: string }[] };
    t.equal(cells.length + notRun.reduce((n, g) => n + g.cells, 0), cellsHere.length, 'every cell has a result, or its network was not built');
    // A network this kernel cannot build (calico-ipip without ipip): skipped with the reason; CI's VM runs it (KNETLAB_TEST_NETWORKS).
    for (const g of notRun) t.test(`${g.network}, ${g.policy}: ${g.cells} cells`, { skip: `not run: ${g.reason}` }, async () => {});
    for (const c of cells) {
      t.ok(
        c.agree,
        `${c.network}, ${c.policy}: ${c.from} -> ${c.via}: ${c.agree ? c.seen : `model ${c.expected}; kernel ${c.seen} (to keep the scenarios: node scripts/truth-table.mjs --proxy-mode ${mode} --out DIR)`}`,
      );
    }
    const judgedOtherwise = cells.filter((c) => c.knetlab !== 'not run' && c.agree !== (c.knetlab === 'passed'));
    t.same(
      judgedOtherwise.map((c) => `${c.network} ${c.policy} ${c.from} -> ${c.via}: knetlab ${c.knetlab}`),
      [],
      "knetlab's own verdict on each step matches the table's",
    );
    t.equal(r.status, cells.every((c) => c.agree) && judgedOtherwise.length === 0 ? 0 : 1, 'the exit status follows the results');
  });
