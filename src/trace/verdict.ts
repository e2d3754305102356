// What the kernel did to one probe, as expectations and packet-flow tables judge it: where it was
// DNATed and masqueraded, which rule dropped or rejected it, the namespaces it crossed. Pure.
import { isOutbound, type TraceResult } from './result.js';
import type { TraceEvent, TracePacket } from './types.js';
import type { Namer } from './report.js';

/** A NAT of the probe's way out: in which namespace, the address (and port) before and after, and the rule when the trace shows it. */
export interface NatPoint {
  netns: string;
  /** `10.96.0.10:80`, or an address alone for ICMP; undefined when only the rule told and the packet showed no destination. */
  from?: string;
  to: string;
  rule?: TraceEvent;
  /** Only the rule tells (conntrack never confirmed the connection: it was dropped after its DNAT). */
  unconfirmed?: boolean;
}

export interface KernelVerdict {
  /** The first DNAT on the way out: from conntrack, else from the DNAT rule the packet hit. */
  dnat?: NatPoint;
  /** The first SNAT or masquerade on the way out (conntrack's reply tuple goes elsewhere than the source). */
  masquerade?: NatPoint;
  /** The rule (or chain policy) that dropped or rejected one of the probe's packets, and the text `droppedBy` is matched against. */
  dropped?: { netns: string; verdict: 'drop' | 'reject'; rule: TraceEvent; text: string };
  /** The namespaces the probe's way out crossed, in order (the sender first). */
  path: string[];
  /** Every rule (not a chain's policy) that accepted one of the probe's packets on its way out, in path order, with its text. */
  accepted?: { netns: string; rule: TraceEvent; text: string }[];
  /** The first SNAT or masquerade rule the way out hit: it shows a masquerade to the address and port the packet already had (a node's own), which conntrack cannot. */
  masqueradeRule?: { netns: string; rule: TraceEvent };
}

/** Reads a trace into what expectations judge. */
export function kernelVerdict(r: TraceResult): KernelVerdict {
  const dnat = r.dnat ? { netns: r.dnat.netns, from: r.dnat.from, to: r.dnat.to, ...withRule(natRule(r, r.dnat.netns, 'DNAT')) } : dnatByRule(r);
  const masquerade = r.snat ? { netns: r.snat.netns, from: r.snat.from, to: r.snat.to, ...withRule(natRule(r, r.snat.netns, 'SNAT')) } : undefined;
  const d = r.dropped;
  const dropped = d && (d.verdict === 'drop' || d.verdict === 'reject') ? { netns: d.netns, verdict: d.verdict, rule: d, text: ruleText(d) } : undefined;
  const accepted = outboundEvents(r)
    .filter(({ e }) => e.kind === 'rule' && e.verdict === 'accept')
    .map(({ netns, e }) => ({ netns, rule: e, text: ruleText(e) }));
  const snatRule = outboundEvents(r).find(({ e }) => {
    const t = e.rule ? natTarget(e.rule) : undefined;
    return t !== undefined && !t.startsWith('DNAT');
  });
  return {
    path: r.path,
    ...(dnat ? { dnat } : {}),
    ...(masquerade ? { masquerade } : {}),
    ...(dropped ? { dropped } : {}),
    ...(accepted.length ? { accepted } : {}),
    ...(snatRule ? { masqueradeRule: { netns: snatRule.netns, rule: snatRule.e } } : {}),
  };
}

/** The rules the probe's way out matched, in path order. */
function outboundEvents(r: TraceResult): { netns: string; e: TraceEvent }[] {
  return r.path.flatMap((netns) =>
    (r.namespaces.find((x) => x.netns === netns)?.passes.filter(isOutbound) ?? []).flatMap((p) => p.hooks.flatMap((h) => h.events.map((e) => ({ netns, e })))),
  );
}

/** The text `droppedBy` matches: table, chain and the rule as printed (a chain's policy: `policy drop`). */
export function ruleText(e: TraceEvent): string {
  return `${e.table} ${e.chain} ${e.kind === 'policy' ? `policy ${e.verdict}` : (e.rule ?? e.verdict)}`;
}

