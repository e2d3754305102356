import t from 'tap';
import { formatTarget, parseAddress, parseSource, parseTarget } from '../../src/scenario/refs.js';

t.test('sources', async (t) => {
  t.same(parseSource('host/client'), { ok: true, value: { kind: 'host', name: 'client' } });
  t.same(parseSource('pod/web-0.shop'), { ok: true, value: { kind: 'pod', name: 'web-0', namespace: 'shop' } });
  t.same(parseSource('deployment/nginx'), { ok: true, value: { kind: 'deployment', name: 'nginx' } });
  t.equal(parseSource('service/nginx').ok, false);
  t.equal(parseSource('pod/').ok, false);
});

t.test('targets of every form in the format', async (t) => {
  t.same(parseTarget('service/nginx'), { ok: true, value: { kind: 'service', name: 'nginx' } });
  t.same(parseTarget('service/kube-dns.kube-system:dns'), { ok: true, value: { kind: 'service', name: 'kube-dns', namespace: 'kube-system', port: 'dns' } });
  t.same(parseTarget('nodeport/nginx:80@node-2'), { ok: true, value: { kind: 'nodeport', name: 'nginx', port: 80, node: 'node-2' } });
  t.same(parseTarget('nodeport/nginx@192.168.8.201'), { ok: true, value: { kind: 'nodeport', name: 'nginx', node: '192.168.8.201' } });
  t.same(parseTarget('externalip/nginx'), { ok: true, value: { kind: 'externalip', name: 'nginx' } });
  t.same(parseTarget('loadbalancer/web.shop:443'), { ok: true, value: { kind: 'loadbalancer', name: 'web', namespace: 'shop', port: 443 } });
  t.same(parseTarget('pod/a:8080'), { ok: true, value: { kind: 'pod', name: 'a', port: 8080 } });
  t.same(parseTarget('node/node-2:9999'), { ok: true, value: { kind: 'node', name: 'node-2', port: 9999 } });
  t.same(parseTarget('10.0.0.1:53'), { ok: true, value: { kind: 'ip', ip: '10.0.0.1', port: 53 } });
  t.same(parseTarget('http://nginx.default/x?y=1'), { ok: true, value: { kind: 'url', scheme: 'http', host: 'nginx.default', path: '/x?y=1' } });
  t.same(parseTarget('http://web:8080'), { ok: true, value: { kind: 'url', scheme: 'http', host: 'web', port: 8080, path: '/' } });
  t.equal(parseTarget('nodeport/nginx').ok, false, 'a nodeport needs its node');
  t.equal(parseTarget('service/nginx:70000').ok, false);
  t.equal(parseTarget('node/n1:http').ok, false, 'a node port is a number');
  t.equal(parseTarget('svc/nginx').ok, false);
  t.equal(parseTarget('300.0.0.1:80').ok, false);
  for (const s of ['service/nginx.shop:80', 'nodeport/nginx:http@node-1', 'host/client:9999', '10.0.0.1:53']) {
    const p = parseTarget(s);
    t.equal(p.ok && formatTarget(p.value), s, `${s} formats back`);
  }
});

t.test('a DNS name, with a port or not, is a target looked up in the source', async (t) => {
  t.same(parseTarget('db'), { ok: true, value: { kind: 'name', host: 'db' } });
  t.same(parseTarget('web.default'), { ok: true, value: { kind: 'name', host: 'web.default' } });
  t.same(parseTarget('db.other.svc.cluster.local:5432'), { ok: true, value: { kind: 'name', host: 'db.other.svc.cluster.local', port: 5432 } });
  t.same(parseTarget('db.other.svc.cluster.local.:5432'), { ok: true, value: { kind: 'name', host: 'db.other.svc.cluster.local.', port: 5432 } }, 'absolute');
  t.same(parseTarget('http://db:5432/'), { ok: true, value: { kind: 'url', scheme: 'http', host: 'db', port: 5432, path: '/' } });
  t.match(parseTarget('db:pg'), { ok: false, reason: /port number after a DNS name/ });
  t.match(parseTarget('db:'), { ok: false, reason: /port number after a DNS name/ });
  t.match(parseTarget('db:0'), { ok: false, reason: /port from 1 to 65535/ });
  t.match(parseTarget('db_1:53'), { ok: false, reason: /DNS name NAME\[:PORT\]/ });
  t.match(parseTarget('-db:53'), { ok: false, reason: /DNS name/ });
  t.match(parseTarget('a..b'), { ok: false, reason: /DNS name/ });
  t.match(parseTarget(`${'a'.repeat(64)}.x`), { ok: false, reason: /DNS name/ }, 'a label of 64');
  t.match(parseTarget('10.1.2:80'), { ok: false, reason: /IPv4 address/ }, 'glibc would read it as an address');
  t.match(parseTarget('web@node-1'), { ok: false, reason: /service\/NAME/ });
  for (const s of ['db', 'db.other:5432', 'x.y.z.:53']) {
    const p = parseTarget(s);
    t.equal(p.ok && formatTarget(p.value), s, `${s} formats back`);
  }
});

t.test('addresses', async (t) => {
  t.same(parseAddress('node/node-1@cni0'), { ok: true, value: { kind: 'node', name: 'node-1', device: 'cni0' } });
  t.same(parseAddress('node/node-1@flannel.1'), { ok: true, value: { kind: 'node', name: 'node-1', device: 'flannel.1' } });
  t.same(parseAddress('192.168.8.100'), { ok: true, value: { kind: 'ip', ip: '192.168.8.100' } });
  t.same(parseAddress('service/nginx.default'), { ok: true, value: { kind: 'service', name: 'nginx', namespace: 'default' } });
  t.equal(parseAddress('deployment/nginx').ok, false);
});
