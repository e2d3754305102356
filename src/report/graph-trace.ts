// A traced probe as marks on the topology picture: the namespaces it crossed numbered in order, where
// it was DNATed and SNATed (to which address), where it was dropped (by which rule), and the trace's
// summary lines as the caption. Pure: a TraceReport and a Namer in, data for graph-svg.ts out.
import { kernelVerdict } from '../trace/verdict.js';
import { type Namer, type TraceReport, traceSummary } from '../trace/report.js';
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
  // A packet dropped after its DNAT leaves no conntrack entry: the verdict takes the rule's word for where it was sent.
  const v = kernelVerdict(res);
  if (v.dnat) marks.push({ netns: v.dnat.netns, kind: 'dnat', text: `DNAT -> ${v.dnat.to}` });
  if (v.masquerade) marks.push({ netns: v.masquerade.netns, kind: 'snat', text: `SNAT -> ${v.masquerade.to}` });
  if (res.dropped) marks.push({ netns: res.dropped.netns, kind: 'drop', text: `${res.dropped.verdict === 'reject' ? 'REJECT' : 'DROP'} ${ruleShort(res.dropped)}` });
  const to = r.to.port === undefined ? r.to.ip : `${r.to.ip}:${r.to.port}`;
  return {
    hops: res.path,
    marks,
    caption: [`trace ${r.kind} ${r.from.ref} -> ${r.to.ref} = ${to} (${r.to.meaning}), kube-proxy in ${r.mode} mode`, ...traceSummary(r, n)].flatMap(wrap),
  };
}
