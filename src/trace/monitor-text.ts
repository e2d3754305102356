import type { TraceEvent, TraceMonitor, TracePacket, TracePass, Verdict } from './types.js';

/** knetlab's own marking table (kernel/trace.ts): its events only say where a packet entered, never what a rule did. */
const OWN_TABLE = 'knetlab-trace';
/** knetlab's marker packets (kernel/trace.ts TRACE_MARKER_ADDRESS), sent to know a monitor listens: not part of any probe. */
const MARKER = '127.0.0.127';

/** nf_tables families as xtables-monitor prints them (NFPROTO_*). */
const FAMILIES: Record<string, string> = { '1': 'inet', '2': 'ip', '3': 'arp', '7': 'bridge', '10': 'ip6' };
/** Negative nf_tables verdict codes xtables-monitor prints as numbers (NFT_CONTINUE .. NFT_RETURN). */
const NFT_CODES: Record<string, Verdict> = { '0xffffffff': 'continue', '0xfffffffe': 'continue', '0xfffffffd': 'jump', '0xfffffffc': 'goto', '0xfffffffb': 'return' };
const TCP_FLAGS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ecn', 'cwr'];

/** A rule that dropped with a REJECT target or reject statement rejected: the kernel sent an ICMP error or a reset. */
function refine(verdict: Verdict, rule: string | undefined): Verdict {
  return verdict === 'drop' && rule && /(^|\s)(-j REJECT|reject)(\s|$)/.test(rule) ? 'reject' : verdict;
}

/** `xtables-monitor --trace`: PACKET lines (the packet entering a base chain), then TRACE lines (rules, policy). */
export function parseXtablesTrace(text: string, netns: string): TraceEvent[] {
  const packets = new Map<string, { family: string; packet: TracePacket }>();
  const events: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    const p = /^PACKET: (\d+) (\S+) (.*)$/.exec(line);
    if (p) {
      packets.set(p[2]!, { family: FAMILIES[p[1]!] ?? p[1]!, packet: xtablesPacket(p[3]!) });
      continue;
    }
    const t = /^ TRACE: (\d+) (\S+) ([^: ]+):([^: ]+):(rule|policy|return)(?::(0x[0-9a-f]+))?:(\S*)(?: (.*))?$/.exec(line);
    if (!t) continue;
    const [, fam, traceId, table, chain, kind, handle, verdictText, rest] = t as unknown as string[];
    const seen = packets.get(traceId!);
    const [word, ...targetParts] = (verdictText ?? '').split(':');
    const code = (word ?? '').toLowerCase();
    const verdict = (NFT_CODES[code] ?? code) as Verdict;
    const target = targetParts.join(':') || undefined;
    const text = rest?.trim() || undefined;
    events.push({
      netns,
      traceId: traceId!,
      family: seen?.family ?? FAMILIES[fam!] ?? fam!,
      table: table!,
      chain: chain!,
      kind: kind as TraceEvent['kind'],
      ...(handle ? { handle: Number.parseInt(handle, 16) } : {}),
      ...(text ? { rule: text } : {}),
      verdict: refine(verdict, text),
      ...(target ? { target } : {}),
      packet: seen?.packet ?? {},
    });
  }
  return events;
}

function xtablesPacket(text: string): TracePacket {
  const fields = new Map<string, string>();
  const flags: string[] = [];
  for (const token of text.trim().split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq > 0) fields.set(token.slice(0, eq), token.slice(eq + 1));
    else if (/^(SYN|ACK|FIN|RST|PSH|URG|ECE|CWR)$/.test(token)) flags.push(token === 'ECE' ? 'ecn' : token.toLowerCase());
  }
  const num = (k: string) => (fields.has(k) ? Number(fields.get(k)) : undefined);
  const mark = fields.get('MARK');
  // xtables-monitor names no transport protocol: ports with TCP flags are TCP, ports without are UDP.
  const proto = fields.has('SPORT') ? (flags.length ? 'tcp' : 'udp') : undefined;
  return clean({
    iif: fields.get('IN'),
    oif: fields.get('OUT'),
    src: fields.get('SRC'),
    dst: fields.get('DST'),
    proto,
    sport: num('SPORT'),
    dport: num('DPORT'),
    ttl: num('TTL'),
    dscp: fields.has('TOS') ? Number(fields.get('TOS')) >> 2 : undefined,
    ipId: num('ID'),
    len: num('LEN'),
    mark: mark && Number(mark) !== 0 ? mark : undefined,
    tcpFlags: proto === 'tcp' ? TCP_FLAGS.filter((f) => flags.includes(f)) : undefined,
  });
}

