// Packet-flow tables on the real kernel, through the CLI: every case a row of the json report,
// judged from the trace of the node under test, in iptables and nftables mode.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CaseResult } from '../../src/run/types.js';
import { testedProxyModes } from '../helpers.js';

t.setTimeout(10 * 60_000);
const notRoot = process.getuid?.() !== 0 ? 'running scenarios needs root' : false;

interface Report {
  scenarios: { name: string; status: string; steps: { status: string; cases?: CaseResult[] }[] }[];
}

for (const mode of testedProxyModes().filter((m) => m !== 'ipvs'))
  t.test(`flows in ${mode} mode`, { skip: notRoot }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-flows-'));
    // Retries: a sandbox's last writes into its diagnostics may race the removal (a folder was once left in CI).
    t.teardown(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
    const files = ['test/fixtures/flows/basic.yaml', 'test/fixtures/flows/wrong.yaml', 'test/fixtures/flows/outside.yaml', 'test/fixtures/flows/synthesized.yaml'];
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'run', '-r', 'json', '--proxy-mode', mode, '--diagnostics', dir, '--artifacts', dir, ...files], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const report = JSON.parse(r.stdout) as Report;
    const [basic, wrong, outside, synthesized] = report.scenarios;
    const cases = basic!.steps[0]!.cases!;
    t.equal(cases.length, 9, 'a row per case (two of them SCTP, sent from a raw socket)');
    for (const c of cases) t.equal(c.status, 'passed', `${c.name}: expected ${c.expected}; seen ${c.seen}${c.trace ? ` | ${c.trace.join(' | ')}` : ''}`);
    t.equal(basic!.status, 'passed');
    const [ok, bad] = wrong!.steps[0]!.cases!;
    t.equal(ok!.status, 'passed');
    t.equal(bad!.status, 'failed');
    t.equal(bad!.expected, 'output "10.244.0.9:80", masq true');
    t.match(bad!.seen, /^output "REJECT", masq false: not DNATed; REJECT by .*; not masqueraded$/);
    t.match(bad!.trace?.[0], /^rejected in node\/node-1 by /, 'the trace says where');
    t.equal(wrong!.status, 'failed');
    // A client outside the LAN behind the gateway, and a node's extra address outside it, as sources.
    t.equal(outside!.status, 'passed', 'outside-lan passes');
    for (const s of outside!.steps) t.equal(s.status, 'passed');
    // Sources nobody holds, made for the step and removed after (its last step checks).
    t.equal(synthesized!.status, 'passed', 'synthesized passes');
    t.same(
      synthesized!.steps.map((s) => s.status),
      ['passed', 'passed'],
    );
    t.same(
      outside!.steps[2]!.cases!.map((c) => [c.name, c.status]),
      [
        ['external to an external IP with no local endpoint', 'passed'],
        ['external to a nodePort', 'passed'],
        ['LOCAL from an extra address to the external IP', 'passed'],
      ],
    );
  });
