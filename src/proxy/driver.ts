// What a kube-proxy mode is to knetlab: one driver per mode (src/proxy/drivers.ts registers them),
// each rendering a node's rules (pure, golden-tested), applying them to the node's namespace as
// that mode's sync loop does, and naming the kernel features it needs.
import type { SourceIpMode } from '../cluster/source-ip.js';
import type { Model } from '../cluster/types.js';
import type { ServiceSpec } from '../scenario/objects.js';
import type { Feature } from '../kernel/capabilities.js';
import type { Runner } from '../kernel/exec.js';
import type { ProxyMode } from './modes.js';

/** What every mode's applier gets from kube-proxy (kernel/kube-proxy.ts). */
export interface ApplyContext {
  runner: Runner;
  /** Deletes the conntrack entries of UDP endpoints gone since `prev` (if enabled), after the new rules are in. */
  clearStale(prev: Model | undefined, model: Model, nodeName: string): Promise<void>;
}

/** One run's kube-proxy in one mode, on every node: keeps what it applied per node between syncs. */
export interface ModeApplier {
  /** One sync of a node after the model changed (`prev`: the model before; undefined for the first). */
  sync(prev: Model | undefined, model: Model, nodeName: string): Promise<void>;
  /** kube-proxy's periodic full sync of a node: its rules restored again, changed or not. */
  resync(model: Model, nodeName: string): Promise<void>;
  /** kube-proxy started anew on a node (restarted, or its node rebooted): what it applied is forgotten, its first sync reads the kernel. */
  restart(model: Model, nodeName: string): Promise<void>;
}

/** What a mode's kernel features depend on (a Model is one): its Services' kinds and the IPVS scheduler. */
export interface FeatureModel {
  readonly services: readonly { readonly spec: Pick<ServiceSpec, 'type' | 'sessionAffinity' | 'loadBalancerSourceRanges'> }[];
  readonly config: { readonly ipvs: { readonly scheduler: string } };
}

export interface ProxyDriver<R = unknown, M extends ProxyMode = ProxyMode> {
  readonly mode: M;
  /** The node's desired kube-proxy state (pure: the golden files hold it). */
  render(model: Model, nodeName: string): R;
  /** The kernel side, for one run: a fresh applier that knows nothing applied yet. */
  apply(ctx: ApplyContext): ModeApplier;
  /** The kernel features the mode needs for this model, beyond what every scenario needs. */
  features(model: FeatureModel): Feature[];
  /** Where the source-IP model (src/cluster/source-ip.ts) departs from the iptables answers in this mode: its rules, its answers, the networks it models. */
  sourceIp: SourceIpMode;
}
