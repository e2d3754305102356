// `knetlab doctor`'s output: a table-ish text for people, one JSON document for tools.
import { neededByWords } from '../kernel/host-commands.js';
import { featureModule } from '../kernel/capabilities.js';
import type { DoctorReport, Verdict } from '../run/doctor.js';
import { table } from './table.js';

const mark = (ok: boolean) => (ok ? 'ok' : 'missing');

function verdictLine(v: Verdict): string[] {
  return [v.name, v.ok ? 'yes' : `no (${v.missing.join('; ')})`];
}

/** The report as text: who, the sandbox, each command, each feature, which modes and networks run, what to install. */
export function formatDoctor(r: DoctorReport): string {
  const out: string[] = [];
  out.push(`user: ${r.root ? 'root' : 'not root'}`);
  out.push(`sandbox: ${r.sandbox.ok ? 'ok' : 'missing'}: ${r.sandbox.detail}`);
  out.push(`kernel: ${r.kernel.release}${r.kernel.loadableModules ? '' : ' (no loadable modules here)'}`);
  out.push('');
  out.push(
    table(
      ['COMMAND', 'STATUS', 'PACKAGE', 'NEEDED BY', 'FOR'],
      r.commands.map((c) => [c.command.check, c.path ? 'ok' : 'missing', c.command.package, neededByWords(c.command), c.path ? c.command.for : `${c.command.for}: ${c.why}`]),
    ),
  );
  out.push('');
  if (r.features.length)
    out.push(
      table(
        ['KERNEL FEATURE', 'STATUS', 'FROM (AND WHY MISSING)'],
        r.features.map((f) => [f.feature, mark(f.ok), f.ok ? featureModule(f.feature) : `${featureModule(f.feature)}: ${f.why || 'missing'}`]),
      ),
    );
  else out.push('kernel features: not probed (no sandbox)');
  if (r.kernelHint) out.push(`  ${r.kernelHint}`);
  out.push('');
  out.push(table(['PROXY MODE', 'CAN RUN'], r.modes.map(verdictLine)));
  out.push('');
  out.push(table(['NETWORK', 'CAN RUN'], r.networks.map(verdictLine)));
  out.push('');
  if (r.install) out.push(`install what is missing: ${r.install}  (or: bash scripts/provision)`);
  out.push(r.ok ? 'knetlab can run here (at least iptables mode on flannel-vxlan)' : 'knetlab cannot run here: iptables mode on flannel-vxlan lacks what is said above');
  return `${out.join('\n')}\n`;
}

/** The report as data (`-o json`): the same facts and verdicts. */
export function doctorJson(r: DoctorReport) {
  return {
    ok: r.ok,
    root: r.root,
    sandbox: r.sandbox,
    kernel: r.kernel,
    commands: r.commands.map((c) => ({
      check: c.command.check,
      package: c.command.package,
      neededBy: neededByWords(c.command),
      for: c.command.for,
      ok: Boolean(c.path),
      ...(c.path ? { path: c.path } : { why: c.why }),
    })),
    features: r.features.map((f) => ({ feature: f.feature, module: featureModule(f.feature), ok: f.ok, ...(f.ok ? {} : { why: f.why }) })),
    modes: r.modes,
    networks: r.networks,
    ...(r.install ? { install: r.install } : {}),
    ...(r.kernelHint ? { kernelHint: r.kernelHint } : {}),
  };
}
