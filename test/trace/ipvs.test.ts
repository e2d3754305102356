// IPVS mode's part of a trace (it runs in the VM only: this kernel has no ip_vs): `ipvsadm -Lnc`
// parsed from text written in ipvsadm's own format (print_conn: `%-3s %-6s %-11s %-18s %-18s %s`),
// matched to the probe by its source address and port, and shown as the virtual and real server.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ipvsConnectionFor, parseIpvsConnections } from '../../src/trace/ipvs.js';
import { type TraceReport, traceSummary } from '../../src/trace/report.js';
import { traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture, ProbeKey } from '../../src/trace/types.js';
import { matchGolden } from '../match-golden.js';
import { fixtureNamer } from './namer.js';

const text = readFileSync('test/trace/fixtures/ipvsadm-Lnc.txt', 'utf8');
const namer = fixtureNamer;

t.test('ipvsadm -Lnc: every entry, wide addresses pushing the columns right; the probe`s by protocol and source', async (t) => {
  const entries = parseIpvsConnections(text);
  matchGolden(t, 'trace/ipvs-connections.json', `${JSON.stringify(entries, null, 2)}\n`);
  t.match(ipvsConnectionFor(entries, 'tcp', '192.168.8.200:40010'), { virtual: '192.168.8.202:20651', destination: '172.20.0.3:80', state: 'ESTABLISHED' });
  t.equal(ipvsConnectionFor(entries, 'udp', '192.168.8.200:40010'), undefined, 'another protocol is another connection');
  t.same(parseIpvsConnections('IPVS connection entries\npro expire state       source             virtual            destination\n'), [], 'no connections');
});

/** The Cluster NodePort capture (node-2 without the pod), as if node-2 ran IPVS with this connection table. */
function report(ipvs: NamespaceCapture['ipvs']): TraceReport {
  const c = JSON.parse(readFileSync('test/trace/fixtures/nodeport-cluster-via-node-2.json', 'utf8')) as { probe: ProbeKey; captures: NamespaceCapture[] };
  const captures = c.captures.map((x) => (x.netns.startsWith('node-') ? { ...x, ipvs } : x));
  return {
    kind: 'http',
    from: { ref: 'host/client', netns: 'client', ip: '192.168.8.200' },
    to: { ref: 'nodeport/nginx@node-2', ip: '192.168.8.202', port: 20651, meaning: 'nodePort of service/nginx on node node-2' },
    mode: 'ipvs',
    sport: c.probe.sport,
    answered: true,
    ended: 'HTTP 200 from pod/nginx-1.default',
    result: traceResult(c.probe, captures),
  };
}

t.test('the summary names the virtual server and the real server IPVS chose; the JSON holds the connection', async (t) => {
  const r = report({ connections: text });
  t.same(r.result.ipvs, {
    netns: 'node-2',
    connection: { proto: 'tcp', expire: '14:59', state: 'ESTABLISHED', source: '192.168.8.200:40010', virtual: '192.168.8.202:20651', destination: '172.20.0.3:80' },
  });
  const summary = traceSummary(r, namer);
  t.ok(
    summary.includes(
      'DNAT in node/node-2: 192.168.8.202:20651 (node/node-2) -> 172.20.0.3:80 (pod/nginx-1), by IPVS (virtual server 192.168.8.202:20651 (node/node-2), real server 172.20.0.3:80 (pod/nginx-1))',
    ),
    summary.join('\n'),
  );
  matchGolden(t, 'trace-report/ipvs-nodeport-via-node-2.txt', `${summary.join('\n')}\n`);
  t.equal(JSON.parse(JSON.stringify(r)).result.ipvs.connection.destination, '172.20.0.3:80');
});

t.test('without ip_vs the capture is skipped, and the summary says so once', async (t) => {
  const r = report({ skipped: "ipvsadm -Lnc failed, the kernel's ip_vs is needed: Can't initialize ipvs: Protocol not available" });
  t.notOk(r.result.ipvs);
  const lines = traceSummary(r, namer).filter((l) => l.startsWith('IPVS'));
  t.same(lines, ["IPVS's connections not read in 3 namespaces: ipvsadm -Lnc failed, the kernel's ip_vs is needed: Can't initialize ipvs: Protocol not available"]);
});
