// Where each part of the topology sits in the picture: nodes as boxes in a row with their pods inside,
// the LAN line under them, the LAN's router and hosts below it, the Services and a caption under all.
// Text is monospace, so a label's width is its length times one character's.
import type { Graph, GraphNode } from './graph-model.js';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
export interface Point {
  x: number;
  y: number;
}

/** A monospace character at 12px (0.6em), a line, the padding inside a box. */
export const CH = 7.2;
export const LH = 16;
export const PAD = 10;
const MARGIN = 20;
const NODE_GAP = 56;
const HOST_GAP = 24;
/** Pods sit right of the node's bus line (cni0's ports, or Calico's routed veths). */
const BUS = 14;
const POD_H = 2 * LH + 8;
const POD_GAP = 8;
const BRIDGE_H = 22;
const MACHINE_H = 2 * LH + 12;

export const textWidth = (s: string): number => [...s].length * CH;

export interface NodeLayout {
  box: Box;
  /** The node's own lines: name, eth0, pod subnet, tunnel device; baseline of the first. */
  lines: string[];
  bridge?: Box;
  pods: Box[];
  /** The bus the pods hang from: x, and its top and bottom. */
  bus?: { x: number; y1: number; y2: number };
}

export interface Layout {
  width: number;
  height: number;
  nodes: NodeLayout[];
  /** The LAN line and its label (right end, under the line: beyond the rows of machines, clear of their wires). */
  lan: { y: number; x1: number; x2: number; label: string };
  /** The LAN's router (the `lan` namespace), first in the row below the LAN. */
  router: Box;
  hosts: Box[];
  /** Top of the Services table, the unplaced pods' line, the caption. */
  servicesY: number;
  unplacedY: number;
  captionY: number;
  /** Where a traced hop is drawn for each namespace. */
  anchors: Map<string, Point>;
}

export function nodeLines(n: GraphNode): string[] {
  return [
    n.place,
    `eth0 ${n.ip}`,
    `pods ${n.podCIDR}`,
    ...(n.tunnel ? [`${n.tunnel.device} ${n.tunnel.ip}`] : []),
    ...(n.ipvsDevice ? [`${n.ipvsDevice} (Service addresses)`] : []),
  ];
}

export function bridgeLabel(n: GraphNode): string {
  return n.bridge ? `${n.bridge.device} ${n.bridge.ip} (bridge)` : '';
}

export function podLines(p: Graph['nodes'][number]['pods'][number]): [string, string] {
  const second = p.hostNetwork ? `${p.ip ?? ''} hostNetwork` : [p.ip ?? 'no address', p.veth ?? ''].filter(Boolean).join(' ');
  return [p.state ? `${p.place} (${p.state})` : p.place, second];
}

export function routerLines(g: Graph): [string, string] {
  return ['LAN router (lan)', `gateway ${g.lan.gateway}`];
}

export function hostLines(h: Graph['hosts'][number]): [string, string] {
  return [h.place, h.ip];
}

export function serviceRows(g: Graph): string[][] {
  return [
    ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'],
    ...g.services.map((s) => [s.place, s.type, s.clusterIP || '<none>', s.external.join(',') || '<none>', s.ports || '<none>']),
  ];
}

export function unplacedLine(g: Graph): string {
  return g.unplaced.length ? `not placed on any node: ${g.unplaced.map((p) => (p.state ? `${p.place} (${p.state})` : p.place)).join(', ')}` : '';
}

const widest = (lines: readonly string[]): number => Math.max(0, ...lines.map(textWidth));