/** `DNAT to 10.244.0.3:80`, `MASQUERADE`, `SNAT to ...` from an iptables or nft rule's text. */
export function natTarget(text: string): string | undefined {
  // A comment may say "masquerade" (KUBE-MARK-MASQ's does): only the rule's own words count.
  const rule = text.replace(/(?:--comment|\bcomment) "(?:[^"\\]|\\.)*"/g, '');
  const dnat = /(?:-j DNAT --to-destination|dnat to) (\S+)/.exec(rule);
  if (dnat) return `DNAT to ${dnat[1]}`;
  // nft's `jump mark-for-masquerade` only marks: the statement is the word alone.
  if (/-j MASQUERADE|(?:^|\s)masquerade(?:\s|$)/.test(rule)) return 'MASQUERADE';
  const snat = /(?:-j SNAT --to-source|snat to) (\S+)/.exec(rule);
  return snat ? `SNAT to ${snat[1]}` : undefined;
}

const withRule = (rule: TraceEvent | undefined) => (rule ? { rule } : {});

/** The rule that did a NAT of this kind on the probe's way out of a namespace. */
function natRule(r: TraceResult, netns: string, kind: 'DNAT' | 'SNAT'): TraceEvent | undefined {
  const events =
    r.namespaces
      .find((x) => x.netns === netns)
      ?.passes.filter(isOutbound)
      .flatMap((p) => p.hooks.flatMap((h) => h.events)) ?? [];
  return events.find((e) => {
    const t = e.rule ? natTarget(e.rule) : undefined;
    return t && (kind === 'DNAT' ? t.startsWith('DNAT') : !t.startsWith('DNAT'));
  });
}

/** A DNAT only its rule shows, in path order: a packet dropped after its DNAT leaves no conntrack entry (never confirmed). */
function dnatByRule(r: TraceResult): NatPoint | undefined {
  for (const netns of r.path) {
    const passes = r.namespaces.find((x) => x.netns === netns)?.passes.filter(isOutbound) ?? [];
    for (const h of passes.flatMap((p) => p.hooks))
      for (const e of h.events) {
        const t = e.rule ? natTarget(e.rule) : undefined;
        if (t?.startsWith('DNAT to ')) {
          const from = packetDst(h.packet);
          return { netns, ...(from ? { from } : {}), to: t.slice('DNAT to '.length), rule: e, unconfirmed: true };
        }
      }
  }
  return undefined;
}

function packetDst(p: TracePacket): string | undefined {
  if (!p.dst) return undefined;
  return p.dport === undefined ? p.dst : `${p.dst}:${p.dport}`;
}

/** One try as the kernel's trace and conntrack showed it; places named as steps name them (`node/node-2`). */
export interface KernelSeen {
  /** The places its way out crossed, in order (the sender first). */
  path: string[];
  /** The first DNAT: where (`in`), and the destination before and after (`10.96.0.10:80` -> `10.244.0.2:80`). */
  dnat?: { in: string; from?: string; to: string };
  /** The first SNAT or masquerade: where, and the source before and after. */
  masquerade?: { in: string; from?: string; to: string };
  /** The rule (or chain policy) that dropped or rejected it, in the words droppedBy is matched against. */
  dropped?: { in: string; verdict: 'drop' | 'reject'; rule: string };
}

/** A try's verdict as a report carries it: places by their names, the dropping rule in words. */
export function kernelSeen(v: KernelVerdict, n: Namer): KernelSeen {
  const nat = (p: NatPoint) => ({ in: n.netns(p.netns), ...(p.from !== undefined ? { from: p.from } : {}), to: p.to });
  return {
    path: v.path.map((x) => n.netns(x)),
    ...(v.dnat ? { dnat: nat(v.dnat) } : {}),
    ...(v.masquerade ? { masquerade: nat(v.masquerade) } : {}),
    ...(v.dropped ? { dropped: { in: n.netns(v.dropped.netns), verdict: v.dropped.verdict, rule: v.dropped.text } } : {}),
  };
}
