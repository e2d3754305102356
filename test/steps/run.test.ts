// The rules an http or udp step is judged by carry the model's address book: the sources seen are named.
import t from 'tap';
import { responseRules } from '../../src/steps/run.js';
import { head, modelOf } from '../helpers.js';

t.test('responseRules names an address as the address book does', async (t) => {
  const model = await modelOf(`${head(2, '  dns: false')}hosts: [{name: client}]\n`);
  const node2 = model.nodes.find((n) => n.name === 'node-2')!;
  const rules = responseRules(model, 0, { kind: 'service', name: 'web' }, { kind: 'host', name: 'client', ip: model.hosts[0]!.ip }, {}, () => undefined);
  t.equal(rules.name(node2.addresses['flannel.1']!), `${node2.addresses['flannel.1']} (node/node-2@flannel.1)`);
  t.equal(rules.name(model.hosts[0]!.ip), `${model.hosts[0]!.ip} (host/client)`);
  t.equal(rules.name('203.0.113.9'), '203.0.113.9', 'an address the cluster does not know stays bare');
});
