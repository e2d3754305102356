import type { KubernetesVersion } from '../dataplane/versions.js';
// What a run produces, shared by the runner (inside the sandbox) and the reporters (outside).
import type { ProxyMode } from '../cluster/types.js';
import type { StepKindName } from '../scenario/schema.js';
import type { ValidateOptions } from '../validate.js';
import type { ErrorCode, Problem } from '../errors.js';
import type { KernelSeen } from '../trace/verdict.js';

export type Status = 'passed' | 'failed' | 'skipped';

/** What one try of a step saw (a probe's request, connect, datagram or echo request; a lookup; a command). */
export interface TrySeen {
  /** Answered (http, udp), connected (tcp), replied (ping), NOERROR (dns), exited (exec). */
  ok: boolean;
  /** Why it was not answered. */
  failure?: 'timeout' | 'refused' | 'unreachable' | 'error';
  /** The HTTP status. */
  status?: number;
  /** The client address the echo server saw. */
  source?: string;
  /** Who answered, as the echo server names itself: `pod/NAME.NS`, `node/NAME`, `host/NAME`. */
  server?: string;
  /** exec: the exit status, whether it timed out, and the end of its output. */
  exitCode?: number;
  timedOut?: boolean;
  stdout?: string;
  stderr?: string;
  /** dns: the status of the last query and its answer section, every query dig sent, and (expect.queries) the names the DNS servers received. */
  dns?: {
    status: string;
    question?: string;
    answers: { name: string; type: string; data: string }[];
    tried?: { name: string; status: string; id?: number }[];
    queries?: string[];
  };
  /** The tool's own words when it failed (curl's message, ...). */
  error?: string;
  /** http: the bytes of the body received. */
  bytes?: number;
  /** What the kernel did with this try, when the step traced each (it has kernel expectations: dnat, masquerade, dropped, ...). */
  kernel?: KernelSeen;
}

/** Why a step did not run. */
export type StepSkip =
  | { because: 'earlier-step-failed' }
  /** Its expectIn says `skip` for this kube-proxy mode. */
  | { because: 'mode'; mode: ProxyMode }
  /** The run was cut short (Ctrl-C, SIGTERM, the time limit) while it ran. */
  | { because: 'interrupted' };

export interface StepResult {
  /** The step's name, or a generated one such as `http host/client -> nodeport/nginx@node-2`. */
  name: string;
  /** 0-based place in the scenario's steps. */
  index: number;
  kind: StepKindName;
  status: Status;
  /** What was expected, in words (e.g. `status 200, sourceIp host/client (192.168.8.100)`). */
  expected: string;
  /** What was seen, in words; for a failed step, where it differed. */
  seen: string;
  /** The folder of this step's diagnostics, when it failed; otherwise null. */
  diagnostics: string | null;
  durationMs: number;
  /** What each try saw, in order ([] for a step that was not run, or has no tries: actions, sleep). */
  tries: TrySeen[];
  /** Why it was not run, or null. */
  skip: StepSkip | null;
  /** The kube-proxy mode whose `expectIn` judged it (its name ends in `[expectIn.MODE]`), or null. */
  variant: ProxyMode | null;
  /** A failed probe step's traced try: where it was NATed or dropped (the whole trace is in its diagnostics). */
  trace?: string[];
  /** A flows step: each case of its table, one row each in the report. */
  cases?: CaseResult[];
}

/** One case of a flows step (a packet-flow table's row): a packet sent and judged from the kernel's trace. */
export interface CaseResult {
  name: string;
  status: Status;
  /** `output "10.180.0.1:80", masq false`, as upstream's packetFlowTest writes it. */
  expected: string;
  /** The same as the node's kernel showed it, with where it differed. */
  seen: string;
  durationMs: number;
  /** A failed case's trace, in the few lines that matter (outcome, path, each NAT). */
  trace?: string[];
}

export interface PhaseTiming {
  name: string; // e.g. "validate", "sandbox", "topology", "workloads", "steps", "teardown"
  durationMs: number;
}

