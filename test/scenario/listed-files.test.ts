import t from 'tap';
import { listedFiles } from '../../src/scenario/listed-files.js';

t.test('the scenario and the files its manifests and apply steps name, from its folder', async (t) => {
  const text = `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: x}
nodes: [{name: node-1}]
manifests:
  - objects.yaml
  - {apiVersion: v1, kind: Namespace, metadata: {name: team}}
  - /abs/more.yaml
  - objects.yaml
steps:
  - apply: later/svc.yaml
  - sleep: 1s
`;
  t.same(listedFiles('/lab/s.yaml', text), ['/lab/s.yaml', '/lab/objects.yaml', '/abs/more.yaml', '/lab/later/svc.yaml']);
});

t.test('an invalid scenario still names its files; text that is not YAML names only itself', async (t) => {
  t.same(listedFiles('/lab/s.yaml', 'manifests: [a.yaml]\nsteps: [{apply: b.yaml}, 3]\n'), ['/lab/s.yaml', '/lab/a.yaml', '/lab/b.yaml']);
  t.same(listedFiles('/lab/s.yaml', 'manifests: [a.yaml\n'), ['/lab/s.yaml']);
  t.same(listedFiles('/lab/s.yaml', '- a\n- b\n'), ['/lab/s.yaml']);
});
