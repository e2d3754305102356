// The references of an exec command resolved in the model at that step: an address, or address:port.
import t from 'tap';
import { resolveWord } from '../../src/cluster/command-words.js';
import { parseWord, type CommandWord } from '../../src/scenario/command-words.js';
import { head, modelOf } from '../helpers.js';

const word = (w: string): CommandWord => {
  const p = parseWord(w);
  if (!p.ok) throw new Error(p.reason);
  return p.value;
};

const scenario = `${head(2, '  dns: false')}hosts: [{name: client, ip: 192.168.8.100}]
manifests:
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      type: LoadBalancer
      clusterIP: 10.96.0.50
      externalIPs: [80.11.12.10]
      selector: {app: web}
      ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}, {name: dns, port: 53, protocol: UDP, nodePort: 30053}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: nginx, ports: [{name: web, containerPort: 8080}]}]}
`;

t.test('each reference becomes its address, with its port where it names one', async (t) => {
  const m = await modelOf(scenario);
  const lb = m.services.find((s) => s.name === 'web')!.loadBalancerIPs[0]!;
  const cases: [string, string][] = [
    ['{{service/web}}', '10.96.0.50'],
    ['{{service/web:http}}', '10.96.0.50:80'],
    ['{{service/web:53}}', '10.96.0.50:53'],
    ['{{nodeport/web@node-2}}', '192.168.8.12:30080'],
    ['{{nodeport/web:dns@node-1}}', '192.168.8.11:30053'],
    ['{{externalip/web}}', '80.11.12.10'],
    ['{{externalip/web:http}}', '80.11.12.10:80'],
    ['{{loadbalancer/web}}', lb],
    ['{{pod/web-0}}', '10.244.0.2'],
    ['{{pod/web-1:web}}', '10.244.1.2:8080'],
    ['{{deployment/web}}', '10.244.0.2'],
    ['{{node/node-1}}', '192.168.8.11'],
    ['{{node/node-2@cni0}}', '10.244.1.1'],
    ['{{node/node-2:10250}}', '192.168.8.12:10250'],
    ['{{host/client}}', '192.168.8.100'],
    ['http://{{service/web:http}}/a?b={{pod/web-0}}', 'http://10.96.0.50:80/a?b=10.244.0.2'],
    ['\\{{service/web}}', '{{service/web}}'],
  ];
  for (const [w, want] of cases) t.same(resolveWord(m, word(w)), { ok: true, value: want }, w);
});

t.test('a reference that names nothing says which', async (t) => {
  const m = await modelOf(scenario);
  t.match(resolveWord(m, word('x{{service/nope}}')), { ok: false, reason: /^\{\{service\/nope\}\}: there is no service\/nope/ });
  t.match(resolveWord(m, word('{{nodeport/web@node-9}}')), { ok: false, reason: /there is no node node-9/ });
  t.match(resolveWord(m, word('{{service/web:https}}')), { ok: false, reason: /has no port https/ });
  t.match(resolveWord(m, word('{{pod/web-0:grpc}}')), { ok: false, reason: /declares no port named grpc/ });
});
