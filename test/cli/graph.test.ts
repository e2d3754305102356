// `knetlab graph`: a scenario's topology as SVG or Mermaid without root, the same as the renderers'
// goldens; bad input is FILE:LINE:COL and exit 2; the pictures in the README and docs/ are what the CLI draws now.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { head, writeScenario } from '../helpers.js';
import { goldenPath } from '../match-golden.js';

const bin = 'dist/cli/main.js';

function knetlab(...args: string[]) {
  return knetlabIn(process.env, ...args);
}

function knetlabIn(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
});

t.test('graph FILE: SVG by default, Mermaid with -o mermaid, as the renderers draw them', async (t) => {
  const svg = knetlab('graph', 'scenarios/calico-vxlan.yaml');
  t.equal(svg.status, 0, svg.stderr);
  t.equal(svg.stdout, readFileSync(goldenPath('graph/calico-vxlan.svg'), 'utf8'));
  const mermaid = knetlab('graph', 'scenarios/nodeport-cluster-policy.yaml', '-o', 'mermaid');
  t.equal(mermaid.status, 0, mermaid.stderr);
  t.equal(mermaid.stdout, readFileSync(goldenPath('graph/nodeport-cluster-policy.mmd'), 'utf8'));
});

t.test('graph --network NAME: the scenario drawn on another network', async (t) => {
  const r = knetlab('graph', 'scenarios/host-gw.yaml', '-o', 'mermaid', '--network', 'calico-vxlan');
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /VXLAN over the LAN \(vxlan\.calico, VNI 4096, UDP 4789\)/);
  t.match(r.stdout, / cali[0-9a-f]{11}"\)/, "pods on Calico's routed veths");
  const bad = knetlab('graph', 'scenarios/host-gw.yaml', '--network', 'weave');
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--network must be one of flannel-vxlan, /);
});

t.test('graph --out FILE writes the drawing there', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-graph-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'g.mmd');
  const r = knetlab('graph', 'scenarios/host-gw.yaml', '-o', 'mermaid', '--out', out);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '');
  t.equal(readFileSync(out, 'utf8'), readFileSync(goldenPath('graph/host-gw.mmd'), 'utf8'));
  const nowhere = knetlab('graph', 'scenarios/host-gw.yaml', '--out', join(dir, 'no-such-folder', 'g.svg'));
  t.equal(nowhere.status, 2);
  t.match(nowhere.stderr, /--out .*no-such-folder\/g\.svg: cannot write it \(ENOENT/);
});

t.test('graph: a broken file is FILE:LINE:COL and exit 2; so are a wrong format and FILE with --scenario', async (t) => {
  const file = writeScenario(`${head(1)}steps:\n  - sleep: forever\n`);
  const bad = knetlab('graph', file);
  t.equal(bad.status, 2);
  t.equal(bad.stdout, '');
  t.match(bad.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `, 'm'));
  const format = knetlab('graph', '-o', 'png', 'scenarios/calico-vxlan.yaml');
  t.equal(format.status, 2);
  t.match(format.stderr, /--output must be one of svg, mermaid, got png/);
  const both = knetlab('graph', 'scenarios/calico-vxlan.yaml', '--scenario', 'x');
  t.equal(both.status, 2);
  t.match(both.stderr, /not both/);
  // A state folder of its own: no scenario is held there, whatever runs beside this test.
  const state = mkdtempSync(join(tmpdir(), 'knetlab-graph-state-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const none = knetlabIn({ ...process.env, KNETLAB_STATE_DIR: join(state, 'knetlab') }, 'graph');
  t.equal(none.status, 2);
  t.match(none.stderr, /name a scenario FILE/);
});

t.test("the README's pictures are what the CLI draws now", async (t) => {
  const readme = readFileSync('README.md', 'utf8');
  const svg = knetlab('graph', 'scenarios/nodeport-local-policy.yaml');
  t.equal(
    readFileSync('docs/images/nodeport-local-policy.svg', 'utf8'),
    svg.stdout,
    'docs/images/nodeport-local-policy.svg (node dist/cli/main.js graph scenarios/nodeport-local-policy.yaml --out docs/images/nodeport-local-policy.svg)',
  );
  t.match(readme, '](docs/images/nodeport-local-policy.svg)');
  const block = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1];
  t.equal(
    block,
    knetlab('graph', 'scenarios/flannel-vxlan-pod-to-pod.yaml', '-o', 'mermaid').stdout,
    "the README's Mermaid block (knetlab graph scenarios/flannel-vxlan-pod-to-pod.yaml -o mermaid)",
  );
});
