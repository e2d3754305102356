// How kube-proxy's IPVS mode brings a node from what the kernel has to what renderIpvs wants, as
// pure text: the ip lines for kube-ipvs0, the ipvsadm commands that turn the current virtual
// servers (`ipvsadm -Sn`) into the desired ones, the sysctls it sets at start-up and the iptables
// text with its jumps. kube-proxy reconciles against the kernel's state on every sync (it lists
// the virtual servers and kube-ipvs0's addresses, then adds, edits and deletes), so an address or
// a virtual server added by hand outlives a sync only when kube-proxy has no reason to remove it.
import type { Model } from '../cluster/types.js';
import { ipvsJumps, KUBE_IPVS_DEVICE, type IpvsRender } from './ipvs.js';
import { NEWEST_KUBERNETES_VERSION, type KubernetesVersion } from './versions.js';
import { withJumps } from './kube-proxy-sync.js';
import { KnetlabError } from '../errors.js';

/**
 * The sysctls kube-proxy's IPVS proxier sets when it starts (NewProxier): IPVS connections tracked
 * by conntrack (the iptables MASQUERADE needs them), connections to a removed real server or an
 * expired persistence template dropped at their next packet; with strictARP, the node neither
 * answers nor announces kube-ipvs0's addresses on its other interfaces.
 * (conn_reuse_mode is left alone: kube-proxy only sets it on kernels before 5.9.)
 */
export function ipvsSysctls(model: Model): Record<string, string> {
  const out: Record<string, string> = {
    'net.ipv4.vs.conntrack': '1',
    'net.ipv4.vs.expire_nodest_conn': '1',
    'net.ipv4.vs.expire_quiescent_template': '1',
  };
  if (model.config.ipvs.strictARP) {
    out['net.ipv4.conf.all.arp_ignore'] = '1';
    out['net.ipv4.conf.all.arp_announce'] = '2';
  }
  return out;
}

/**
 * `ip -batch` lines that make kube-ipvs0 (a dummy device, left down as kube-proxy leaves it: a down
 * dummy still makes its addresses local) hold exactly `desired`, given the addresses it has
 * (`current`; undefined when the device does not exist yet).
 */
export function dummyAddressLines(current: readonly string[] | undefined, desired: readonly string[]): string[] {
  const lines: string[] = [];
  if (current === undefined) lines.push(`link add ${KUBE_IPVS_DEVICE} type dummy`);
  const have = new Set(current ?? []);
  const want = new Set(desired);
  for (const ip of have) if (!want.has(ip)) lines.push(`address del ${ip}/32 dev ${KUBE_IPVS_DEVICE}`);
  for (const ip of desired) if (!have.has(ip)) lines.push(`address add ${ip}/32 dev ${KUBE_IPVS_DEVICE}`);
  return lines;
}

interface VirtualServer {
  /** `-t 10.96.0.1:443` */
  key: string;
  /** The scheduler and flags after the key: `-s rr -p 10800`. */
  options: string;
  /** Real server `ip:port` -> its options (`-m -w 1`). */
  reals: Map<string, string>;
}

/** Parses `ipvsadm -Sn` output (or renderIpvs's text, which has the same syntax). */
export function parseIpvsadm(text: string): Map<string, VirtualServer> {
  const out = new Map<string, VirtualServer>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^-([Aa]) (-[tuf]|--sctp-service) (\S+)(?: (.*))?$/.exec(line);
    if (!m) throw new KnetlabError('EINTERNAL', `Expected an ipvsadm -A or -a line, got \`${line}\``);
    const [, verb, flag, addr, rest = ''] = m;
    const key = `${flag} ${addr}`;
    if (verb === 'A') {
      out.set(key, { key, options: rest, reals: new Map() });
      continue;
    }
    const r = /^-r (\S+)(?: (.*))?$/.exec(rest);
    const vs = out.get(key);
    if (!r || !vs) throw new KnetlabError('EINTERNAL', `Expected \`-a ${key} -r IP:PORT ...\` after its virtual server's -A line, got \`${line}\``);
    vs.reals.set(r[1]!, r[2] ?? '');
  }
  return out;
}

