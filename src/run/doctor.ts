// `knetlab doctor`: what this machine has and lacks for knetlab. The facts (who we are, whether a
// sandbox can be made, each command, each kernel feature probed in a sandbox as a run probes it)
// are gathered by doctor(); judge() (pure) says from them which proxy modes and networks can run.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cnis, networks, type NetworkKind } from '../cni/index.js';
import { defaults } from '../cluster/config.js';
import { BASE_FEATURES, type Feature, probedFeatures } from '../kernel/capabilities.js';
import { execaRunner, type Runner } from '../kernel/exec.js';
import { type CommandCheck, checkCommand, type HostCommand, hostCommands, installCommand } from '../kernel/host-commands.js';
import { isRoot, SANDBOX_ENV, sandboxCommand } from '../kernel/sandbox.js';
import type { FeatureModel } from '../proxy/driver.js';
import { proxyDriver } from '../proxy/drivers.js';
import { proxyModes, type ProxyMode } from '../proxy/modes.js';
import { IPVS_SCHEDULERS } from '../scenario/schema.js';

const DOCTOR_MAIN = fileURLToPath(new URL('./doctor-main.js', import.meta.url));
/** Every probe has 60 s (kernel/capabilities.ts) and they run at once: this is for a slow sandbox. */
const SANDBOX_TIMEOUT_MS = 180_000;

/** What a mode is judged by: a scenario with one ClusterIP Service and kube-proxy's defaults. */
export const TYPICAL: FeatureModel = {
  services: [{ spec: { type: 'ClusterIP', sessionAffinity: 'None', loadBalancerSourceRanges: [] } }],
  config: { ipvs: { scheduler: defaults.ipvs.scheduler } },
};

/** Every feature doctor probes: each check of the probe and each IPVS scheduler. */
export function doctorFeatures(): Feature[] {
  return [...new Set<Feature>([...BASE_FEATURES, ...probedFeatures, ...IPVS_SCHEDULERS.map((s): Feature => `ip_vs_${s}`)])];
}

export interface ProbedFeature {
  feature: Feature;
  ok: boolean;
  /** Why it is missing: the probe command's error; '' when present. */
  why: string;
}

export interface DoctorFacts {
  root: boolean;
  /** Whether a sandbox (kernel/sandbox.ts) could be made and probed in; detail says how or why not. */
  sandbox: { ok: boolean; detail: string };
  kernel: { release: string; loadableModules: boolean };
  commands: CommandCheck[];
  /** Empty when no sandbox could be made. */
  features: ProbedFeature[];
}

export interface Verdict {
  name: string;
  ok: boolean;
  /** What it lacks, each in words (`ip_vs missing (the probe's error)`, `ipvsadm (package ipvsadm)`). */
  missing: string[];
}

export interface DoctorReport extends DoctorFacts {
  modes: Verdict[];
  networks: Verdict[];
  /** `apt-get install -y ...` for the missing commands; undefined when none is. */
  install?: string;
  /** Why features are missing, beyond each probe's error: whether this kernel can load modules here. */
  kernelHint?: string;
  /** iptables mode on flannel-vxlan, the default scenario, can run. */
  ok: boolean;
}

function missingCommand(c: CommandCheck): string {
  return `${c.command.check} (${c.install ? `package ${c.command.package}` : c.why})`;
}

/** What a mode or network lacks: the sandbox, the commands it and every run need, its kernel features. */
function verdict(name: string, facts: DoctorFacts, features: readonly Feature[], needs: (c: HostCommand) => boolean): Verdict {
  const missing: string[] = [];
  if (!facts.sandbox.ok) missing.push('a sandbox');
  for (const c of facts.commands) if (!c.path && (c.command.all || needs(c.command))) missing.push(missingCommand(c));
  if (facts.sandbox.ok) {
    for (const f of new Set([...BASE_FEATURES, ...features])) {
      const p = facts.features.find((x) => x.feature === f);
      if (!p?.ok) missing.push(`${f} missing (${p ? p.why || 'the probe failed' : 'not probed'})`);
    }
  }
  return { name, ok: missing.length === 0, missing };
}

