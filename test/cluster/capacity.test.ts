import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { podAddressRange } from '../../src/cluster/capacity.js';
import type { Node } from '../../src/cluster/types.js';
import { formatProblem } from '../../src/errors.js';
import { validateScenario } from '../../src/validate.js';
import { head } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'knetlab-capacity-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
async function lines(text: string): Promise<string[]> {
  const file = join(dir, `s${++n}.yaml`);
  writeFileSync(file, text);
  return (await validateScenario(file)).problems.map((p) => formatProblem(p).replace(`${dir}/`, ''));
}

const deployment = (name: string, replicas: number, extra = '') =>
  `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {${extra}containers: [{name: c}]}}}}\n`;

t.test('host-local IPAM hands out .2 up to the address before broadcast', async (t) => {
  t.same(podAddressRange({ podCIDR: '10.244.0.0/24' } as Node, 'flannel-vxlan'), { first: '10.244.0.2', last: '10.244.0.254', size: 253 });
  t.same(podAddressRange({ podCIDR: '10.244.9.0/30' } as Node, 'host-gw'), { first: '10.244.9.2', last: '10.244.9.2', size: 1 });
});

t.test("Calico IPAM hands out every address of the block but the tunnel's (.0 with VXLAN or IPIP)", async (t) => {
  t.same(podAddressRange({ podCIDR: '10.244.0.64/26' } as Node, 'calico-vxlan'), { first: '10.244.0.65', last: '10.244.0.127', size: 63 });
  t.same(podAddressRange({ podCIDR: '10.244.0.64/26' } as Node, 'calico-ipip'), { first: '10.244.0.65', last: '10.244.0.127', size: 63 });
  t.same(podAddressRange({ podCIDR: '10.244.0.64/26' } as Node, 'calico-bgp'), { first: '10.244.0.64', last: '10.244.0.127', size: 64 });
});

t.test('253 pods fit a /24; the 254th is an error naming the node and its subnet', async (t) => {
  t.same(await lines(`${head(1, '  dns: false')}manifests:\n${deployment('a', 250)}${deployment('b', 3)}`), [], '253 pods fit');
  t.same(await lines(`${head(1, '  dns: false')}manifests:\n${deployment('a', 250)}${deployment('b', 4)}`), [
    "s2.yaml:10:62: node node-1's pod subnet 10.244.0.0/24 holds 253 pods (10.244.0.2 to 10.244.0.254), and 254 would run on it: 1 pod of Deployment default/b (b-3) would get no address; spread the pods over more nodes (nodeSelector, more nodes) or give the node a larger `podCIDR`",
  ]);
});

t.test('kube-dns pods count, and hostNetwork pods take no address', async (t) => {
  const over = await lines(`${head(1)}manifests:\n${deployment('a', 250)}${deployment('b', 2)}`);
  t.equal(over.length, 1, 'the two CoreDNS pods fill the subnet');
  t.match(over[0], /holds 253 pods .*and 254 would run on it/);
  t.same(await lines(`${head(1, '  dns: false')}manifests:\n${deployment('a', 250)}${deployment('h', 10, 'hostNetwork: true, ')}`), []);
});

t.test('a step that makes more pods than a subnet holds is the error, at the step', async (t) => {
  const out = await lines(`${head(1, '  dns: false')}manifests:\n${deployment('a', 250)}${deployment('b', 1)}steps:\n  - scale: {deployment: b, replicas: 5}\n`);
  t.same(out.length, 1);
  t.match(out[0], /^s\d+\.yaml:12:5: `steps\[0\]\.scale`: node node-1's pod subnet 10\.244\.0\.0\/24 holds 253 pods .*default\/b-3, default\/b-4 would get no address/);
});

t.test("a deleted pod's address comes back only when the others are taken: capacity is of pods at one time", async (t) => {
  t.same(
    await lines(
      `${head(1, '  dns: false')}manifests:\n${deployment('a', 250)}${deployment('b', 3)}steps:\n  - delete: {kind: Pod, name: a-0}\n  - delete: {kind: Pod, name: b-1}\n`,
    ),
    [],
    'the replacement pods get the freed addresses',
  );
});

t.test('a pod whose NAME.NAMESPACE is longer than a file name may be is refused', async (t) => {
  const out = await lines(
    `${head(1)}manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: ${'a'.repeat(200)}, namespace: ${'b'.repeat(60)}}, spec: {containers: [{name: c}]}}\n`,
  );
  t.equal(out.length, 1);
  t.match(out[0], /network namespace named 261 characters long .*Linux allows 255/);
});
