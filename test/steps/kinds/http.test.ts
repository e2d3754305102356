// The http step's size and expect.bytes: read, bounded, planned, and sent as the echo server's ?size=.
import t from 'tap';
import { formatPlan } from '../../../src/report/plan.js';
import { withSize } from '../../../src/steps/probes.js';
import { head, validateText } from '../../helpers.js';

const web = `manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {nodeName: node-2, containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}}
hosts:
  - name: client
steps:
`;

t.test('size and bytes are read, planned and bounded at their place', async (t) => {
  const ok = await validateText(`${head(2) + web}  - http: {from: host/client, to: "pod/web:80", size: 100000, count: 2}\n    expect: {bytes: 100000}\n`);
  t.same(ok.lines, []);
  t.match(formatPlan(ok.model!, ok.scenario!.steps), /pod\/web:80 = 10\.244\.1\.2:80 size 100000 bytes x2 +status 200, 100000 bytes/);

  const bad = await validateText(`${head(2) + web}  - http: {from: host/client, to: "pod/web:80", size: 16777217}\n    expect: {bytes: -1}\n`);
  t.equal(bad.lines.length, 2, bad.lines.join('\n'));
  t.match(bad.lines[0]!, /^scenario\.yaml:12:55: Expected `steps\[0\]\.http\.size` to be a number of bytes from 0 to 16777216 \(16 MiB\), got `16777217`/);
  t.match(bad.lines[1]!, /^scenario\.yaml:13:21: Expected `steps\[0\]\.expect\.bytes` to be a number of bytes from 0 to 16777216/);

  const fail = await validateText(`${head(2) + web}  - http: {from: host/client, to: "pod/web:80", size: 10}\n    expect: {fail: timeout, bytes: 10}\n`);
  t.equal(fail.problems.length, 1);
  t.equal(fail.problems[0]!.code, 'nothing-to-expect');
  t.match(fail.lines[0]!, /^scenario\.yaml:13:20: .*leaves nothing to check bytes against/);

  const twice = await validateText(`${head(2) + web}  - http: {from: host/client, to: "pod/web:80", path: "/?size=5", size: 10}\n`);
  t.equal(twice.problems[0]?.code, 'conflicting-fields');
  t.match(twice.lines[0]!, /^scenario\.yaml:12:73: /);
});

t.test("the echo server's query parameter", async (t) => {
  t.equal(withSize('/', undefined), '/');
  t.equal(withSize('/', 1500), '/?size=1500');
  t.equal(withSize('/x?a=1', 0), '/x?a=1&size=0');
});
