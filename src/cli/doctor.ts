// `knetlab doctor`: what this machine has and lacks for knetlab (run/doctor.ts), as text or JSON.
import { KnetlabError } from '../errors.js';
import { doctorJson, formatDoctor } from '../report/doctor.js';
import { doctor } from '../run/doctor.js';

/** Exit 0 when at least iptables mode on flannel-vxlan can run here, 1 otherwise. */
export async function doctorCommand(opts: { output: string }): Promise<number> {
  if (opts.output !== 'text' && opts.output !== 'json') throw new KnetlabError('EUSAGE', `--output must be text or json, got ${opts.output}`);
  const report = await doctor();
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(doctorJson(report), null, 2)}\n` : formatDoctor(report));
  return report.ok ? 0 : 1;
}
