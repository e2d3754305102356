// `knetlab plan -o json`: the model as data and, per step, what a probe's target stands for.
import t from 'tap';
import { planJson } from '../../src/report/plan-json.js';
import { validateScenario } from '../../src/validate.js';

t.test('plan -o json: steps[].wayIn for every http and udp step, with its text', async (t) => {
  const v = await validateScenario('scenarios/ways-in.yaml');
  const plan = planJson(v.model!, v.scenario!.steps) as { steps: { index: number; kind: string; name?: string; wayIn?: Record<string, unknown> }[] };
  t.equal(plan.steps.length, v.scenario!.steps.length);
  t.match(plan.steps[1], {
    index: 1,
    kind: 'http',
    name: 'local-1',
    wayIn: {
      way: 'nodePort',
      ip: '192.168.8.201',
      port: 30081,
      service: { namespace: 'default', name: 'web-local', port: 80 },
      entries: [{ node: 'node-1', source: 'external' }],
      endpoints: ['pod/web-a.default'],
      notes: ['Local'],
      text: 'service/web-local:80 via nodeport 30081 on node/node-1: endpoints pod/web-a (Local)',
    },
  });
  t.match(plan.steps[5]!.wayIn, { via: ['CNAME alias.default.svc.cluster.local -> web.default.svc.cluster.local'] });
  t.same(Object.keys(planJson(v.model!) as object).includes('steps'), false, 'without steps, no steps key');
});
