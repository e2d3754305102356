// The list of modelled kube-proxy releases and what each has (src/dataplane/versions.ts).
import t from 'tap';
import { proxyModes } from '../../src/proxy/modes.js';
import {
  firstReleaseWith,
  isKubernetesVersion,
  kubeProxyFeatures,
  kubernetesVersions,
  modeStage,
  modeUnavailable,
  NEWEST_KUBERNETES_VERSION,
} from '../../src/dataplane/versions.js';

t.test('the releases run from 1.25 to 1.33 without a gap, the newest the default', async (t) => {
  t.same(kubernetesVersions, ['1.25', '1.26', '1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33']);
  t.equal(NEWEST_KUBERNETES_VERSION, '1.33');
  t.ok(isKubernetesVersion('1.26'));
  t.notOk(isKubernetesVersion('1.24'));
  t.notOk(isKubernetesVersion('1.3'));
  t.notOk(isKubernetesVersion('constructor'), 'not a key of every object');
});

t.test('KUBE-IPVS-FILTER from 1.26 (kubernetes#108460)', async (t) => {
  t.same(
    kubernetesVersions.filter((v) => !kubeProxyFeatures(v).ipvsFilter),
    ['1.25'],
  );
});

t.test('nftables mode: none before 1.29, alpha 1.29-1.30, beta 1.31-1.32, GA 1.33 (NFTablesProxyMode)', async (t) => {
  t.same(
    kubernetesVersions.map((v) => modeStage(v, 'nftables')),
    ['absent', 'absent', 'absent', 'absent', 'alpha', 'alpha', 'beta', 'beta', 'ga'],
  );
  t.equal(firstReleaseWith('nftables'), '1.29');
  t.equal(modeUnavailable('1.28', 'nftables'), 'kube-proxy 1.28 has no nftables mode (it came in 1.29 as alpha)');
  t.equal(modeUnavailable('1.29', 'nftables'), undefined);
  for (const v of kubernetesVersions) for (const m of proxyModes.filter((m) => m !== 'nftables')) t.equal(modeStage(v, m), 'ga', `${m} in ${v}`);
});

t.test('topology hints: the annotation gate and trafficDistribution by release (topology.go, kubernetes#116522, KEP-4444)', async (t) => {
  t.same(
    kubernetesVersions.map((v) => kubeProxyFeatures(v).hintsGate),
    ['auto-only', 'auto-only', 'not-disabled', 'not-disabled', 'not-disabled', 'not-disabled', 'always', 'always', 'always'],
  );
  t.same(
    kubernetesVersions.map((v) => kubeProxyFeatures(v).trafficDistribution),
    ['absent', 'absent', 'absent', 'absent', 'absent', 'alpha', 'beta', 'beta', 'ga'],
  );
});

t.test('nfacct counters in iptables mode from 1.31 (kubernetes#122812, #125015)', async (t) => {
  t.same(
    kubernetesVersions.filter((v) => kubeProxyFeatures(v).nfacctCounters),
    ['1.31', '1.32', '1.33'],
  );
});

t.test('the UDP conntrack reconciler from 1.32 (kubernetes#127318; before it, clean-up by change)', async (t) => {
  t.same(
    kubernetesVersions.filter((v) => kubeProxyFeatures(v).conntrackReconciler),
    ['1.32', '1.33'],
  );
});

t.test("nftables mode's NodePorts on the primary IP only from 1.31 (kubernetes#123105)", async (t) => {
  t.same(
    kubernetesVersions.filter((v) => modeStage(v, 'nftables') !== 'absent' && !kubeProxyFeatures(v).nftablesPrimaryNodePorts),
    ['1.29', '1.30'],
  );
});

t.test('KUBE-IPVS-FILTER RETURNs KUBE-EXTERNAL-IP-LOCAL from 1.30.0 (kubernetes#121919; as the newest renders it)', async (t) => {
  t.same(
    kubernetesVersions.filter((v) => kubeProxyFeatures(v).ipvsFilter && !kubeProxyFeatures(v).ipvsFilterExternalIPLocal),
    ['1.26', '1.27', '1.28', '1.29'],
  );
});
