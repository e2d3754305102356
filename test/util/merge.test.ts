import t from 'tap';
import { strategicMerge } from '../../src/util/merge.js';

t.test('maps merge, scalars replace, null deletes', async (t) => {
  const svc = { spec: { type: 'NodePort', externalTrafficPolicy: 'Cluster', selector: { app: 'a' } } };
  t.same(strategicMerge(svc, { spec: { externalTrafficPolicy: 'Local' } }), { spec: { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'a' } } });
  t.same(strategicMerge(svc, { spec: { selector: null } }), { spec: { type: 'NodePort', externalTrafficPolicy: 'Cluster' } });
  t.same(svc.spec.externalTrafficPolicy, 'Cluster', 'the target is not changed');
});

t.test('lists with a merge key merge item by item', async (t) => {
  const svc = {
    spec: {
      ports: [
        { port: 80, targetPort: 80 },
        { port: 443, targetPort: 443 },
      ],
    },
  };
  t.same(strategicMerge(svc, { spec: { ports: [{ port: 80, nodePort: 30080 }] } }), {
    spec: {
      ports: [
        { port: 80, targetPort: 80, nodePort: 30080 },
        { port: 443, targetPort: 443 },
      ],
    },
  });
  t.same(strategicMerge(svc, { spec: { ports: [{ port: 443, $patch: 'delete' }] } }), { spec: { ports: [{ port: 80, targetPort: 80 }] } });
  const pod = { spec: { containers: [{ name: 'a', image: 'x' }] } };
  t.same(strategicMerge(pod, { spec: { containers: [{ name: 'b', image: 'y' }] } }), {
    spec: {
      containers: [
        { name: 'a', image: 'x' },
        { name: 'b', image: 'y' },
      ],
    },
  });
});

t.test('lists without a merge key are replaced', async (t) => {
  t.same(strategicMerge({ spec: { externalIPs: ['1.1.1.1'] } }, { spec: { externalIPs: ['2.2.2.2'] } }), { spec: { externalIPs: ['2.2.2.2'] } });
});