/** `nft -a monitor trace`: `trace id ID FAMILY TABLE CHAIN packet: ...`, `... rule TEXT # handle N (verdict V)`, `... policy V`. */
export function parseNftTrace(text: string, netns: string): TraceEvent[] {
  const packets = new Map<string, TracePacket>();
  const events: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    const head = /^trace id (\S+) (\S+) (\S+) (\S+) (packet|rule|policy|return)(?::)? ?(.*)$/.exec(line);
    if (!head) continue;
    const [, traceId, family, table, chain, kind, rest] = head as unknown as string[];
    if (kind === 'packet') {
      packets.set(traceId!, nftPacket(rest!));
      continue;
    }
    const packet = packets.get(traceId!) ?? {};
    if (kind === 'policy') {
      events.push({
        netns,
        traceId: traceId!,
        family: family!,
        table: table!,
        chain: chain!,
        kind: 'policy',
        verdict: (rest!.trim().split(/\s+/)[0] ?? 'accept') as Verdict,
        packet,
      });
      continue;
    }
    const r = /^(.*?)(?: # handle (\d+))? \(verdict (\S+)(?: (\S+))?\)\s*$/.exec(rest!);
    const ruleText = (r ? r[1]! : rest!).trim().replace(/\s+/g, ' ');
    const verdict = (r?.[3] ?? (kind === 'return' ? 'return' : 'continue')) as Verdict;
    events.push({
      netns,
      traceId: traceId!,
      family: family!,
      table: table!,
      chain: chain!,
      kind: kind as TraceEvent['kind'],
      ...(r?.[2] ? { handle: Number(r[2]) } : {}),
      ...(ruleText ? { rule: ruleText } : {}),
      verdict: refine(verdict, ruleText),
      ...(r?.[4] ? { target: r[4] } : {}),
      packet,
    });
  }
  return events;
}

function nftPacket(text: string): TracePacket {
  const get = (re: RegExp) => re.exec(text)?.[1];
  const num = (re: RegExp) => {
    const v = get(re);
    return v === undefined ? undefined : Number(v);
  };
  const proto = get(/\b(tcp|udp|sctp) sport /) ?? get(/\bip protocol (\S+)/) ?? (/\bicmp type /.test(text) ? 'icmp' : undefined);
  const flagText = get(/\btcp flags == (\S+)/);
  const mark = get(/\bmeta mark (0x[0-9a-f]+)/);
  return clean({
    iif: get(/\biif "([^"]+)"/),
    oif: get(/\boif "([^"]+)"/),
    src: get(/\bip saddr (\S+)/),
    dst: get(/\bip daddr (\S+)/),
    proto,
    sport: num(/\b(?:tcp|udp|sctp) sport (\d+)/),
    dport: num(/\b(?:tcp|udp|sctp) dport (\d+)/),
    ttl: num(/\bip ttl (\d+)/),
    dscp: dscpOf(get(/\bip dscp (\S+)/)),
    ipId: num(/\bip id (\d+)/),
    len: num(/\bip length (\d+)/),
    mark: mark && Number(mark) !== 0 ? `0x${Number(mark).toString(16)}` : undefined,
    tcpFlags: flagText === undefined ? undefined : tcpFlags(flagText),
    icmpType: get(/\bicmp type (\S+)/),
    icmpId: num(/\bicmp id (\d+)/),
  });
}

/** nft prints a DSCP by its class name (cs0, af11, ef) or as a number. */
function dscpOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text.startsWith('0x') || /^\d+$/.test(text)) return Number(text);
  const cs = /^cs(\d)$/.exec(text);
  if (cs) return Number(cs[1]) << 3;
  const af = /^af(\d)(\d)$/.exec(text);
  if (af) return (Number(af[1]) << 3) | (Number(af[2]) << 1);
  return text === 'ef' ? 46 : undefined;
}

/** nft prints one flag by name (syn) or several as a number (0x12). */
function tcpFlags(text: string): string[] {
  if (!text.startsWith('0x')) return text.split('|');
  const n = Number.parseInt(text, 16);
  return TCP_FLAGS.filter((_, i) => n & (1 << i));
}

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The events of a monitor's text, whichever printed it. */
export function parseTrace(monitor: TraceMonitor, text: string, netns: string): TraceEvent[] {
  return monitor === 'xtables' ? parseXtablesTrace(text, netns) : parseNftTrace(text, netns);
}

/**
 * Events grouped into passes: one packet's way through one namespace. A pass starts where the
 * packet enters knetlab's own table (the first chain of prerouting and output); trace ids repeat
 * for later packets, so a new entry starts a new pass. Marker packets and knetlab's own rules are
 * left out; events of interleaved packets (an ICMP error sent from inside a rule) stay apart.
 */
export function groupPasses(events: readonly TraceEvent[]): TracePass[] {
  const passes: TracePass[] = [];
  const open = new Map<string, TracePass>();
  for (const e of events) {
    const key = `${e.netns}\u0000${e.traceId}`;
    const own = e.table === OWN_TABLE;
    let pass = open.get(key);
    const last = pass?.hooks.at(-1);
    const newHook = !last || last.packet !== e.packet;
    const afterRaw = last?.table === OWN_TABLE && last.chain === e.chain.replace('-ct', '-raw');
    if (!pass || (newHook && own && (e.chain.endsWith('-raw') || (e.chain.endsWith('-ct') && !afterRaw)))) {
      pass = { netns: e.netns, traceId: e.traceId, packet: e.packet, hooks: [] };
      open.set(key, pass);
      passes.push(pass);
    }
    if (newHook || pass.hooks.length === 0) pass.hooks.push({ family: e.family, table: e.table, chain: e.chain, packet: e.packet, events: [] });
    if (!own) pass.hooks.at(-1)!.events.push(e);
  }
  return passes.filter((p) => p.packet.dst !== MARKER).map((p) => ({ ...p, hooks: p.hooks.filter((h) => h.table !== OWN_TABLE) }));
}
