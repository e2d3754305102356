// A traced probe as marks on the topology picture: the namespaces it crossed numbered in order, where
// it was DNATed and SNATed (to which address), where it was dropped (by which rule), and the trace's
// summary lines as the caption. Pure: a TraceReport and a Namer in, data for graph-svg.ts out.
import { dnatByRule, type Namer, type TraceReport, traceSummary } from '../trace/report.js';
import type { TraceEvent } from '../trace/types.js';

export interface TraceMark {
  netns: string;
  kind: 'dnat' | 'snat' | 'drop';
  /** Short, beside the place: `DNAT -> 172.20.0.3:80`, `DROP filter KUBE-EXTERNAL-SERVICES`. */
  text: string;
}

export interface TraceOverlay {
  /** The namespaces crossed on the way out, in order: hop 1 is the sender. */
  hops: string[];
  marks: TraceMark[];
  /** What was traced, then the summary that names every address (as a failed step's report shows it), wrapped. */
  caption: string[];
}

function ruleShort(e: TraceEvent): string {
  return e.kind === 'policy' ? `policy of ${e.table} ${e.chain}` : `${e.table} ${e.chain}`;
}

/** Caption lines past this many characters are wrapped at a space, so a long rule does not make the picture wide. */
const CAPTION_WIDTH = 120;

function wrap(line: string): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > CAPTION_WIDTH) {
    const cut = rest.lastIndexOf(' ', CAPTION_WIDTH);
    if (cut <= 2) break;
    out.push(rest.slice(0, cut));
    rest = `    ${rest.slice(cut + 1)}`;
  }
  return [...out, rest];
}

export function traceOverlay(r: TraceReport, n: Namer): TraceOverlay {
  const res = r.result;
  const marks: TraceMark[] = [];
  if (res.dnat) marks.push({ netns: res.dnat.netns, kind: 'dnat', text: `DNAT -> ${res.dnat.to}` });
  else {
    // A packet dropped after its DNAT leaves no conntrack entry: the rule tells where it was sent.
    const byRule = dnatByRule(res);
    if (byRule) marks.push({ netns: byRule.netns, kind: 'dnat', text: `DNAT -> ${byRule.to}` });
  }
  if (res.snat) marks.push({ netns: res.snat.netns, kind: 'snat', text: `SNAT -> ${res.snat.to}` });
  if (res.dropped) marks.push({ netns: res.dropped.netns, kind: 'drop', text: `${res.dropped.verdict === 'reject' ? 'REJECT' : 'DROP'} ${ruleShort(res.dropped)}` });
  const to = r.to.port === undefined ? r.to.ip : `${r.to.ip}:${r.to.port}`;
  return {
    hops: res.path,
    marks,
    caption: [`trace ${r.kind} ${r.from.ref} -> ${r.to.ref} = ${to} (${r.to.meaning}), kube-proxy in ${r.mode} mode`, ...traceSummary(r, n)].flatMap(wrap),
  };
}
