import type { ProxyMode } from '../proxy/modes.js';
import type { KindStep, SpecOf } from '../steps/kind.js';
import type { stepKinds } from '../steps/kinds/index.js';
import type { AddressRef, SourceRef } from './refs.js';
import type { StepKindName } from './schema.js';
import type { Origin } from './source.js';

export type FailKind = 'timeout' | 'refused' | 'unreachable' | 'any';

/** What a probe's answers must show; every field is checked against every try. */
export interface ResponseExpect {
  sourceIp?: AddressRef;
  sourceIpNot?: AddressRef;
  backend?: AddressRef;
  backends?: 'all' | 'one' | 'rotate';
  /** `backends: [..]`: exactly these answered, each at least once. */
  backendSet?: AddressRef[];
  /** None of these answered. */
  backendsNot?: AddressRef[];
  spread?: number;
  /** The name of an earlier http or udp step: every try is answered by the one endpoint that answered it. */
  sameBackendAs?: string;
  /** The name of an earlier http or udp step: no try is answered by an endpoint that answered it. */
  differentBackendFrom?: string;
}

/** An address a probe may be DNATed to: its IP, and its port when written. */
export interface DnatTarget {
  ip: string;
  port?: number;
}

/** What the kernel must show of every try (judged from its trace and conntrack, src/steps/judge-kernel.ts). */
export interface KernelExpect {
  /** Every try DNATed to one of these; with count > 1, each of them seen. */
  dnat?: DnatTarget[];
  masquerade?: boolean;
  dropped?: boolean;
  rejected?: boolean;
  /** Matched against the table, chain and rule text of the rule that dropped or rejected it. */
  droppedBy?: string;
  /** The places crossed, in order (only the kinds it names, node/host/pod, are compared). */
  path?: SourceRef[];
}

/** The keys of a KernelExpect: a step with any of them traces its tries. */
export const kernelExpectKeys = ['dnat', 'masquerade', 'dropped', 'rejected', 'droppedBy', 'path'] as const satisfies readonly (keyof KernelExpect)[];

export interface StepBase {
  /** 0-based place in steps. */
  index: number;
  /** `expectIn`: the expectation that replaces `expect` under a kube-proxy mode (the step's own expect type), or `skip`: not run then. */
  expectIn?: Partial<Record<ProxyMode, unknown>>;
  name: string;
  /** `trace: true`: one try is traced through the kernel and the report shows where it went (a failed probe step is traced anyway). */
  trace?: boolean;
  origin: Origin;
}

/** The step kinds that send a probe, which can be traced (src/steps/trace-probe.ts). */
export const tracedKinds = ['http', 'tcp', 'udp', 'ping'] as const satisfies readonly StepKindName[];

/** Kinds with nothing to expect whose `expectIn` may still say `skip` (a flows step's expectations are its cases). */
export const skipOnlyKinds = ['flows'] as const satisfies readonly StepKindName[];

export interface ObjectRef {
  kind: string;
  name: string;
  namespace: string;
}

/** A step as read: one of the registered kinds (src/steps/kinds/), with the fields every step has. */
export type Step = { [K in StepKindName]: KindStep<K, SpecOf<(typeof stepKinds)[K]>> }[StepKindName];

export type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;

/** Whether the step runs under a kube-proxy mode (its expectIn does not say `skip` for it). */
export function skippedUnderMode(step: Step, mode: ProxyMode): boolean {
  return step.expectIn?.[mode] === 'skip';
}

/** The step as it runs under a kube-proxy mode: its `expectIn` for that mode, if any, replaces its `expect`. */
export function stepUnderMode(step: Step, mode: ProxyMode): Step {
  const e = step.expectIn?.[mode];
  return e !== undefined && e !== 'skip' && 'expect' in step ? ({ ...step, expect: e } as Step) : step;
}

/** ` [expectIn.MODE]`: what a step's report name ends with when that mode's expectIn judged it. */
export const variantSuffix = (mode: string): string => ` [expectIn.${mode}]`;
