// Every address of the cluster at one moment with the names a scenario would give it, so that
// traces and reports print `10.244.1.0 (node/node-2@flannel.1)` rather than a bare number.
import type { Model } from './types.js';

/** Calico's pods route everything via this address, answered by proxy ARP on the host's cali veth. */
export const CALICO_POD_GATEWAY = '169.254.1.1';

/** Address -> its names, most telling first (a pod before the Service it stands behind, eth0 before anything else of a node). */
export type AddressBook = ReadonlyMap<string, readonly string[]>;

const inNs = (name: string, namespace: string): string => (namespace === 'default' ? name : `${name}.${namespace}`);

export function addressBook(model: Model): AddressBook {
  const book = new Map<string, string[]>();
  const add = (ip: string | undefined, name: string) => {
    if (!ip) return;
    const names = book.get(ip);
    if (!names) book.set(ip, [name]);
    else if (!names.includes(name)) names.push(name);
  };
  for (const n of model.nodes) {
    add(n.ip, `node/${n.name}`);
    for (const ip of n.extraAddresses ?? []) add(ip, `node/${n.name}`);
    for (const [device, ip] of Object.entries(n.addresses)) add(ip, `node/${n.name}@${device}`);
  }
  for (const h of model.hosts) add(h.ip, `host/${h.name}`);
  add(model.config.gateway, 'the LAN router');
  // A hostNetwork pod has its node's address, which the node's name already tells.
  for (const p of model.pods) if (!p.hostNetwork) add(p.ip, `pod/${inNs(p.name, p.namespace)}`);
  for (const s of model.services) {
    const name = inNs(s.name, s.namespace);
    add(s.clusterIP, `service/${name}`);
    for (const ip of s.spec.externalIPs ?? []) add(ip, `externalip/${name}`);
    for (const ip of s.loadBalancerIPs) add(ip, `loadbalancer/${name}`);
  }
  if (model.config.network.startsWith('calico-')) add(CALICO_POD_GATEWAY, "Calico's pod gateway");
  return book;
}

/** `ip (name, name)`, or the bare address when the cluster has no name for it. */
export function named(book: AddressBook, ip: string): string {
  const names = book.get(ip);
  return names?.length ? `${ip} (${names.join(', ')})` : ip;
}

/** `ip:port (name)`: an address with its port, named as `named` does. */
export function namedWithPort(book: AddressBook, ip: string, port: number | undefined): string {
  if (port === undefined) return named(book, ip);
  const names = book.get(ip);
  return names?.length ? `${ip}:${port} (${names.join(', ')})` : `${ip}:${port}`;
}
