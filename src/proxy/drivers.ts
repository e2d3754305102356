// The registry of kube-proxy modes: a mode is its entry in proxyModes (modes.ts) and its driver here.
// A new mode: its name in modes.ts, its pure renderer in dataplane/ (on the shared service-port
// model, dataplane/service-port.ts, and portTraffic), a driver module in this folder, and its line
// below; the compiler then asks for every place that maps the modes (expectIn, this table).
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
