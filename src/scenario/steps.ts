import type { KubeObject } from './objects.js';
import type { AddressRef, SourceRef, TargetRef } from './refs.js';
import type { Origin } from './source.js';

export type FailKind = 'timeout' | 'refused' | 'unreachable' | 'any';

/** What a probe's answers must show; every field is checked against every try. */
export interface ResponseExpect {
  sourceIp?: AddressRef;
  sourceIpNot?: AddressRef;
  backend?: AddressRef;
  backends?: 'all' | 'one';
  spread?: number;
}

interface StepBase {
  /** 0-based place in steps. */
  index: number;
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
