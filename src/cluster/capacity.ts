import { podNetns } from '../dataplane/names.js';
import type { Problems } from '../scenario/problems.js';
import { originAt, type Origin } from '../scenario/source.js';
import { cidrOf, intToIp } from '../util/ip.js';
import { cniOf } from '../cni/index.js';
import type { Model, NetworkKind, Node, Pod } from './types.js';

/** Linux's limit on a file name (NAME_MAX): a pod's network namespace is a file in /run/netns. */
const NETNS_NAME_MAX = 255;

/** The addresses the CNI's IPAM hands out in a node's subnet (flannel's host-local: .2 up to the one before broadcast; Calico: its block but the tunnel's address). */
export function podAddressRange(node: Node, network: NetworkKind): { first: string; last: string; size: number } {
  const c = cidrOf(node.podCIDR);
  const o = cniOf(network).podOrdinals(c);
  const first = c.base + o.first;
  const last = c.base + o.last;
  return { first: intToIp(first), last: intToIp(last), size: Math.max(0, last - first + 1) };
}

/** A pod the scheduler placed on a node whose subnet had no address left for it. */
export const lacksAddress = (p: Pod): boolean => p.node !== undefined && p.ip === undefined && !p.hostNetwork;

const ownerOf = (p: Pod): string => (p.owner ? `${p.owner.kind} ${p.namespace}/${p.owner.name}` : `Pod ${p.namespace}/${p.name}`);

/**
 * More pods on a node than its pod subnet holds is an error naming the node and the subnet (a
 * cluster would leave them Pending, and the steps would fail for it). With `after`, only pods that
 * step left without an address are reported, at the step; else each at the object it comes from.
 */
export function reportCapacity(model: Model, problems: Problems, after?: { step: Origin; where: string; before: Model }): void {
  const already = new Set((after?.before.pods ?? []).filter(lacksAddress).map((p) => `${p.namespace}/${p.name}`));
  const byNode = new Map<string, Pod[]>();
  for (const p of model.pods) {
    if (!lacksAddress(p) || already.has(`${p.namespace}/${p.name}`)) continue;
    const list = byNode.get(p.node!) ?? [];
    list.push(p);
    byNode.set(p.node!, list);
  }
  for (const [nodeName, pods] of byNode) {
    const node = model.nodes.find((n) => n.name === nodeName);
    if (!node) continue;
    const { first, last, size } = podAddressRange(node, model.config.network);
    const placed = model.pods.filter((p) => p.node === nodeName && !p.hostNetwork).length;
    const holds = `node ${nodeName}'s ${cniOf(model).subnetWord} ${node.podCIDR} holds ${size} pod${size === 1 ? '' : 's'} (${first} to ${last}), and ${placed} would run on it`;
    const fix = 'spread the pods over more nodes (nodeSelector, more nodes) or give the node a larger `podCIDR`';
    if (after) {
      problems.error(
        'no-free-address',
        after.step,
        `\`${after.where}\`: ${holds}: ${pods
          .map((p) => `${p.namespace}/${p.name}`)
          .slice(0, 3)
          .join(', ')}${pods.length > 3 ? ` and ${pods.length - 3} more` : ''} would get no address; ${fix}`,
      );
      continue;
    }
    const byOwner = new Map<string, Pod[]>();
    for (const p of pods) {
      const list = byOwner.get(ownerOf(p)) ?? [];
      list.push(p);
      byOwner.set(ownerOf(p), list);
    }
    for (const [owner, list] of byOwner) {
      problems.error(
        'no-free-address',
        originAt(list[0]!.origin, 'metadata', 'name'),
        `${holds}: ${list.length} pod${list.length === 1 ? '' : 's'} of ${owner} (${list[0]!.name}${list.length > 1 ? ', ...' : ''}) would get no address; ${fix}`,
      );
    }
  }
  // Reported once, where the pod's object is: its name names a file.
  const seen = new Set<Origin>();
  const existed = new Set((after?.before.pods ?? []).map((p) => `${p.namespace}/${p.name}`));
  for (const p of model.pods) {
    const ns = podNetns(p);
    if (ns.length <= NETNS_NAME_MAX || seen.has(p.origin) || existed.has(`${p.namespace}/${p.name}`)) continue;
    seen.add(p.origin);
    const at = after ? after.step : originAt(p.origin, 'metadata', 'name');
    problems.error(
      'name-too-long',
      at,
      `${after ? `\`${after.where}\`: ` : ''}pod ${p.namespace}/${p.name} of ${ownerOf(p)} would have a network namespace named ${ns.length} characters long (NAME.NAMESPACE); Linux allows ${NETNS_NAME_MAX}: use a shorter name`,
    );
  }
}
