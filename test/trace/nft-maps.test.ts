// kube-proxy's verdict maps: the element a traced packet matched, and the Service its comment names;
// on `nft -j list maps ip` as this kernel's nft prints it (recorded on a held nftables scenario, and
// for the ClusterIP maps from nft 1.0.6 here on a table written as kube-proxy's).
import { readFileSync } from 'node:fs';
import t from 'tap';
import { vmapElement, vmapOf } from '../../src/trace/nft-maps.js';
import { traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture } from '../../src/trace/types.js';

const clusterIpMaps = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    {
      map: {
        family: 'ip',
        name: 'no-endpoint-services',
        table: 'kube-proxy',
        type: ['ipv4_addr', 'inet_proto', 'inet_service'],
        handle: 2,
        comment: 'vmap to drop or reject packets to services with no endpoints',
        map: 'verdict',
        elem: [[{ elem: { val: { concat: ['172.30.0.46', 'tcp', 80] }, comment: 'ns1/svc4:p80' } }, { goto: { target: 'reject-chain' } }]],
      },
    },
    {
      map: {
        family: 'ip',
        name: 'firewall-ips',
        table: 'kube-proxy',
        type: ['ipv4_addr', 'inet_proto', 'inet_service'],
        handle: 3,
        map: 'verdict',
        elem: [[{ elem: { val: { concat: ['5.6.7.8', 'tcp', 80] }, comment: 'ns5/svc5:p80' } }, { goto: { target: 'firewall-HVFWP5L3-ns5/svc5/tcp/p80' } }]],
      },
    },
    { map: { family: 'ip', name: 'service-ips', table: 'kube-proxy', map: 'verdict', elem: [[{ concat: ['10.96.0.10', 'udp', 53] }, { goto: { target: 'service-X' } }]] } },
  ],
});

t.test("a rule's vmap: its key's selectors and the map", async (t) => {
  t.same(vmapOf('ip daddr . meta l4proto . th dport vmap @no-endpoint-services'), { selectors: ['ip daddr', 'meta l4proto', 'th dport'], map: 'no-endpoint-services' });
  t.same(vmapOf('ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports'), { selectors: ['meta l4proto', 'th dport'], map: 'no-endpoint-nodeports' });
  t.equal(vmapOf('ip daddr 10.96.0.10 tcp dport 53 goto service-X'), undefined);
});

t.test('the element of the packet`s tuple, its comment (the Service) and verdict', async (t) => {
  const rule = 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services';
  t.same(vmapElement(clusterIpMaps, 'kube-proxy', rule, { dst: '172.30.0.46', proto: 'tcp', dport: 80 }), {
    table: 'kube-proxy',
    map: 'no-endpoint-services',
    key: '172.30.0.46 . tcp . 80',
    comment: 'ns1/svc4:p80',
    verdict: 'goto reject-chain',
  });
  t.match(vmapElement(clusterIpMaps, 'kube-proxy', 'ip daddr . meta l4proto . th dport vmap @firewall-ips', { dst: '5.6.7.8', proto: 'tcp', dport: 80 }), {
    comment: 'ns5/svc5:p80',
  });
  t.match(vmapElement(clusterIpMaps, 'kube-proxy', 'ip daddr . meta l4proto . th dport vmap @service-ips', { dst: '10.96.0.10', proto: 'udp', dport: 53 }), {
    key: '10.96.0.10 . udp . 53',
    verdict: 'goto service-X',
  });
  t.equal(vmapElement(clusterIpMaps, 'kube-proxy', rule, { dst: '172.30.0.46', proto: 'udp', dport: 80 }), undefined, 'no element: none');
  t.equal(vmapElement(clusterIpMaps, 'kube-proxy', rule, { dst: '172.30.0.46', proto: 'tcp' }), undefined, 'a field the packet lacks: none');
  t.equal(vmapElement('not json', 'kube-proxy', rule, { dst: '172.30.0.46', proto: 'tcp', dport: 80 }), undefined);
});

t.test('recorded on the kernel: the NodePort without local endpoints, by its element', async (t) => {
  const c = JSON.parse(readFileSync('test/trace/fixtures/nodeport-local-dropped-nftables.json', 'utf8')) as { captures: NamespaceCapture[] };
  const maps = c.captures.find((x) => x.netns === 'node-2')!.nftMaps!;
  t.same(vmapElement(maps, 'kube-proxy', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports', { dst: '192.168.8.202', proto: 'tcp', dport: 20651 }), {
    table: 'kube-proxy',
    map: 'no-endpoint-nodeports',
    key: 'tcp . 20651',
    comment: 'default/nginx',
    verdict: 'drop',
  });
});

t.test('a reject in the chain a vmap went to carries the element that sent it there', async (t) => {
  // The sandbox's rejected probe (test/trace/fixtures/nftables.json) to 172.30.0.44:80, with a map holding that Service.
  const f = JSON.parse(readFileSync('test/trace/fixtures/nftables.json', 'utf8')) as { probes: { name: string; sport: number; captures: NamespaceCapture[] }[] };
  const p = f.probes.find((x) => x.name === 'tcp-rejected')!;
  const maps = clusterIpMaps.replace('172.30.0.46', '172.30.0.44');
  const r = traceResult(
    { proto: 'tcp', sport: p.sport },
    p.captures.map((c) => (c.netns === 'r' ? { ...c, nftMaps: maps } : c)),
  );
  t.match(r.dropped, { chain: 'reject-chain', verdict: 'reject', element: { map: 'no-endpoint-services', key: '172.30.0.44 . tcp . 80', comment: 'ns1/svc4:p80' } });
  t.notOk(traceResult({ proto: 'tcp', sport: p.sport }, p.captures).dropped?.element, 'without the maps, no element');
});
