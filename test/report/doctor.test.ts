// doctor's text and JSON say the same facts: each command and feature ok or missing with why, the verdicts, what to install.
import t from 'tap';
import { hostCommands } from '../../src/kernel/host-commands.js';
import { doctorJson, formatDoctor } from '../../src/report/doctor.js';
import { judge } from '../../src/run/doctor.js';

const report = judge({
  root: true,
  sandbox: { ok: true, detail: 'root: runs get a sandbox of their own namespaces' },
  kernel: { release: '6.1.0-test', loadableModules: false },
  commands: hostCommands().map((c) =>
    c.check === 'ipvsadm' ? { command: c, why: 'ipvsadm not found on PATH', install: true } : { command: c, path: `/usr/sbin/${c.check}`, install: false },
  ),
  features: [
    { feature: 'veth', ok: true, why: '' },
    { feature: 'ip_vs', ok: false, why: "Can't initialize ipvs: Protocol not available" },
  ],
});

t.test('text: a line per command and feature, the verdicts and the install command', async (t) => {
  const text = formatDoctor(report);
  t.match(text, /^user: root\nsandbox: ok: root: runs get a sandbox/);
  t.match(text, /\nipvsadm +missing +ipvsadm +ipvs mode +kube-proxy's IPVS mode: ipvsadm not found on PATH\n/);
  t.match(text, /\nip +ok +iproute2 +every run +namespaces/);
  t.match(text, /\nip_vs +missing +ip_vs: Can't initialize ipvs: Protocol not available\n/);
  t.match(text, /\nveth +ok +veth\n/);
  t.match(text, /\nipvs +no \(ipvsadm \(package ipvsadm\); bridge missing \(not probed\); .*ip_vs missing \(Can't initialize ipvs/);
  t.match(text, 'install what is missing: apt-get install -y ipvsadm');
  t.match(text, /knetlab cannot run here: iptables mode on flannel-vxlan lacks/, 'bridge and the rest were not probed: missing');
});

t.test('json: the same, as data', async (t) => {
  const j = JSON.parse(JSON.stringify(doctorJson(report)));
  t.equal(j.ok, false);
  t.same(
    j.commands.find((c: { check: string }) => c.check === 'ipvsadm'),
    {
      check: 'ipvsadm',
      package: 'ipvsadm',
      neededBy: 'ipvs mode',
      for: "kube-proxy's IPVS mode",
      ok: false,
      why: 'ipvsadm not found on PATH',
    },
  );
  t.same(j.features[1], { feature: 'ip_vs', module: 'ip_vs', ok: false, why: "Can't initialize ipvs: Protocol not available" });
  t.equal(j.install, 'apt-get install -y ipvsadm');
  t.match(j.kernelHint, 'no loadable modules');
  t.same(
    j.modes.map((m: { name: string; ok: boolean }) => [m.name, m.ok]),
    [
      ['iptables', false],
      ['nftables', false],
      ['ipvs', false],
    ],
  );
});
