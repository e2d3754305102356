// Which modes and networks doctor says can run, from made-up facts (judge is pure).
import t from 'tap';
import { hostCommands } from '../../src/kernel/host-commands.js';
import { type DoctorFacts, doctorFeatures, judge } from '../../src/run/doctor.js';

function facts(opts: { missingCommands?: string[]; missingFeatures?: string[]; sandbox?: boolean; root?: boolean; modules?: boolean } = {}): DoctorFacts {
  const gone = new Set(opts.missingCommands ?? []);
  const lacks = new Set(opts.missingFeatures ?? []);
  return {
    root: opts.root ?? true,
    sandbox: opts.sandbox === false ? { ok: false, detail: 'cannot make a sandbox: no' } : { ok: true, detail: 'root' },
    kernel: { release: '6.1.0-test', loadableModules: opts.modules ?? true },
    commands: hostCommands().map((c) =>
      gone.has(c.check) ? { command: c, why: `${c.check} not found on PATH`, install: true } : { command: c, path: `/usr/bin/${c.check}`, install: false },
    ),
    features: opts.sandbox === false ? [] : doctorFeatures().map((f) => ({ feature: f, ok: !lacks.has(f), why: lacks.has(f) ? `no ${f}` : '' })),
  };
}

const names = (vs: { name: string; ok: boolean }[]) => vs.filter((v) => v.ok).map((v) => v.name);

t.test('doctor probes every feature a run may need, each IPVS scheduler too', async (t) => {
  const all = doctorFeatures();
  for (const f of ['veth', 'vxlan', 'ip_vs', 'ip_vs_rr', 'ip_vs_sh', 'dummy', 'ipip', 'nft', 'ipset', 'xt_recent', 'nftrace']) t.ok(all.includes(f as never), f);
  t.equal(new Set(all).size, all.length, 'each once');
});

t.test('everything there: every mode and network runs, nothing to install', async (t) => {
  const r = judge(facts());
  t.ok(r.ok);
  t.same(names(r.modes), ['iptables', 'nftables', 'ipvs']);
  t.same(names(r.networks), ['flannel-vxlan', 'host-gw', 'calico-vxlan', 'calico-ipip', 'calico-bgp']);
  t.equal(r.install, undefined);
  t.equal(r.kernelHint, undefined);
});

t.test('without ip_vs and dummy: IPVS mode cannot run, and says why; the rest still runs', async (t) => {
  const r = judge(facts({ missingFeatures: ['ip_vs', 'ip_vs_rr', 'dummy'], modules: false }));
  t.ok(r.ok, 'iptables mode on flannel-vxlan runs: exit 0');
  const ipvs = r.modes.find((v) => v.name === 'ipvs')!;
  t.notOk(ipvs.ok);
  t.same(ipvs.missing, ['ip_vs missing (no ip_vs)', 'ip_vs_rr missing (no ip_vs_rr)', 'dummy missing (no dummy)']);
  t.same(names(r.modes), ['iptables', 'nftables']);
  t.match(r.kernelHint, 'has no loadable modules here (no /lib/modules/6.1.0-test)');
  t.match(judge(facts({ missingFeatures: ['ip_vs'], root: false })).kernelHint, 'not root: a user namespace cannot load modules');
});

t.test('a missing command fails what needs it, and names the package to install', async (t) => {
  const noIpvsadm = judge(facts({ missingCommands: ['ipvsadm', 'dig'] }));
  t.ok(noIpvsadm.ok);
  t.same(noIpvsadm.modes.find((v) => v.name === 'ipvs')?.missing, ['ipvsadm (package ipvsadm)']);
  t.equal(noIpvsadm.install, 'apt-get install -y ipvsadm bind9-dnsutils', 'some-scenario commands are installed too');
  const noIpset = judge(facts({ missingCommands: ['ipset'] }));
  t.same(names(noIpset.networks), ['flannel-vxlan', 'host-gw'], 'Calico needs ipset');
  const noIptables = judge(facts({ missingCommands: ['iptables-restore', 'iptables-save'] }));
  t.notOk(noIptables.ok, 'every run needs iptables-restore: exit 1');
  t.same(names(noIptables.modes), []);
  t.equal(noIptables.install, 'apt-get install -y iptables');
});

t.test('no sandbox: nothing can run, and nothing was probed', async (t) => {
  const r = judge(facts({ sandbox: false, root: false }));
  t.notOk(r.ok);
  t.same(names(r.modes), []);
  t.same(r.modes[0]?.missing, ['a sandbox']);
  t.equal(r.kernelHint, undefined, 'no feature judged');
});

t.test('a missing base feature stops every mode; vxlan only the VXLAN networks', async (t) => {
  t.same(names(judge(facts({ missingFeatures: ['br_netfilter'] })).modes), []);
  const r = judge(facts({ missingFeatures: ['vxlan'] }));
  t.notOk(r.ok, 'flannel-vxlan cannot run: exit 1');
  t.same(names(r.networks), ['host-gw', 'calico-ipip', 'calico-bgp']);
});
