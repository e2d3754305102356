// The library's types: step options come from the step kinds' own schemas (the ones `knetlab validate` reads with).
import type { z } from 'zod';
import type { NetworkKind } from '../cni/networks.js';
import type { KubernetesVersion } from '../dataplane/versions.js';
import type { Problem } from '../errors.js';
import type { ProxyMode } from '../proxy/modes.js';
import type { RunEvent, ScenarioResult, StepResult, TrySeen } from '../run/types.js';
import type { StepKindName } from '../scenario/schema.js';
import type { stepKinds } from '../steps/kinds/index.js';

type Kinds = typeof stepKinds;

/** A step kind's options as a scenario writes them (`http: {from, to, count, ...}`). */
export type StepOptions<K extends StepKindName> = z.input<Kinds[K]['body']>;

/** A step kind's expectation as a scenario writes it (`expect: {status: 200, sourceIp: ...}`); never for actions. */
export type StepExpect<K extends StepKindName> = Kinds[K]['expect'] extends z.ZodType ? z.input<Kinds[K]['expect']> : never;

/** What every step may have besides its kind's options. */
export interface StepExtras<K extends StepKindName> {
  name?: string;
  /** One try is traced through the kernel; the result's `trace` says where it was NATed or dropped. */
  trace?: boolean;
  expect?: StepExpect<K>;
  expectIn?: Partial<Record<ProxyMode, StepExpect<K> | 'skip'>>;
}

/** A step as a scenario file writes it: `{http: {...}, expect: {...}}`. */
export type StepInput = { [K in StepKindName]: { [P in K]: StepOptions<K> } & StepExtras<K> }[StepKindName];

/** One try, with the words of expectations: `sourceIp` (what the server saw as the client) and `backend` (who answered). */
export interface Try extends TrySeen {
  sourceIp?: string;
  backend?: string;
}

export interface StepReport extends Omit<StepResult, 'tries'> {
  tries: Try[];
}

/** A lab step's report, and the warnings `knetlab validate` would print for it. */
export interface LabStepReport extends StepReport {
  warnings: Problem[];
}

export interface ScenarioReport extends Omit<ScenarioResult, 'steps'> {
  steps: StepReport[];
  /** What `knetlab validate` warned of. */
  warnings: Problem[];
}

/** What `runScenario`, `runScenarios` and `up` take, as `knetlab run` and `knetlab up` take flags. */
export interface RunScenarioOptions {
  /** Under this kube-proxy mode instead of the scenario's own (`--proxy-mode`). */
  proxyMode?: ProxyMode;
  /** As this kube-proxy release instead of the scenario's own (`--kubernetes-version`). */
  kubernetesVersion?: KubernetesVersion;
  /** On this network instead of the scenario's own (`--network`). */
  network?: NetworkKind;
  /** Folders besides the scenario's own that its manifest and apply paths may lead into (`--allow-path`). */
  allowPaths?: string[];
  /** The most its steps may take in the worst case, such as `45m` (`--timeout`; default 30m). */
  timeout?: string;
  /** Where failed steps leave their diagnostics (default `knetlab-diagnostics`, removed when empty). */
  diagnosticsDir?: string;
  /** Where scenarios keep files (default `knetlab-artifacts`, removed when empty). */
  artifactsDir?: string;
  /** Ends the run (or the lab) when aborted. */
  signal?: AbortSignal;
  /** Live events: phases, steps started and ended. */
  onEvent?: (e: RunEvent) => void;
}

export interface RunScenariosOptions extends RunScenarioOptions {
  /** Scenarios run at once (default 1). */
  jobs?: number;
}
