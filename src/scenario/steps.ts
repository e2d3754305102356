import type { KubeObject } from './objects.js';
import type { ProxyMode } from '../proxy/modes.js';
import type { AddressRef, SourceRef, TargetRef } from './refs.js';
import type { Origin } from './source.js';

export type FailKind = 'timeout' | 'refused' | 'unreachable' | 'any';

/** What a probe's answers must show; every field is checked against every try. */
export interface ResponseExpect {
  sourceIp?: AddressRef;
  sourceIpNot?: AddressRef;
  backend?: AddressRef;
  backends?: 'all' | 'one' | 'rotate';
  spread?: number;
  /** The name of an earlier http or udp step: every try is answered by the one endpoint that answered it. */
  sameBackendAs?: string;
}

interface StepBase {
  /** 0-based place in steps. */
  index: number;
  /** `expectIn`: the expectation that replaces `expect` under a kube-proxy mode (the step's own expect type), or `skip`: not run then. */
  expectIn?: Partial<Record<ProxyMode, unknown>>;
  name: string;
  origin: Origin;
}

export interface ObjectRef {
  kind: string;
  name: string;
  namespace: string;
}

export type Step = StepBase &
  (
    | { kind: 'http'; from: SourceRef; to: TargetRef; path: string; headers: Record<string, string>; count: number; timeoutMs: number; expect: ResponseExpect & { status?: number; fail?: FailKind } }
    | { kind: 'tcp'; from: SourceRef; to: TargetRef; count: number; timeoutMs: number; expect: { connect: boolean } }
    | { kind: 'udp'; from: SourceRef; to: TargetRef; data: string; sourcePort?: number; count: number; timeoutMs: number; expect: ResponseExpect & { reply: boolean } }
    | { kind: 'ping'; from: SourceRef; to: TargetRef; count: number; timeoutMs: number; expect: { reachable: boolean } }
    | { kind: 'dns'; from: SourceRef; query: string; type: 'A' | 'AAAA' | 'CNAME' | 'SRV' | 'PTR'; timeoutMs: number; expect: { addresses?: AddressRef[]; cname?: string; nxdomain?: boolean } }
    | { kind: 'apply'; objects: KubeObject[] }
    | { kind: 'patch'; target: ObjectRef; patch: Record<string, unknown> }
    | { kind: 'delete'; target: ObjectRef }
    | { kind: 'scale'; deployment: string; namespace: string; replicas: number }
    | { kind: 'link'; node: string; state: 'up' | 'down' }
    | { kind: 'exec'; on: SourceRef; command: string[]; timeoutMs: number; expect: { exitCode?: number; stdoutMatches?: string; stderrMatches?: string } }
    | { kind: 'sleep'; ms: number }
    | { kind: 'resync' }
  );

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
