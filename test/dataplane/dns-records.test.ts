// Cluster DNS answers as CoreDNS's kubernetes plugin gives them. Golden files
// (test/golden/dns/NAME.txt; `UPDATE_GOLDEN=1 npx tap test/dataplane/dns-records.test.ts` rewrites
// them: review the diff) hold the readable dump of every name and answer.
import t from 'tap';
import type { Model } from '../../src/cluster/types.js';
import { dashedIp, formatDnsZone, lookupDns, renderDnsZone, reverseName, type DnsZone } from '../../src/dataplane/dns-records.js';
import { modelOf } from '../helpers.js';
import { matchGolden, matchGoldenDir } from '../match-golden.js';

function scenario(manifests: string, cluster = ''): string {
  return `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: dns}
${cluster ? `cluster: {${cluster}}\n` : ''}nodes:
  - name: node-1
  - name: node-2
manifests:
${manifests}`;
}

const deployment = (name: string, replicas: number, ports = '[{name: http, containerPort: 80}]', ns = 'default') =>
  `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}, namespace: ${ns}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {containers: [{name: c, image: x, ports: ${ports}}]}}}}\n`;
const service = (name: string, spec: string, ns = 'default') => `  - {apiVersion: v1, kind: Service, metadata: {name: ${name}, namespace: ${ns}}, spec: {${spec}}}\n`;

const basic = scenario(
  deployment('web', 2) +
    service('web', 'selector: {app: web}, clusterIP: 10.96.0.80, ports: [{name: http, port: 80, targetPort: 80}, {name: https, port: 443, targetPort: 8443}]') +
    deployment('db', 2, '[{name: pg, containerPort: 5432}]', 'data') +
    service('db', 'clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]', 'data') +
    service('ext', 'type: ExternalName, externalName: my.database.example.com') +
    service('alias', 'type: ExternalName, externalName: web.default.svc.cluster.local.') +
    service('empty', 'clusterIP: None, selector: {app: nothing}, ports: [{port: 80}]'),
);

const customDomain = scenario(deployment('web', 1) + service('web', 'selector: {app: web}, ports: [{port: 80}]'), 'clusterDomain: corp.example, serviceCIDR: 10.100.0.0/16');

const goldens: Record<string, string> = { basic, 'custom-domain': customDomain };

t.test('golden zones', async (t) => {
  for (const [name, text] of Object.entries(goldens)) matchGolden(t, `dns/${name}.txt`, formatDnsZone(renderDnsZone(await modelOf(text))));
});

t.test('every golden file belongs to a case', async (t) =>
  matchGoldenDir(
    t,
    'dns',
    Object.keys(goldens).map((n) => `${n}.txt`),
  ),
);

