// The topology pictures (src/report/graph-*.ts): golden SVG and Mermaid of scenarios of each network
// kind, a real trace drawn over one, every SVG well-formed XML, and strangers' names escaped.
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { graphMermaid, mermaidLabel } from '../../src/report/graph-mermaid.js';
import { type Graph, graphOf } from '../../src/report/graph-model.js';
import { graphSvg, xmlEscape } from '../../src/report/graph-svg.js';
import { traceOverlay } from '../../src/report/graph-trace.js';
import { namerFor } from '../../src/steps/trace-probe.js';
import type { TraceReport } from '../../src/trace/report.js';
import { traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture, ProbeKey } from '../../src/trace/types.js';
import { loadModel } from '../../src/validate.js';
import { matchGolden, matchGoldenDir, updateGolden } from '../match-golden.js';
import { xmlProblem } from './xml-check.js';

// One flannel VXLAN (three nodes, a host), one Calico VXLAN, one routed network without a tunnel, one in IPVS mode (kube-ipvs0).
const scenarios = ['nodeport-cluster-policy', 'calico-vxlan', 'host-gw', 'ipvs-mode'];
const goldens: string[] = [];

for (const name of scenarios) {
  t.test(`${name}: SVG and Mermaid`, async (t) => {
    const { model } = await loadModel(`scenarios/${name}.yaml`);
    const g = graphOf(model);
    const svg = graphSvg(g);
    t.equal(xmlProblem(svg), undefined, 'the SVG is well-formed XML');
    matchGolden(t, `graph/${name}.svg`, svg);
    matchGolden(t, `graph/${name}.mmd`, graphMermaid(g));
    goldens.push(`${name}.svg`, `${name}.mmd`);
  });
}

interface Capture {
  probe: ProbeKey;
  captures: NamespaceCapture[];
}

t.test('a real trace drawn on its scenario: hops in order, the DNAT and SNAT on node-2, the summary under it', async (t) => {
  // The capture of `knetlab trace host/client nodeport/nginx@node-2` on scenarios/nodeport-cluster-policy.yaml (test/trace/report.test.ts).
  const { model } = await loadModel('scenarios/nodeport-cluster-policy.yaml');
  const c = JSON.parse(readFileSync('test/trace/fixtures/nodeport-cluster-via-node-2.json', 'utf8')) as Capture;
  const report: TraceReport = {
    kind: 'http',
    from: { ref: 'host/client', netns: 'client', ip: '192.168.8.200' },
    to: { ref: 'nodeport/nginx@node-2', ip: '192.168.8.202', port: 20651, meaning: 'nodePort of service/nginx on node node-2' },
    mode: 'iptables',
    sport: c.probe.sport,
    answered: true,
    ended: 'HTTP 200 from pod/nginx-1.default',
    result: traceResult(c.probe, c.captures),
  };
  const overlay = traceOverlay(report, namerFor(model));
  t.same(overlay.hops, ['client', 'node-2', 'node-1', 'nginx-1.default']);
  t.same(
    overlay.marks.map((m) => [m.netns, m.kind]),
    [
      ['node-2', 'dnat'],
      ['node-2', 'snat'],
    ],
  );
  t.equal(overlay.marks[0]!.text, 'DNAT -> 172.20.0.3:80');
  t.match(overlay.marks[1]!.text, /^SNAT -> 172\.20\.1\.0:\d+$/);
  t.match(
    overlay.caption.find((l) => l.startsWith('path: ')),
    /^path: host\/client > node\/node-2 > node\/node-1 > pod\/nginx-1$/,
  );
  const svg = graphSvg(graphOf(model), overlay);
  t.equal(xmlProblem(svg), undefined, 'the SVG is well-formed XML');
  t.equal(svg.match(/class="hop"/g)?.length, 4, 'a disc for each hop');
  t.equal(svg.match(/class="hop-path"/g)?.length, 3, 'an arrow between each two');
  matchGolden(t, 'graph/trace-nodeport-cluster-via-node-2.svg', svg);
  // The README shows it: docs/images holds the same picture.
  const shown = 'docs/images/trace-nodeport-cluster-via-node-2.svg';
  if (updateGolden) writeFileSync(shown, svg);
  t.equal(readFileSync(shown, 'utf8'), svg, `${shown} is the golden's picture (UPDATE_GOLDEN=1 rewrites it)`);
  goldens.push('trace-nodeport-cluster-via-node-2.svg');
});

