// What a step kind is: one module (src/steps/kinds/KIND.ts) holds its schema, how it is read,
// checked against the model, planned, run and named; src/steps/kinds/index.ts registers it.
import type { z } from 'zod';
import type { ActionResult } from '../cluster/actions.js';
import type { Resolved } from '../cluster/resolve.js';
import type { Model } from '../cluster/types.js';
import type { Runner } from '../kernel/exec.js';
import type { KubeObject } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import type { AddressRef, Parsed } from '../scenario/refs.js';
import type { StepKindName } from '../scenario/schema.js';
import type { Origin } from '../scenario/source.js';
import type { StepBase } from '../scenario/steps.js';
import type { WayIn } from '../dataplane/way-in.js';
import type { Judged } from './judge.js';
import type { AnsweredBy } from './run.js';
import type { DnsLogEntry } from '../workloads/echo.js';

/** A step of kind K as read: the fields every step has, and the kind's own (S). */
export type KindStep<K extends StepKindName, S> = StepBase & { kind: K } & S;

/** What reading a step's body and expectation gives a kind (scenario/load.ts makes it, once both passed their schemas). */
export interface ReadContext<B, E> {
  index: number;
  /** `steps[N]`, for messages. */
  where: string;
  /** `steps[N].expect` or `steps[N].expectIn.MODE`, for messages. */
  exWhere: string;
  /** The body, as its schema gave it. */
  body: B;
  /** The expectation as its schema gave it, or undefined when the step has none written. */
  expect: E | undefined;
  problems: Problems;
  bodyOrigin: Origin;
  /** Where a field of the body is written. */
  field(k: string): Origin;
  /** Where a field of the expectation is written (or an item of it: `expectAt('backends', 1)`). */
  expectAt(...k: (string | number)[]): Origin;
  /** A parsed reference's value, or undefined after reporting why it is not one. */
  parsed<T>(p: Parsed<T>, at: Origin, path: string, value: string): T | undefined;
  /** A manifests entry (a path or an inline object) read as the `manifests:` section reads it. */
  readManifest(entry: unknown, at: Origin, shownAs: string): Promise<KubeObject[]>;
  /** Whether a problem was reported since the body was read. */
  failedSinceStart(): boolean;
}

/** What checking a step against the model as it is at that step gives a kind (cluster/check-steps.ts makes it). */
export interface CheckContext {
  model: Model;
  where: string;
  problems: Problems;
  /** Where a field of the body is written. */
  field(k: string): Origin;
  /** A resolved name's value, or undefined after reporting it (once, and saying which step removed it). */
  need<T>(r: Resolved<T>, at: Origin, path: string, ref?: { kind: string; name?: string; namespace?: string }): T | undefined;
  /** Checks an address of an expectation (`path`: where the expectation is, `['expect']` or `['expectIn', MODE]`). */
  address(k: string, a: AddressRef | undefined, path?: string[], at?: Origin): void;
  /** The step's expectation and its expectIn ones, each with where it is written. */
  expectations<E>(e: E): [string[], E][];
  /** Where something of the step is written (`at('expect', 'backends', 1)`). */
  at(...path: (string | number)[]): Origin;
  /** An action's outcome: the model it leads to, or its problem reported (at `field` of the body, else the one it names); `name`: what it acts on. */
  act(r: ActionResult, name: string, field?: string): void;
  /** The model after the step (apply). */
  setModel(m: Model): void;
}

/** What running a step gives a kind (run/scenario.ts makes it). */
export interface RunContext {
  runner: Runner;
  /** The model as it is now. */
  model: Model;
  answeredBy: AnsweredBy;
  /** Brings the kernel (pods, kube-proxy, policies, ingress) and the model to `next`. */
  commit(next: Model): Promise<void>;
  /** kube-proxy's periodic full sync on every node. */
  resync(): Promise<void>;
  /** kube-proxy started anew on one node (its start-up sync and conntrack reconciler). */
  restartKubeProxy(node: string): Promise<void>;
  /** A node rebooted: its namespaces, devices and pods made anew, then its CNI, kube-proxy and workloads; resolves once it is ready. */
  reboot(node: string): Promise<void>;
  /** Every query the DNS servers (cluster DNS, upstream resolver) answered so far, in order. */
  readDnsLog?(): Promise<DnsLogEntry[]>;
}

/** A step's row in `knetlab plan` (the STEP, EXPECT and NAME columns are the plan's). */
export interface PlanRow {
  from: string;
  to: string;
  expect: string[];
  /** A probe's target: the Service port and endpoints it stands for (src/dataplane/way-in.ts). */
  wayIn?: WayIn;
}

/**
 * Everything about one step kind. Each part is required, so a kind missing one does not compile;
 * what all kinds share (count, expectIn, skip, naming with a variant) is done by the callers.
 */
export interface StepKindDef<K extends StepKindName, S, B extends z.ZodType = z.ZodType, E extends z.ZodType | undefined = z.ZodType | undefined> {
  /** The body's schema (`http: {...}`). */
  body: B;
  /** The expectation's schema, or undefined: the kind has nothing to expect (an action). */
  expect: E;
  /** Whether the step changes the cluster (apply, patch, ...): checking it re-runs the controllers. */
  changesModel: boolean;
  /** Whether its result names the endpoint that answered, which a later step's `sameBackendAs` compares with. */
  answeredByEndpoint: boolean;
  /** The step's own fields from its body and expectation (problems reported; undefined if any). */
  read(r: ReadContext<z.infer<B>, E extends z.ZodType ? z.infer<E> : never>): S | undefined | Promise<S | undefined>;
  /** Checks its names against the model as it is at this step, and changes it (actions). */
  check(step: KindStep<K, S>, c: CheckContext): void;
  /** Its row in `knetlab plan`, with the addresses its names stand for in model m. */
  plan(step: KindStep<K, S>, m: Model): PlanRow;
  /** Runs it and judges what it saw. */
  run(step: KindStep<K, S>, c: RunContext): Promise<Judged>;
  /** What it does, in words: its name in reports when the scenario gives none. */
  describe(step: KindStep<K, S>): string;
  /** The longest it may take as written (see scenario/worst-case.ts), and that in words for a message. */
  worstCase(step: KindStep<K, S>): { ms: number; as?: string };
}

/** A kind's module: `export const http = stepKind<'http', HttpSpec>()({ ... })` (the schemas' types are inferred). */
export function stepKind<K extends StepKindName, S>() {
  return <B extends z.ZodType, E extends z.ZodType | undefined>(def: StepKindDef<K, S, B, E>): StepKindDef<K, S, B, E> => def;
}

/** The step fields of a registered kind. */
// biome-ignore lint/suspicious/noExplicitAny: a type-level wildcard in a conditional type (unknown would not match the contravariant slots)
export type SpecOf<D> = D extends StepKindDef<any, infer S, any, any> ? S : never;
