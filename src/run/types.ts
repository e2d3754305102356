// What a run produces, shared by the runner (inside the sandbox) and the reporters (outside).
import type { ProxyMode } from '../cluster/types.js';
import type { ValidateOptions } from '../validate.js';

export type Status = 'passed' | 'failed' | 'skipped';

export interface StepResult {
  /** The step's name, or a generated one such as `http host/client -> nodeport/nginx@node-2`. */
  name: string;
  status: Status;
  /** What was expected, in words (e.g. `status 200, sourceIp host/client (192.168.8.100)`). */
  expected: string;
  /** What was seen, in words; for a failed step, where it differed. */
  seen: string;
  /** The folder of this step's diagnostics, when it failed; otherwise null. */
  diagnostics: string | null;
  durationMs: number;
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
  /** `--allow-path` and `--timeout`, so the sandbox validates the scenario as the command line did. */
  validation: ValidateOptions;
}

/** Live events from a running scenario, for the pretty reporter's progress view. */
export type RunEvent =
  | { type: 'scenario-start'; file: string; name: string }
  | { type: 'phase'; file: string; phase: string; durationMs: number }
  | { type: 'step-start'; file: string; index: number; name: string }
  | { type: 'step-end'; file: string; index: number; result: StepResult }
  | { type: 'scenario-end'; result: ScenarioResult }
  /** Kernel features the capability probe found present, for the runner's cache. */
  | { type: 'features'; found: string[] }
  /** `knetlab up`: the scenario is built and held; `netns` maps each place (`node/NAME`, `pod/NAME.NS`, ...) to its namespace. */
  | { type: 'held'; file: string; name: string; netns: Record<string, string> };
