// The topology as a hand-written SVG: nodes in a row on the LAN line with their devices and pods, the
// overlay between them, the LAN's router and hosts, the Services; a traced path drawn over it when
// given. Every name and label is escaped: scenario names and rule texts come from strangers.
import {
  type Box,
  bridgeLabel,
  CH,
  hostLines,
  LH,
  layout,
  overlayLine,
  PAD,
  type Point,
  podLines,
  routerLines,
  serviceColumns,
  serviceRows,
  textWidth,
  unplacedLine,
} from './graph-layout.js';
import type { Graph } from './graph-model.js';
import type { TraceOverlay } from './graph-trace.js';

// Characters XML 1.0 does not allow at all (control characters but tab and newlines, lone surrogates, U+FFFE/F).
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/gu;

/** Text or an attribute value, safe inside an element or between double quotes. */
export function xmlEscape(s: string): string {
  return s.replace(NOT_XML, '\ufffd').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const num = (n: number): string => String(Math.round(n * 10) / 10);

function text(x: number, y: number, s: string, cls?: string, anchor?: 'middle' | 'end'): string {
  return `<text x="${num(x)}" y="${num(y)}"${cls ? ` class="${cls}"` : ''}${anchor ? ` text-anchor="${anchor}"` : ''}>${xmlEscape(s)}</text>`;
}

function rect(b: Box, cls: string): string {
  return `<rect x="${num(b.x)}" y="${num(b.y)}" width="${num(b.w)}" height="${num(b.h)}" class="${cls}"/>`;
}

function line(a: Point, b: Point, cls: string): string {
  return `<line x1="${num(a.x)}" y1="${num(a.y)}" x2="${num(b.x)}" y2="${num(b.y)}" class="${cls}"/>`;
}

/** Two lines of text in a box, the first bold. */
function machine(b: Box, lines: readonly [string, string], cls: string): string[] {
  return [rect(b, cls), text(b.x + PAD, b.y + PAD + 12, lines[0], 'head'), text(b.x + PAD, b.y + PAD + 12 + LH, lines[1])];
}

const STYLE = [
  'text{font-family:monospace;font-size:12px;fill:#1f2937}',
  '.head{font-weight:bold}',
  '.title{font-size:14px;font-weight:bold}',
  '.dim{fill:#6b7280}',
  '.node{fill:#f8fafc;stroke:#334155;stroke-width:1.5}',
  '.pod{fill:#ecfdf5;stroke:#047857}',
  '.pod.host-network{stroke-dasharray:4 3}',
  '.bridge{fill:#dbeafe;stroke:#1d4ed8}',
  '.machine{fill:#fefce8;stroke:#a16207}',
  '.wire{stroke:#334155;stroke-width:1.5}',
  '.lan{stroke:#a16207;stroke-width:4}',
  '.overlay{stroke:#7c3aed;stroke-width:2;stroke-dasharray:6 4}',
  '.hop-path{fill:none;stroke:#ea580c;stroke-width:3;stroke-opacity:0.8}',
  '.hop{fill:#ea580c;stroke:#fff;stroke-width:1.5}',
  '.hop-n{fill:#fff;font-weight:bold;font-size:11px}',
  '.mark-bg{fill:#fff;fill-opacity:0.9;stroke:none}',
  '.dnat{fill:#1d4ed8;font-weight:bold}',
  '.snat{fill:#7e22ce;font-weight:bold}',
  '.drop{fill:#dc2626;font-weight:bold}',
  '.drop-x{stroke:#dc2626;stroke-width:3}',
].join('');

/** The whole picture; with a trace, its hops, NAT points and drop over it and its summary under it. */
export function graphSvg(g: Graph, trace?: TraceOverlay): string {
  const caption = trace?.caption ?? [];
  const L = layout(g, caption.length, Math.max(0, ...caption.map(textWidth)));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}">`,
    `<title>${xmlEscape(`knetlab graph: ${g.scenario}`)}</title>`,
    `<style>${STYLE}</style>`,
    '<defs><marker id="knetlab-arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#ea580c"/></marker></defs>',
    `<rect x="0" y="0" width="${L.width}" height="${L.height}" fill="#fff"/>`,
    text(20, 20 + 12, `knetlab graph: ${g.scenario}`, 'title'),
    text(20, 20 + 12 + LH + 4, overlayLine(g), 'dim'),
  ];
  // Wires first, boxes over them: the LAN line, each node's eth0 and each machine's port on it.
  out.push(line({ x: L.lan.x1, y: L.lan.y }, { x: L.lan.x2, y: L.lan.y }, 'lan'), text(L.lan.x2, L.lan.y + 18, L.lan.label, 'head', 'end'));
  for (const n of L.nodes) out.push(line({ x: n.box.x + n.box.w / 2, y: n.box.y + n.box.h }, { x: n.box.x + n.box.w / 2, y: L.lan.y }, 'wire'));
  out.push(line({ x: L.router.x + L.router.w / 2, y: L.router.y }, { x: L.router.x + L.router.w / 2, y: L.lan.y }, 'wire'));
  g.hosts.forEach((h, i) => {
    const b = L.hosts[i]!;
    const to = h.behindRouter ? { x: L.router.x + L.router.w / 2, y: L.router.y + L.router.h } : { x: b.x + b.w / 2, y: L.lan.y };
    out.push(line({ x: b.x + b.w / 2, y: b.y }, to, 'wire'));
  });
  // The overlay: from each node's tunnel device line to the next node's.
  g.nodes.forEach((n, i) => {
    const next = L.nodes[i + 1];
    if (!n.tunnel || !next || !g.nodes[i + 1]?.tunnel) return;
    const y = L.nodes[i]!.box.y + PAD + 3 * LH + 8;
    out.push(line({ x: L.nodes[i]!.box.x + L.nodes[i]!.box.w, y }, { x: next.box.x, y }, 'overlay'));
  });
  g.nodes.forEach((n, i) => {
    const nl = L.nodes[i]!;
    out.push(rect(nl.box, 'node'));
    nl.lines.forEach((l, j) => out.push(text(nl.box.x + PAD, nl.box.y + PAD + 12 + j * LH, l, j === 0 ? 'head' : undefined)));
    if (nl.bridge) out.push(rect(nl.bridge, 'bridge'), text(nl.bridge.x + PAD, nl.bridge.y + 15, bridgeLabel(n)));
    if (nl.bus) out.push(line({ x: nl.bus.x, y: nl.bus.y1 }, { x: nl.bus.x, y: nl.bus.y2 }, 'wire'));
    n.pods.forEach((p, j) => {
      const b = nl.pods[j]!;
      if (nl.bus && !p.hostNetwork) out.push(line({ x: nl.bus.x, y: b.y + b.h / 2 }, { x: b.x, y: b.y + b.h / 2 }, 'wire'));
      out.push(...machine(b, podLines(p), p.hostNetwork ? 'pod host-network' : 'pod'));
    });
  });
  out.push(...machine(L.router, routerLines(g), 'machine'));
  g.hosts.forEach((h, i) => out.push(...machine(L.hosts[i]!, hostLines(h), 'machine')));
  if (g.services.length) {
    const cols = serviceColumns(g);
    out.push(text(20, L.servicesY + 12, 'Services', 'head'));
    serviceRows(g).forEach((row, r) => row.forEach((cell, c) => out.push(text(cols[c]!, L.servicesY + 12 + (r + 1) * LH, cell, r === 0 ? 'dim' : undefined))));
  }
  const unplaced = unplacedLine(g);
  if (unplaced) out.push(text(20, L.unplacedY + 12, unplaced));
  if (trace) {
    out.push(...traceMarks(trace, L.anchors));
    // SVG collapses leading spaces: a wrapped line's indent becomes its x.
    caption.forEach((c, i) => {
      const indent = c.length - c.trimStart().length;
      out.push(text(20 + indent * CH, L.captionY + 12 + i * LH, c.trimStart(), i === 0 ? 'head' : undefined));
    });
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The path through the hops' anchors with arrows, a numbered disc at each, the NAT and drop labels beside. */
function traceMarks(trace: TraceOverlay, anchors: ReadonlyMap<string, Point>): string[] {
  const hops = trace.hops.map((netns, i) => ({ n: i + 1, at: anchors.get(netns) })).filter((h): h is { n: number; at: Point } => h.at !== undefined);
  const out: string[] = [];
  for (let i = 1; i < hops.length; i++) {
    const a = hops[i - 1]!.at;
    const b = hops[i]!.at;
    // Stop short of the disc, so the arrowhead shows.
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const end = { x: b.x - ((b.x - a.x) / len) * 11, y: b.y - ((b.y - a.y) / len) * 11 };
    out.push(`<path d="M${num(a.x)},${num(a.y)}L${num(end.x)},${num(end.y)}" class="hop-path" marker-end="url(#knetlab-arrow)"/>`);
  }
  for (const h of hops) out.push(`<circle cx="${num(h.at.x)}" cy="${num(h.at.y)}" r="9" class="hop"/>`, text(h.at.x, h.at.y + 4, String(h.n), 'hop-n', 'middle'));
  const shown = new Map<string, number>();
  for (const m of trace.marks) {
    const at = anchors.get(m.netns);
    if (!at) continue;
    const k = shown.get(m.netns) ?? 0;
    shown.set(m.netns, k + 1);
    const x = at.x + 14;
    const y = at.y + 18 + k * (LH + 2);
    if (m.kind === 'drop')
      out.push(line({ x: at.x - 7, y: at.y - 7 }, { x: at.x + 7, y: at.y + 7 }, 'drop-x'), line({ x: at.x - 7, y: at.y + 7 }, { x: at.x + 7, y: at.y - 7 }, 'drop-x'));
    out.push(`<rect x="${num(x - 3)}" y="${num(y - 12)}" width="${num(textWidth(m.text) + 6)}" height="${LH}" class="mark-bg"/>`, text(x, y, m.text, m.kind));
  }
  return out;
}