t.test('a drop: its rule beside a cross on the node that dropped it', async (t) => {
  const { model } = await loadModel('scenarios/networkpolicy.yaml');
  // knetlab trace pod/business-manager-0 service/mysql:3306 --kind tcp -o json on scenarios/networkpolicy.yaml (iptables mode).
  const report = JSON.parse(readFileSync('test/trace/fixtures/networkpolicy-dropped-after-dnat.report.json', 'utf8')) as TraceReport;
  const overlay = traceOverlay(report, namerFor(model));
  t.same(
    overlay.marks.map((m) => [m.netns, m.kind]),
    [
      ['node-1', 'dnat'],
      ['node-1', 'drop'],
    ],
  );
  const svg = graphSvg(graphOf(model), overlay);
  t.equal(xmlProblem(svg), undefined, 'the SVG is well-formed XML');
  t.match(svg, /class="drop-x"/);
  matchGolden(t, 'graph/trace-networkpolicy-dropped.svg', svg);
  goldens.push('trace-networkpolicy-dropped.svg');
});

t.test('a host outside the LAN range sits behind the LAN router, below it', async (t) => {
  const { model } = await loadModel('scenarios/calico-vxlan.yaml');
  const g = graphOf(model);
  t.same(
    g.hosts.map((h) => h.behindRouter),
    [false, false],
  );
  const behind: Graph = { ...g, hosts: [...g.hosts, { netns: 'internet', place: 'host/internet', ip: '203.0.113.2', behindRouter: true }] };
  t.match(graphMermaid(behind), /\n {2}h2\["host\/internet<br\/>203\.0\.113\.2"\] --- router\n/);
  const svg = graphSvg(behind);
  t.equal(xmlProblem(svg), undefined, 'the SVG is well-formed XML');
  const routerY = Number(/<rect x="20" y="([\d.]+)"[^>]*class="machine"/.exec(svg)?.[1]);
  const hostY = Number(/<rect x="[\d.]+" y="([\d.]+)"[^>]*class="machine"\/>\n<text[^>]*>host\/internet</.exec(svg)?.[1]);
  t.ok(hostY > routerY, `host/internet (y ${hostY}) is below the router (y ${routerY})`);
});

t.test('the XML check finds what is not well-formed', async (t) => {
  t.equal(xmlProblem('<svg a="1"><g/><text>a &amp; b</text></svg>'), undefined);
  for (const bad of ['<svg><g></svg>', '<svg>a & b</svg>', '<svg a="1" a="2"/>', '<svg a=1/>', '<svg/><svg/>', '<svg>\u0001</svg>', '<svg a="<"/>', 'x<svg/>'])
    t.not(xmlProblem(bad), undefined, bad);
});

t.test('no golden left over', async (t) => {
  matchGoldenDir(t, 'graph', goldens);
});

t.test("strangers' names: escaped in SVG (well-formed whatever they hold) and in Mermaid (only safe characters between the quotes)", async (t) => {
  const { model } = await loadModel('scenarios/calico-vxlan.yaml');
  const base = graphOf(model);
  t.equal(xmlEscape(`a<b>&"c'\u0001`), 'a&lt;b&gt;&amp;&quot;c&apos;\ufffd');
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
      const g: Graph = {
        ...base,
        scenario: a,
        hosts: [{ netns: 'x', place: `host/${b}`, ip: a, behindRouter: a.length % 2 === 0 }],
        services: [{ ...base.services[0]!, place: b }],
      };
      const svg = graphSvg(g, { hops: ['x'], marks: [{ netns: 'x', kind: 'drop', text: a }], caption: [b, a] });
      const problem = xmlProblem(svg);
      if (problem) throw new Error(`${JSON.stringify([a, b])}: ${problem}`);
      const label = mermaidLabel([a, b]);
      if (!/^"[A-Za-z0-9 ./:,@()_=+#;<>-]*"$/.test(label) || label.slice(1, -1).replaceAll('<br/>', '').includes('<')) throw new Error(`${JSON.stringify([a, b])}: ${label}`);
    }),
    { numRuns: 50 },
  );
  t.equal(mermaidLabel(['a"b', 'end <x>']), '"a#34;b<br/>end #60;x#62;"');
});