/** Why missing features are missing, for this user and kernel. */
function kernelHint(facts: DoctorFacts): string | undefined {
  if (!facts.sandbox.ok || facts.features.every((f) => f.ok)) return undefined;
  if (!facts.root) return 'not root: a user namespace cannot load modules, so a rootless run has only what is loaded already; run as root (sudo), or load them first (modprobe)';
  if (!facts.kernel.loadableModules)
    return `kernel ${facts.kernel.release} has no loadable modules here (no /lib/modules/${facts.kernel.release}): what it lacks cannot be loaded; scripts/vm runs scenarios under Debian's kernel instead (README: "IPVS mode")`;
  return "the probes ran as root, which loads a module when the kernel has it: the missing ones are not in this kernel (or a setting forbids them); scripts/vm runs scenarios under Debian's kernel instead";
}

/** Which modes and networks can run here, from the facts (pure). */
export function judge(facts: DoctorFacts): DoctorReport {
  const modes = proxyModes.map((m: ProxyMode) => verdict(m, facts, proxyDriver(m).features(TYPICAL), (c) => c.modes.includes(m)));
  const nets = networks.map((n: NetworkKind) => verdict(n, facts, cnis[n].requires, (c) => c.networks.includes(n)));
  const install = installCommand(facts.commands);
  const hint = kernelHint(facts);
  const ok = Boolean(modes.find((v) => v.name === 'iptables')?.ok && nets.find((v) => v.name === 'flannel-vxlan')?.ok);
  return { ...facts, modes, networks: nets, ...(install ? { install } : {}), ...(hint ? { kernelHint: hint } : {}), ok };
}

/** Probes the features in a sandbox made as a run's is; the sandbox's failure is a fact, not an error. */
async function probeInSandbox(features: readonly Feature[]): Promise<{ sandbox: DoctorFacts['sandbox']; features: ProbedFeature[] }> {
  const argv = sandboxCommand([process.execPath, '--enable-source-maps', DOCTOR_MAIN, JSON.stringify(features)]);
  const r = await execa(argv[0]!, argv.slice(1), { env: { [SANDBOX_ENV]: '1' }, reject: false, timeout: SANDBOX_TIMEOUT_MS, stdin: 'ignore' });
  const how = isRoot() ? 'root: runs get a sandbox of their own namespaces' : 'not root: unprivileged user namespaces work, so runs are rootless';
  const line = String(r.stdout ?? '')
    .trim()
    .split('\n')
    .at(-1);
  // The results line is the evidence (a hook at exit, such as tap's in tests, may still fail the exit status).
  if (line?.startsWith('[')) {
    try {
      return { sandbox: { ok: true, detail: how }, features: JSON.parse(line) as ProbedFeature[] };
    } catch {
      // reported below
    }
  }
  const stderr = String(r.stderr ?? '').trim();
  const why = r.timedOut ? `did not finish in ${SANDBOX_TIMEOUT_MS / 1000} s` : stderr.split('\n').slice(-4).join(' | ') || r.shortMessage;
  const advice = isRoot() ? '' : '; run as root (sudo), or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces)';
  return { sandbox: { ok: false, detail: `cannot make a sandbox (${argv.slice(0, argv.indexOf('--')).join(' ')}): ${why}${advice}` }, features: [] };
}

function kernelRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Gathers the facts on this machine and judges them. */
export async function doctor(runner: Runner = execaRunner): Promise<DoctorReport> {
  const release = kernelRelease();
  const commands = await Promise.all(hostCommands().map((c) => checkCommand(runner, c)));
  // Without unshare or python3 no sandbox can be made: said as such rather than as unshare's error.
  const blocking = commands.filter((c) => !c.path && ['unshare', 'python3'].includes(c.command.check));
  const probed = blocking.length
    ? { sandbox: { ok: false, detail: `cannot make a sandbox without ${blocking.map((c) => c.command.check).join(' and ')}` }, features: [] }
    : await probeInSandbox(doctorFeatures());
  return judge({
    root: isRoot(),
    sandbox: probed.sandbox,
    kernel: { release, loadableModules: existsSync(`/lib/modules/${release}/modules.dep`) || existsSync(`/usr/lib/modules/${release}/modules.dep`) },
    commands,
    features: probed.features,
  });
}
