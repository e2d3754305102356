// Every address named as a scenario names it: nodes and their CNI devices, hosts, pods, Services.
import t from 'tap';
import { addressBook, named, namedWithPort } from '../../src/cluster/address-book.js';
import { modelOf } from '../helpers.js';

const scenario = (network: string) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: t}
cluster: {network: ${network}, dns: false}
nodes: [{name: node-1}, {name: node-2}]
hosts: [{name: client}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web-0, labels: {app: web}}, spec: {nodeName: node-2, containers: [{name: c, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: api-0, namespace: shop, labels: {app: api}}, spec: {nodeName: node-1, containers: [{name: c}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: agent, labels: {app: agent}}, spec: {nodeName: node-1, hostNetwork: true, containers: [{name: c}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: LoadBalancer, selector: {app: web}, externalIPs: [192.168.8.100], ports: [{port: 80}]}}
`;

t.test('flannel: nodes by device, hosts, pods (namespaced), Services by way in', async (t) => {
  const m = await modelOf(scenario('flannel-vxlan'));
  const book = addressBook(m);
  const svc = m.services.find((s) => s.name === 'web')!;
  t.same(book.get(m.nodes[0]!.ip), ['node/node-1'], "eth0 is the node's own name; the hostNetwork pod adds none");
  t.same(book.get('10.244.1.0'), ['node/node-2@flannel.1']);
  t.same(book.get('10.244.1.1'), ['node/node-2@cni0']);
  t.same(book.get(m.hosts[0]!.ip), ['host/client']);
  t.same(book.get(m.config.gateway), ['the LAN router']);
  t.same(book.get(m.pods.find((p) => p.name === 'web-0')!.ip!), ['pod/web-0']);
  t.same(book.get(m.pods.find((p) => p.name === 'api-0')!.ip!), ['pod/api-0.shop'], 'outside default, the namespace follows the name as in refs');
  t.same(book.get(svc.clusterIP!), ['service/web']);
  t.same(book.get('192.168.8.100'), ['externalip/web']);
  t.same(book.get(svc.loadBalancerIPs[0]!), ['loadbalancer/web']);
  t.notOk(book.has('169.254.1.1'), "flannel's pods have no link-local gateway");
  t.equal(named(book, '10.244.1.0'), '10.244.1.0 (node/node-2@flannel.1)');
  t.equal(named(book, '8.8.8.8'), '8.8.8.8', 'an address the cluster does not know stays bare');
  t.equal(namedWithPort(book, svc.clusterIP!, 80), `${svc.clusterIP}:80 (service/web)`);
  t.equal(namedWithPort(book, '8.8.8.8', 53), '8.8.8.8:53');
});

t.test("Calico: the tunnel's address and the pods' gateway", async (t) => {
  const book = addressBook(await modelOf(scenario('calico-vxlan')));
  t.same(book.get('10.244.0.64'), ['node/node-2@vxlan.calico']);
  t.same(book.get('169.254.1.1'), ["Calico's pod gateway"]);
});