/**
 * The connections IPVS holds per real server, from `ipvsadm -Ln` (ActiveConn + InActConn), keyed
 * `-t VIP:PORT REAL:PORT` as ipvsadmChanges names them.
 */
export function parseIpvsadmConnections(listing: string): Map<string, number> {
  const out = new Map<string, number>();
  const flags: Record<string, string> = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service' };
  let vs: string | undefined;
  for (const line of listing.split('\n')) {
    const v = /^(TCP|UDP|SCTP)\s+(\S+)/.exec(line);
    if (v) {
      vs = `${flags[v[1]!]} ${v[2]}`;
      continue;
    }
    const r = /^\s+->\s+(\S+)\s+\S+\s+\d+\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (r && vs) out.set(`${vs} ${r[1]}`, Number(r[2]) + Number(r[3]));
  }
  return out;
}

/** The real servers each virtual server of `want` had in `have` and no longer has. */
function* removedReals(have: Map<string, VirtualServer>, want: Map<string, VirtualServer>): Generator<{ key: string; rs: string; opts: string }> {
  for (const [key, vs] of want) {
    for (const [rs, opts] of have.get(key)?.reals ?? []) if (!vs.reals.has(rs)) yield { key, rs, opts };
  }
}

/** The TCP and SCTP real servers `desired` no longer has (keys as parseIpvsadmConnections'): kube-proxy removes those gracefully. */
export function gracefulRemovals(current: string, desired: string): string[] {
  const out: string[] = [];
  for (const { key, rs } of removedReals(parseIpvsadm(current), parseIpvsadm(desired))) if (!key.startsWith('-u ')) out.push(`${key} ${rs}`);
  return out;
}

/**
 * `ipvsadm -R` input (one ipvsadm command a line; unlike the ipvsadm-restore wrapper it does not
 * clear the table first) turning `current` into `desired`: virtual servers that went away deleted
 * (their real servers with them), changed ones edited, new ones added; then per virtual server
 * the real servers removed, edited and added. A TCP or SCTP real server that still has connections
 * (`connections`, from parseIpvsadmConnections) is not removed but set to weight 0, as kube-proxy's
 * graceful termination does: no new connection goes to it, the open ones go on, and a later sync
 * deletes it once they are gone. A UDP one goes at once (expire_nodest_conn ends its flows).
 */
export function ipvsadmChanges(current: string, desired: string, connections: ReadonlyMap<string, number> = new Map()): string {
  const have = parseIpvsadm(current);
  const want = parseIpvsadm(desired);
  const lines: string[] = [];
  for (const key of have.keys()) if (!want.has(key)) lines.push(`-D ${key}`);
  for (const [key, vs] of want) {
    const old = have.get(key);
    if (!old) lines.push(`-A ${key} ${vs.options}`);
    else if (old.options !== vs.options) lines.push(`-E ${key} ${vs.options}`);
  }
  for (const { key, rs, opts } of removedReals(have, want)) {
    if (!key.startsWith('-u ') && (connections.get(`${key} ${rs}`) ?? 0) > 0) {
      const drained = opts.replace(/-w \d+/, '-w 0');
      if (drained !== opts) lines.push(`-e ${key} -r ${rs} ${drained}`.trimEnd());
    } else lines.push(`-d ${key} -r ${rs}`);
  }
  for (const [key, vs] of want) {
    const old = have.get(key)?.reals ?? new Map<string, string>();
    for (const [rs, opts] of vs.reals) {
      if (!old.has(rs)) lines.push(`-a ${key} -r ${rs} ${opts}`.trimEnd());
      else if (old.get(rs) !== opts) lines.push(`-e ${key} -r ${rs} ${opts}`.trimEnd());
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The iptables-restore text of a sync: the first one also inserts the jumps from the builtin chains. */
export function ipvsIptablesRestore(render: IpvsRender, first: boolean, version: KubernetesVersion = NEWEST_KUBERNETES_VERSION): string {
  return first ? withJumps(render.iptables, ipvsJumps(version)) : render.iptables;
}
