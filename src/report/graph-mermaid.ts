// The topology as a Mermaid flowchart (GitHub renders it in Markdown): a subgraph per node with its
// devices and pods, the LAN with its router and hosts, the overlay's tunnels linked, the Services.
// Ids are generated (n0, n0p1, ...); every label is quoted with its unusual characters as entity codes.
import { hostLines, podLines, routerLines, unplacedLine } from './graph-layout.js';
import type { Graph } from './graph-model.js';

/** A label inside `"..."`: anything but plain words, addresses and punctuation becomes `#CODE;`, as Mermaid reads entity codes. */
export function mermaidLabel(lines: readonly string[]): string {
  const enc = (s: string) => [...s].map((c) => (/^[A-Za-z0-9 ./:,@()_=+-]$/.test(c) ? c : `#${c.codePointAt(0)};`)).join('');
  return `"${lines.map(enc).join('<br/>')}"`;
}

export function graphMermaid(g: Graph): string {
  const out = ['flowchart TB'];
  out.push(`  %% knetlab graph: ${mermaidLabel([g.scenario]).slice(1, -1)}`);
  g.nodes.forEach((n, i) => {
    const id = `n${i}`;
    out.push(`  subgraph ${id}[${mermaidLabel([`${n.place} (pods ${n.podCIDR})`])}]`);
    out.push(`    ${id}eth0[${mermaidLabel([`eth0 ${n.ip}`, ...(n.ipvsDevice ? [`${n.ipvsDevice} (Service addresses)`] : [])])}]`);
    if (n.tunnel) out.push(`    ${id}tun[${mermaidLabel([`${n.tunnel.device} ${n.tunnel.ip}`])}]`);
    if (n.bridge) out.push(`    ${id}br[${mermaidLabel([`${n.bridge.device} ${n.bridge.ip}`])}]`);
    n.pods.forEach((p, j) => {
      out.push(`    ${id}p${j}(${mermaidLabel(podLines(p))})`);
      // Pods hang off the bridge; Calico's are routed by the node (eth0 stands for its routing table); hostNetwork pods are the node's own.
      if (p.hostNetwork) out.push(`    ${id}p${j} -.- ${id}eth0`);
      else out.push(`    ${id}p${j} --- ${n.bridge ? `${id}br` : `${id}eth0`}`);
    });
    if (n.bridge) out.push(`    ${id}br --- ${id}eth0`);
    if (n.tunnel) out.push(`    ${id}tun --- ${id}eth0`);
    out.push('  end');
  });
  out.push(`  lan[${mermaidLabel([`LAN ${g.lan.cidr}`, g.overlay.label])}]`);
  out.push(`  router[${mermaidLabel(routerLines(g))}] --- lan`);
  g.nodes.forEach((_, i) => out.push(`  n${i}eth0 --- lan`));
  g.hosts.forEach((h, i) => out.push(`  h${i}[${mermaidLabel(hostLines(h))}] --- ${h.behindRouter ? 'router' : 'lan'}`));
  // The overlay: each node's tunnel device to the next's, dotted.
  for (let i = 1; i < g.nodes.length; i++) if (g.nodes[i - 1]!.tunnel && g.nodes[i]!.tunnel) out.push(`  n${i - 1}tun -.- n${i}tun`);
  if (g.services.length) {
    out.push(`  subgraph services[${mermaidLabel(['Services'])}]`);
    g.services.forEach((s, i) => {
      const addr = [s.clusterIP || '<none>', ...s.external].join(' ');
      out.push(`    s${i}[${mermaidLabel([`${s.place} ${s.type}`, `${addr} ${s.ports}`.trim()])}]`);
    });
    out.push('  end');
  }
  const unplaced = unplacedLine(g);
  if (unplaced) out.push(`  unplaced[${mermaidLabel([unplaced])}]`);
  out.push('  classDef pod fill:#ecfdf5,stroke:#047857');
  const pods = g.nodes.flatMap((n, i) => n.pods.map((_, j) => `n${i}p${j}`));
  if (pods.length) out.push(`  class ${pods.join(',')} pod`);
  return `${out.join('\n')}\n`;
}