export interface ScenarioResult {
  file: string;
  name: string;
  status: Status;
  /** Why it was skipped or failed (a missing kernel feature names it), or null. */
  reason: string | null;
  durationMs: number;
  steps: StepResult[];
  phases: PhaseTiming[];
  /** Ended by Ctrl-C or SIGTERM before it finished (or before it started, then skipped). */
  interrupted?: boolean;
}

/** What the runner outside tells the sandbox's first process (src/run/sandbox-main.ts), as its one argument. */
export interface SandboxConfig {
  file: string;
  /** This run's folder for failed steps' diagnostics (made outside, bound writable inside). */
  diagnosticsDir: string;
  /** This run's folder for files the scenario keeps (bound at ARTIFACTS_MOUNT inside). */
  artifactsDir: string;
  /** `knetlab up`: build, then hold until stdin ends. */
  hold: boolean;
  /** Kernel features found present before on this kernel (the runner's cache): not probed again. */
  knownFeatures: string[];
  /** Run under this kube-proxy mode instead of the scenario's own. */
  proxyMode?: ProxyMode;
  /** Run as this kube-proxy release instead of the scenario's own `cluster.kubernetesVersion`. */
  kubernetesVersion?: KubernetesVersion;
  /** `--trace`: steps (0-based indexes) that trace one try whatever their outcome, as `trace: true` does. */
  traceSteps?: number[];
  /** `--allow-path` and `--timeout`, so the sandbox validates the scenario as the command line did. */
  validation: ValidateOptions;
}

/** Live events from a running scenario, for the pretty reporter's progress view. */
export type RunEvent =
  | { type: 'scenario-start'; file: string; name: string }
  | { type: 'phase'; file: string; phase: string; durationMs: number }
  | { type: 'step-start'; file: string; index: number; kind: StepKindName; name: string }
  | { type: 'step-end'; file: string; index: number; result: StepResult }
  | { type: 'scenario-end'; result: ScenarioResult }
  /** Kernel features the capability probe found present, for the runner's cache. */
  | { type: 'features'; found: string[] }
  /** `knetlab up`: the scenario is built and held; `netns` maps each place (`node/NAME`, `pod/NAME.NS`, ...) to its namespace. */
  | { type: 'held'; file: string; name: string; netns: Record<string, string> }
  /** A held scenario's answer to a lab's request (src/run/lab-serve.ts). */
  | { type: 'reply'; reply: LabReply };

/** What a lab (the library's `up`) asks of its held scenario, one JSON line on the sandbox's stdin. */
export type LabRequest = LabAsk & { id: number };
export type LabAsk =
  /** A step as a scenario writes it (`{http: {...}, expect: {...}}`), checked against the scenario and the lab's earlier steps, then run. */
  | { op: 'step'; step: unknown }
  /** A command in a place (`node/NAME`, `pod/NAME.NS`, ...), its whole output returned. */
  | { op: 'exec'; place: string; argv: string[]; timeoutMs: number; input?: string }
  /** The scenario file's new text: its objects brought to the live cluster, then its steps run (`up --watch`, `lab.reload()`). */
  | { op: 'reload'; text: string };

/** What a reload did: the objects applied and deleted, then the file's steps, run in order. */
export interface ReloadOutcome {
  /** `service/web`, `pod/x.team`: new or changed objects, applied. */
  applied: string[];
  /** Objects the file no longer has, deleted. */
  deleted: string[];
  /** The file's steps, as `run` reports them (after a failed one, the rest skipped). */
  steps: StepResult[];
  /** failed when a step failed. */
  status: Status;
  /** Why it failed, as a run says it, or null. */
  reason: string | null;
  /** What `knetlab validate` warns of in the new text. */
  warnings: Problem[];
  /** Every place now (pods come and go), as the `held` event maps them. */
  netns: Record<string, string>;
  durationMs: number;
}

/** A command's outcome in a lab. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export type LabReply = { id: number } & (
  | { ok: true; step: StepResult; warnings: Problem[] }
  | { ok: true; exec: ExecResult }
  | { ok: true; reload: ReloadOutcome }
  | { ok: false; error: { code: ErrorCode; message: string; problems: Problem[] } }
);
