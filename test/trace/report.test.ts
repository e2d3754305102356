// A trace as people read it (src/trace/report.ts), from real captures of knetlab scenarios on this
// kernel (test/trace/fixtures/): golden text, and the lines a failed step's report shows.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { commentOf, outcomeLine, renderTrace, type TraceReport, traceSummary } from '../../src/trace/report.js';
import { traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture, ProbeKey } from '../../src/trace/types.js';
import { matchGolden } from '../match-golden.js';
import { fixtureNamer } from './namer.js';

interface Capture {
  probe: ProbeKey;
  captures: NamespaceCapture[];
}
const namer = fixtureNamer;

function report(fixture: string, mode: TraceReport['mode'], answered: boolean, ended: string): TraceReport {
  const c = JSON.parse(readFileSync(`test/trace/fixtures/${fixture}.json`, 'utf8')) as Capture;
  return {
    kind: 'http',
    from: { ref: 'host/client', netns: 'client', ip: '192.168.8.200' },
    to: { ref: 'nodeport/nginx@node-2', ip: '192.168.8.202', port: 20651, meaning: 'nodePort of service/nginx on node node-2' },
    mode,
    sport: c.probe.sport,
    answered,
    ended,
    result: traceResult(c.probe, c.captures),
  };
}

t.test('through a node without the pod (Cluster): DNAT and masquerade there, named with the rules that did them', async (t) => {
  const r = report('nodeport-cluster-via-node-2', 'iptables', true, 'HTTP 200 from pod/nginx-1.default');
  const summary = traceSummary(r, namer);
  t.equal(summary[0], 'answered: HTTP 200 from pod/nginx-1.default');
  t.equal(summary[1], 'path: host/client > node/node-2 > node/node-1 > pod/nginx-1');
  t.match(summary[2], /^VXLAN from node\/node-2 by flannel\.1: 192\.168\.8\.202 \(node\/node-2\) -> 192\.168\.8\.201 \(node\/node-1\), UDP 8472, VNI 1 \(from the kernel: /);
  summary.splice(2, 1);
  t.match(summary[2], /^DNAT in node\/node-2: 192\.168\.8\.202:20651 \(node\/node-2\) -> 172\.20\.0\.3:80 \(pod\/nginx-1\), by nat KUBE-SEP-\w+ "default\/nginx"$/);
  // KUBE-MARK-MASQ's comment says "masquerade": the rule that masqueraded is KUBE-POSTROUTING's.
  t.match(summary[3], /^SNAT in node\/node-2: 192\.168\.8\.200:\d+ \(host\/client\) -> 172\.20\.1\.0:\d+ \(node\/node-2@flannel\.1\), by nat KUBE-POSTROUTING/);
  matchGolden(t, 'trace-report/nodeport-cluster-via-node-2.txt', `${renderTrace(r, namer).join('\n')}\n`);
});

t.test('Local policy, a node without the pod: the dropping rule, in iptables and nftables mode', async (t) => {
  const ipt = report('nodeport-local-dropped-iptables', 'iptables', false, 'timeout');
  t.match(
    outcomeLine(ipt, namer),
    /^dropped in node\/node-2 by filter KUBE-EXTERNAL-SERVICES "default\/nginx has no local endpoints": -4 -t filter -A KUBE-EXTERNAL-SERVICES .* -j DROP$/,
  );
  t.equal(traceSummary(ipt, namer).at(-1), 'no NAT on the way');
  matchGolden(t, 'trace-report/nodeport-local-dropped-iptables.txt', `${renderTrace(ipt, namer).join('\n')}\n`);
  const nft = report('nodeport-local-dropped-nftables', 'nftables', false, 'timeout');
  t.match(
    outcomeLine(nft, namer),
    /^dropped in node\/node-2 by kube-proxy nodeport-endpoints-check: .*vmap @no-endpoint-nodeports; @no-endpoint-nodeports element tcp \. 20651 "default\/nginx": drop$/,
    "the map's element names the Service",
  );
  matchGolden(t, 'trace-report/nodeport-local-dropped-nftables.txt', `${renderTrace(nft, namer).join('\n')}\n`);
});

t.test('namespaces not armed (more than armed at once): the summary names them in one line', async (t) => {
  const r = { ...report('nodeport-local-dropped-iptables', 'iptables', false, 'timeout'), notTraced: ['web-68.default', 'web-69.default'] };
  t.equal(traceSummary(r, namer).at(-1), 'not traced (more namespaces than are armed at once): pod/web-68, pod/web-69');
  t.notOk(
    traceSummary(report('nodeport-local-dropped-iptables', 'iptables', false, 'timeout'), namer).some((l) => l.startsWith('not traced')),
    'nothing said when all were armed',
  );
});

t.test('no answer and nothing dropped: says so, and where the probe was last seen', async (t) => {
  const r = report('nodeport-local-dropped-iptables', 'iptables', false, 'timeout');
  const { dropped: _, ...rest } = r.result;
  t.equal(outcomeLine({ ...r, result: rest }, namer), 'no answer (timeout); no traced rule dropped it, last seen in node/node-2');
});

t.test("kube-proxy's comments, from iptables and nft rules", async (t) => {
  t.equal(commentOf('-A KUBE-SEP-X -p tcp -m comment --comment "default/web:http" -j DNAT --to-destination 10.1.0.2:80'), 'default/web:http');
  t.equal(commentOf('-A KUBE-SERVICES -m comment --comment kube-dns -j RETURN'), 'kube-dns');
  t.equal(commentOf('ip daddr 10.96.0.10 tcp dport 53 comment "kube-system/kube-dns:dns-tcp" goto service-X'), 'kube-system/kube-dns:dns-tcp');
  t.equal(commentOf('-A FORWARD -j ACCEPT'), undefined);
});

t.test('a policy drop after the DNAT: the DNAT is told by its rule, as conntrack never confirmed the connection', async (t) => {
  // knetlab trace pod/business-manager-0 service/mysql:3306 --kind tcp -o json on scenarios/networkpolicy.yaml (iptables mode).
  const r = JSON.parse(readFileSync('test/trace/fixtures/networkpolicy-dropped-after-dnat.report.json', 'utf8')) as TraceReport;
  const summary = traceSummary(r, namer);
  t.match(summary[0], /^dropped in node\/node-1 by filter KNP-TO-\w+ "default\/mysql-0: ingress not allowed by default\/mysql-allow-data-layer"/);
  t.match(summary[2], /^DNAT in node\/node-1: 10\.254\.\d+\.\d+:3306 -> 172\.30\.0\.\d+:3306, by nat KUBE-SEP-\w+ "default\/mysql:mysql" \(its connection was not confirmed\)$/);
  t.notOk(summary.includes('no NAT on the way'), 'it does not say there was no NAT');
});