/** Lays out the graph; `captionLines` is how many lines a trace's caption takes (0 without one). */
export function layout(g: Graph, captionLines = 0, captionWidth = 0): Layout {
  const anchors = new Map<string, Point>();
  const top = MARGIN + 2 * LH + 8; // the title and the overlay's line above
  // Every node box as wide and as tall as the largest: a row that reads as one.
  const inner = Math.max(110, ...g.nodes.map((n) => widest([...nodeLines(n), bridgeLabel(n)])), ...g.nodes.flatMap((n) => n.pods.map((p) => widest(podLines(p)) + 2 * PAD + BUS)));
  const nodeW = inner + 2 * PAD;
  const height = (n: GraphNode) => PAD + nodeLines(n).length * LH + (n.bridge ? BRIDGE_H + POD_GAP : 0) + n.pods.length * (POD_H + POD_GAP) + PAD;
  const nodeH = Math.max(...g.nodes.map(height), 0);
  const nodes = g.nodes.map((n, i): NodeLayout => {
    const box = { x: MARGIN + i * (nodeW + NODE_GAP), y: top, w: nodeW, h: nodeH };
    const lines = nodeLines(n);
    let y = box.y + PAD + lines.length * LH + 4;
    const bridge = n.bridge ? { x: box.x + PAD, y, w: inner, h: BRIDGE_H } : undefined;
    if (bridge) y += BRIDGE_H + POD_GAP;
    const busTop = bridge ? bridge.y + bridge.h : y - 4;
    const pods = n.pods.map((p, j) => {
      const pod = { x: box.x + PAD + BUS, y: y + j * (POD_H + POD_GAP), w: inner - BUS, h: POD_H };
      anchors.set(p.netns, { x: pod.x, y: pod.y + pod.h / 2 });
      return pod;
    });
    const last = n.pods.findLastIndex((p) => !p.hostNetwork);
    const bus = last >= 0 ? { x: box.x + PAD + BUS / 2, y1: busTop, y2: pods[last]!.y + POD_H / 2 } : undefined;
    // A hostNetwork pod is in its node's namespace: the node's anchor is the one drawn.
    anchors.set(n.netns, { x: box.x + box.w / 2, y: box.y + box.h });
    return { box, lines, ...(bridge ? { bridge } : {}), pods, ...(bus ? { bus } : {}) };
  });
  const nodesEnd = g.nodes.length ? MARGIN + g.nodes.length * (nodeW + NODE_GAP) - NODE_GAP : MARGIN;
  const lanY = top + nodeH + 36;
  const rowY = lanY + 36;
  const machineW = (lines: readonly string[]) => widest(lines) + 2 * PAD;
  const router = { x: MARGIN, y: rowY, w: machineW(routerLines(g)), h: MACHINE_H };
  anchors.set(g.lan.netns, { x: router.x + router.w / 2, y: router.y });
  // Hosts on the LAN in the router's row; hosts behind the router (outside the LAN's range) in a row below it.
  let x = router.x + router.w + HOST_GAP;
  const behindY = rowY + MACHINE_H + 28;
  let behindX = router.x;
  const hosts = g.hosts.map((h) => {
    const w = machineW(hostLines(h));
    const box = h.behindRouter ? { x: behindX, y: behindY, w, h: MACHINE_H } : { x, y: rowY, w, h: MACHINE_H };
    if (h.behindRouter) behindX += w + HOST_GAP;
    else x += w + HOST_GAP;
    anchors.set(h.netns, { x: box.x + box.w / 2, y: box.y });
    return box;
  });
  const rowsEnd = Math.max(x, behindX) - HOST_GAP;
  const label = `LAN ${g.lan.cidr} (${g.lan.bridge})`;
  const lanX2 = Math.max(nodesEnd, rowsEnd) + textWidth(label) + 2 * PAD;
  const servicesY = (g.hosts.some((h) => h.behindRouter) ? behindY : rowY) + MACHINE_H + 2 * LH;
  const rows = serviceRows(g);
  const serviceH = g.services.length ? (rows.length + 1) * LH + LH : 0;
  const unplacedY = servicesY + serviceH;
  const unplaced = unplacedLine(g);
  const captionY = unplacedY + (unplaced ? 2 * LH : 0);
  const columns = rows[0]!.map((_, c) => widest(rows.map((r) => r[c]!)) + 2 * CH);
  const width =
    Math.max(
      lanX2,
      MARGIN + widest([`knetlab graph: ${g.scenario}`, overlayLine(g), unplaced]),
      MARGIN + (g.services.length ? columns.reduce((a, b) => a + b, 0) : 0),
      MARGIN + captionWidth,
    ) + MARGIN;
  return {
    width: Math.ceil(width),
    height: Math.ceil(captionY + captionLines * LH + (captionLines ? LH : 0) + MARGIN),
    nodes,
    lan: { y: lanY, x1: MARGIN, x2: lanX2, label },
    router,
    hosts,
    servicesY,
    unplacedY,
    captionY,
    anchors,
  };
}

export function overlayLine(g: Graph): string {
  return `network ${g.network}, kube-proxy ${g.proxyMode} mode; between nodes: ${g.overlay.label}`;
}

/** The Services table's column offsets. */
export function serviceColumns(g: Graph): number[] {
  const rows = serviceRows(g);
  const widths = rows[0]!.map((_, c) => widest(rows.map((r) => r[c]!)) + 2 * CH);
  return widths.map((_, c) => widths.slice(0, c).reduce((a, b) => a + b, MARGIN));
}
