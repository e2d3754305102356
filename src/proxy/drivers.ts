// The registry of kube-proxy modes: a mode is its entry in proxyModes (modes.ts) and its driver here.
import { KnetlabError } from '../errors.js';
import type { ProxyDriver } from './driver.js';
import { iptablesDriver } from './iptables.js';
import { ipvsDriver } from './ipvs.js';
import { proxyModes, type ProxyMode } from './modes.js';
import { nftablesDriver } from './nftables.js';

export const proxyDrivers = {
  iptables: iptablesDriver,
  nftables: nftablesDriver,
  ipvs: ipvsDriver,
} as const satisfies { [M in ProxyMode]: ProxyDriver<unknown, M> };

/** The driver of a mode; a mode that is none of proxyModes is an error, never a fallback to iptables. */
export function proxyDriver(mode: string): ProxyDriver {
  if (!Object.hasOwn(proxyDrivers, mode)) throw new KnetlabError('EINVALID', `Unknown kube-proxy mode \`${mode}\`: expected ${proxyModes.join(', ')}`);
  return proxyDrivers[mode as ProxyMode];
}