t.test('lookups', async (t) => {
  const model = await modelOf(basic);
  const zone = renderDnsZone(model);
  const q = (name: string, type = 'A') => lookupDns(zone, name, type);
  const data = (name: string, type = 'A') => q(name, type).answer.map((r) => `${r.type} ${r.data}`);
  const pods = (deploy: string) => model.pods.filter((p) => p.owner?.name === deploy).map((p) => p.ip!);
  const [db0, db1] = pods('db');
  const [web0, web1] = pods('web');

  t.test('ClusterIP Service: A, SRV per named port, additional A, 5 s TTL', async (t) => {
    t.same(q('web.default.svc.cluster.local'), {
      rcode: 'NOERROR',
      answer: [{ name: 'web.default.svc.cluster.local', type: 'A', ttl: 5, data: '10.96.0.80' }],
      authority: [],
      additional: [],
    });
    t.same(data('WEB.Default.svc.cluster.local.'), ['A 10.96.0.80'], 'case and the final dot do not matter');
    t.same(data('_http._tcp.web.default.svc.cluster.local', 'SRV'), ['SRV 0 100 80 web.default.svc.cluster.local']);
    t.same(q('_https._tcp.web.default.svc.cluster.local', 'SRV').additional, [{ name: 'web.default.svc.cluster.local', type: 'A', ttl: 5, data: '10.96.0.80' }]);
    t.same(data('_http._tcp.web.default.svc.cluster.local'), ['A 10.96.0.80'], 'an SRV name answers A too');
    t.same(data('web.default.svc.cluster.local', 'SRV'), ['SRV 0 50 80 web.default.svc.cluster.local', 'SRV 0 50 443 web.default.svc.cluster.local'], 'every port, weights split');
    t.equal(q('_http._udp.web.default.svc.cluster.local').rcode, 'NXDOMAIN', 'no such port and protocol');
    t.same(q('web.default.svc.cluster.local', 'AAAA'), { rcode: 'NOERROR', answer: [], authority: [zone.zones[0]!.soa], additional: [] }, 'NODATA with the SOA');
    t.same(data(`${dashedIp(web0!)}.web.default.svc.cluster.local`), [`A ${web0}`], 'an endpoint name of a ClusterIP Service');
  });

  t.test('headless Service: ready endpoints, SRV to each endpoint name', async (t) => {
    t.same(data('db.data.svc.cluster.local').sort(), [`A ${db0}`, `A ${db1}`].sort());
    t.same(data('_pg._tcp.db.data.svc.cluster.local', 'SRV').sort(), [db0, db1].map((ip) => `SRV 0 50 5432 ${dashedIp(ip!)}.db.data.svc.cluster.local`).sort());
    t.same(
      q('_pg._tcp.db.data.svc.cluster.local', 'SRV')
        .additional.map((r) => `${r.name} ${r.data}`)
        .sort(),
      [db0, db1].map((ip) => `${dashedIp(ip!)}.db.data.svc.cluster.local ${ip}`).sort(),
    );
    t.same(data(`${dashedIp(db1!)}.db.data.svc.cluster.local`), [`A ${db1}`]);
    t.equal(q('empty.default.svc.cluster.local').rcode, 'NXDOMAIN', 'a headless Service without endpoints is NXDOMAIN');
  });

  t.test('headless Service: a not-ready endpoint is left out', async (t) => {
    // The model holds source positions that structuredClone refuses: copy only what changes.
    const m: Model = {
      ...model,
      endpointSlices: model.endpointSlices.map((s) => (s.service === 'db' ? { ...s, endpoints: s.endpoints.map((e, i) => ({ ...e, ready: i !== 0 })) } : s)),
    };
    const slice = m.endpointSlices.find((s) => s.service === 'db')!;
    const z = renderDnsZone(m);
    t.same(
      lookupDns(z, 'db.data.svc.cluster.local', 'A').answer.map((r) => r.data),
      [slice.endpoints[1]!.ip],
    );
    t.equal(lookupDns(z, `${dashedIp(slice.endpoints[0]!.ip)}.db.data.svc.cluster.local`, 'A').rcode, 'NXDOMAIN');
  });

  t.test('ExternalName: a CNAME; inside the cluster domain it is followed', async (t) => {
    t.same(data('ext.default.svc.cluster.local'), ['CNAME my.database.example.com'], 'no upstream: the CNAME alone');
    t.same(data('ext.default.svc.cluster.local', 'CNAME'), ['CNAME my.database.example.com']);
    t.same(q('ext.default.svc.cluster.local', 'SRV').answer, [], 'no SRV for an ExternalName');
    t.same(q('alias.default.svc.cluster.local').answer, [
      { name: 'alias.default.svc.cluster.local', type: 'CNAME', ttl: 5, data: 'web.default.svc.cluster.local' },
      { name: 'web.default.svc.cluster.local', type: 'A', ttl: 5, data: '10.96.0.80' },
    ]);
  });

  t.test('pods: a-b-c-d.NS.pod, verified or insecure', async (t) => {
    t.same(data(`${dashedIp(web1!)}.default.pod.cluster.local`), [`A ${web1}`]);
    t.same(data('1-2-3-4.default.pod.cluster.local'), ['A 1.2.3.4'], 'insecure (kubeadm): any address');
    t.equal(q('1-2-3-4.nowhere.pod.cluster.local').rcode, 'NXDOMAIN', 'but only in a namespace that exists');
    t.equal(q('1-2-3-400.default.pod.cluster.local').rcode, 'NXDOMAIN');
    t.equal(q('01-2-3-4.default.pod.cluster.local').rcode, 'NXDOMAIN');
    const verified = renderDnsZone(model, { pods: 'verified' });
    t.equal(lookupDns(verified, '1-2-3-4.default.pod.cluster.local', 'A').rcode, 'NXDOMAIN', 'verified: only real pods');
    t.equal(lookupDns(verified, `${dashedIp(web1!)}.data.pod.cluster.local`, 'A').rcode, 'NXDOMAIN', 'verified: in their own namespace');
    t.same(
      lookupDns(verified, `${dashedIp(db0!)}.data.pod.cluster.local`, 'A').answer.map((r) => r.data),
      [db0],
    );
  });

  t.test('PTR: Service IPs name the Service, endpoint IPs their endpoint name', async (t) => {
    t.equal(reverseName('10.96.0.80'), '80.0.96.10.in-addr.arpa');
    t.same(data('80.0.96.10.in-addr.arpa', 'PTR'), ['PTR web.default.svc.cluster.local']);
    t.same(data('10.0.96.10.in-addr.arpa', 'PTR'), ['PTR kube-dns.kube-system.svc.cluster.local']);
    t.same(data(reverseName(db0!), 'PTR'), [`PTR ${dashedIp(db0!)}.db.data.svc.cluster.local`]);
    t.same(data(reverseName(web0!), 'PTR'), [`PTR ${dashedIp(web0!)}.web.default.svc.cluster.local`]);
    const other = lookupDns(zone, '9.9.9.9.in-addr.arpa', 'PTR');
    t.equal(other.rcode, 'NXDOMAIN', 'an address nobody has');
    t.equal(other.authority[0]?.name, 'in-addr.arpa', 'with the reverse zone SOA');
  });

  t.test('NXDOMAIN inside the cluster domain, NODATA for its structure, REFUSED outside', async (t) => {
    for (const name of [
      'nope.default.svc.cluster.local',
      'web.nowhere.svc.cluster.local',
      'nowhere.svc.cluster.local',
      'web.default.cluster.local',
      'web.default.default.svc.cluster.local',
      'x.y.web.default.svc.cluster.local',
    ]) {
      t.same(q(name), { rcode: 'NXDOMAIN', answer: [], authority: [zone.zones[0]!.soa], additional: [] }, name);
    }
    for (const name of ['cluster.local', 'svc.cluster.local', 'pod.cluster.local', 'default.svc.cluster.local', 'data.svc.cluster.local', 'kube-system.pod.cluster.local']) {
      t.same(q(name), { rcode: 'NOERROR', answer: [], authority: [zone.zones[0]!.soa], additional: [] }, name);
    }
    for (const name of ['example.com', 'web.default.svc', 'local', 'cluster.local.example.com', 'notcluster.local']) {
      t.same(q(name), { rcode: 'REFUSED', answer: [], authority: [], additional: [] }, name);
    }
  });

  t.test('the apex: SOA and NS as CoreDNS gives them', async (t) => {
    const soa = q('cluster.local', 'SOA').answer[0]!;
    t.match(soa, { name: 'cluster.local', type: 'SOA', ttl: 5, data: /^ns\.dns\.cluster\.local hostmaster\.cluster\.local \d+ 7200 1800 86400 5$/ });
    t.same(q('cluster.local', 'NS'), {
      rcode: 'NOERROR',
      answer: [{ name: 'cluster.local', type: 'NS', ttl: 5, data: 'kube-dns.kube-system.svc.cluster.local' }],
      authority: [],
      additional: [{ name: 'kube-dns.kube-system.svc.cluster.local', type: 'A', ttl: 5, data: '10.96.0.10' }],
    });
    t.same(data('ns.dns.cluster.local'), ['A 10.96.0.10']);
    t.same(data('_dns._udp.kube-dns.kube-system.svc.cluster.local', 'SRV'), ['SRV 0 100 53 kube-dns.kube-system.svc.cluster.local']);
    t.same(
      data('kube-dns.kube-system.svc.cluster.local', 'SRV'),
      ['SRV 0 33 53 kube-dns.kube-system.svc.cluster.local', 'SRV 0 33 9153 kube-dns.kube-system.svc.cluster.local'],
      'ports 53/UDP and 53/TCP give one SRV, as CoreDNS dedups by target and port',
    );
  });

  t.test('the zone is plain data, deterministic, and changes with the model', async (t) => {
    const again = renderDnsZone(await modelOf(basic));
    t.same(JSON.parse(JSON.stringify(zone)) as DnsZone, zone, 'JSON round trip');
    t.same(again, zone, 'same model, same zone (SOA serial included)');
    const m: Model = { ...model, services: model.services.map((s) => (s.name === 'web' ? { ...s, clusterIP: '10.96.0.81' } : s)) };
    const changed = renderDnsZone(m);
    t.same(
      lookupDns(changed, 'web.default.svc.cluster.local', 'A').answer.map((r) => r.data),
      ['10.96.0.81'],
    );
    t.not(changed.zones[0]!.soa.data, zone.zones[0]!.soa.data, 'a new serial');
  });

  t.test('another cluster domain', async (t) => {
    const z = renderDnsZone(await modelOf(customDomain));
    t.equal(z.domain, 'corp.example');
    t.same(lookupDns(z, 'web.default.svc.corp.example', 'A').rcode, 'NOERROR');
    t.equal(lookupDns(z, 'web.default.svc.cluster.local', 'A').rcode, 'REFUSED');
    t.same(
      lookupDns(z, 'corp.example', 'NS').additional.map((r) => r.data),
      ['10.100.0.10'],
    );
  });
});
