import type { Node } from '../cluster/types.js';
import { KnetlabError } from '../errors.js';

/** A node's address on one of its CNI's devices; a renderer that asks for a device the CNI did not make is a bug. */
export function nodeAddress(node: Node, device: string): string {
  const ip = Object.hasOwn(node.addresses, device) ? node.addresses[device] : undefined;
  if (ip === undefined) throw new KnetlabError('EINTERNAL', `node ${node.name} has no address on ${device} (it has ${Object.keys(node.addresses).join(', ') || 'none'})`);
  return ip;
}
