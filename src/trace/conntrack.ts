import type { ConntrackEntry, Endpoint, NatFacts, TracePacket } from './types.js';

/** `conntrack -L` lines: protocol, timeout, TCP state, the original tuple, flags, the reply tuple, mark. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    if (tokens.length < 4 || !/^[a-z0-9]+$/.test(tokens[0]!) || !/^\d+$/.test(tokens[1] ?? '')) continue;
    const tuples: Record<string, string>[] = [];
    const flags: string[] = [];
    let state: string | undefined;
    let timeout: number | undefined;
    let mark: number | undefined;
    for (const [i, tok] of tokens.slice(2).entries()) {
      const kv = /^([a-z_]+)=(.*)$/.exec(tok);
      if (kv) {
        const [, k, v] = kv as unknown as [string, string, string];
        if (k === 'src') tuples.push({});
        if (['src', 'dst', 'sport', 'dport', 'id'].includes(k) && tuples.length) tuples.at(-1)![k] = v;
        else if (k === 'mark') mark = Number(v);
      } else if (/^\[.*\]$/.test(tok)) flags.push(tok.slice(1, -1));
      else if (i === 0 && /^\d+$/.test(tok)) timeout = Number(tok);
      else if (/^[A-Z_]+$/.test(tok)) state = tok;
    }
    if (tuples.length < 2) continue;
    const tuple = (t: Record<string, string>): Endpoint => ({
      src: t.src ?? '',
      dst: t.dst ?? '',
      ...(t.sport ? { sport: Number(t.sport) } : {}),
      ...(t.dport ? { dport: Number(t.dport) } : {}),
      ...(t.id ? { id: Number(t.id) } : {}),
    });
    out.push({
      proto: tokens[0]!,
      ...(timeout !== undefined ? { timeout } : {}),
      ...(state ? { state } : {}),
      orig: tuple(tuples[0]!),
      reply: tuple(tuples[1]!),
      flags,
      ...(mark !== undefined ? { mark } : {}),
      line: line.trim(),
    });
  }
  return out;
}

const hostPort = (addr: string, port?: number) => (port === undefined ? addr : `${addr}:${port}`);

/**
 * The NAT a conntrack entry shows: the reply comes from where the packet was really sent (DNAT
 * when that differs from the original destination), and goes to what the packet's source became
 * (SNAT or masquerade when that differs from the original source).
 */
export function natOf(e: ConntrackEntry): NatFacts {
  const origDst = hostPort(e.orig.dst, e.orig.dport);
  const realDst = hostPort(e.reply.src, e.reply.sport);
  const origSrc = hostPort(e.orig.src, e.orig.sport);
  const realSrc = hostPort(e.reply.dst, e.reply.dport);
  return {
    ...(origDst !== realDst ? { dnat: { from: origDst, to: realDst } } : {}),
    ...(origSrc !== realSrc ? { snat: { from: origSrc, to: realSrc } } : {}),
  };
}

/** The entry whose original tuple is this packet's (as it entered the namespace, before NAT there). */
export function conntrackFor(entries: readonly ConntrackEntry[], packet: TracePacket, proto?: string): ConntrackEntry | undefined {
  return entries.find(
    (e) =>
      (proto === undefined || e.proto === proto) &&
      e.orig.src === packet.src &&
      e.orig.dst === packet.dst &&
      (packet.sport === undefined || e.orig.sport === packet.sport) &&
      (packet.dport === undefined || e.orig.dport === packet.dport),
  );
}
