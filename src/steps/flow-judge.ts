// A packet-flow case judged as kube-proxy's packetFlowTest judges it, from what the kernel did on the
// node under test: the endpoint it was DNATed to, or the DROP / REJECT / ACCEPT of a rule, or nothing;
// and whether it was masqueraded there. Pure.
import { natTarget, type KernelVerdict } from '../trace/verdict.js';
import { isIPv4 } from '../util/ip.js';

/** The verdicts upstream's tracer names in `output`. */
export const flowVerdicts = ['DROP', 'REJECT', 'ACCEPT'] as const;
export type FlowVerdict = (typeof flowVerdicts)[number];

/** A case's expectation: `output` as upstream writes it, read, and `masq`. */
export interface FlowExpect {
  /** The endpoints (`IP:PORT`) the packet may be DNATed to: one try must go to one of them. */
  endpoints: string[];
  verdict?: FlowVerdict;
  masq: boolean;
}

/**
 * Reads upstream's `output`: endpoints `IP:PORT` separated by commas, then at most one of DROP,
 * REJECT, ACCEPT (its tracer appends a filter verdict after a DNAT), or "" for no Service rule.
 */
export function parseFlowOutput(text: string): { endpoints: string[]; verdict?: FlowVerdict } | { error: string } {
  const items = text.trim() === '' ? [] : text.split(',').map((s) => s.trim());
  const endpoints: string[] = [];
  let verdict: FlowVerdict | undefined;
  for (const item of items) {
    if ((flowVerdicts as readonly string[]).includes(item)) {
      if (verdict) return { error: `two verdicts (${verdict}, ${item})` };
      verdict = item as FlowVerdict;
      continue;
    }
    if (verdict) return { error: `an endpoint (${item}) after the verdict ${verdict}` };
    const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(item);
    if (!m || !isIPv4(m[1]!) || Number(m[2]) < 1 || Number(m[2]) > 65535) return { error: `"${item}" is neither IP:PORT nor DROP, REJECT or ACCEPT` };
    if (endpoints.includes(item)) return { error: `${item} listed twice` };
    endpoints.push(item);
  }
  return { endpoints, ...(verdict ? { verdict } : {}) };
}

/** `output` as upstream prints it: the endpoints, then the verdict, joined by ", ". */
export function formatFlowOutput(e: { endpoints: readonly string[]; verdict?: FlowVerdict | undefined }): string {
  return [...e.endpoints, ...(e.verdict ? [e.verdict] : [])].join(', ');
}

/** What the kernel did to the case's packet on the node under test. */
export interface FlowSeen {
  /** Where it was DNATed (`IP:PORT`). */
  dnat?: string;
  /** The verdict of a rule there, with the rule's text. */
  verdict?: { kind: FlowVerdict; text: string };
  masq: boolean;
}

/**
 * Whether a rule that accepted the packet is one of kube-proxy's verdicts as upstream's tracer reads
 * them: a rule of its own filter chains (iptables), or of its table (nftables). KUBE-FORWARD's accept
 * of marked or established traffic is left out, as upstream's tracer leaves it.
 */
export function isKubeProxyAccept(rule: { table: string; chain: string; rule?: string | undefined }): boolean {
  // A NAT statement ends its chain with accept (nft traces print it so): it is the DNAT or masquerade, not a verdict.
  if (rule.rule && natTarget(rule.rule)) return false;
  if (rule.table === 'kube-proxy') return true;
  return rule.table === 'filter' && rule.chain.startsWith('KUBE-') && rule.chain !== 'KUBE-FORWARD';
}

/** A rule of kube-proxy's: in one of its chains (iptables, ipvs) or its table (nftables). */
export function isKubeProxyRule(rule: { table: string; chain: string }): boolean {
  return rule.table === 'kube-proxy' || rule.chain.startsWith('KUBE-');
}

/** Reads a verdict of the node under test's namespace alone (the trace's other namespaces left out). */
export function flowSeen(v: KernelVerdict): FlowSeen {
  const accepted = v.accepted?.find((a) => isKubeProxyAccept(a.rule));
  const verdict = v.dropped
    ? { kind: v.dropped.verdict === 'reject' ? ('REJECT' as const) : ('DROP' as const), text: v.dropped.text }
    : accepted
      ? { kind: 'ACCEPT' as const, text: accepted.text }
      : undefined;
  // kube-proxy's masquerade only (the CNI's own, of pod traffic leaving the cluster, is not the packetFlowTest's masq).
  const masq = v.masqueradeRule !== undefined && isKubeProxyRule(v.masqueradeRule.rule);
  return { ...(v.dnat ? { dnat: v.dnat.to } : {}), ...(verdict ? { verdict } : {}), masq };
}

/** A case's outcome: whether it passed, and the expected and seen sides in upstream's words. */
export function judgeFlow(expect: FlowExpect, seen: FlowSeen): { passed: boolean; expected: string; seen: string } {
  const problems: string[] = [];
  if (expect.endpoints.length === 0 && seen.dnat) problems.push(`DNATed to ${seen.dnat}`);
  if (expect.endpoints.length > 0 && !seen.dnat) problems.push('not DNATed');
  if (expect.endpoints.length > 0 && seen.dnat && !expect.endpoints.includes(seen.dnat)) problems.push(`DNATed to ${seen.dnat}, not one of ${expect.endpoints.join(', ')}`);
  if (expect.verdict !== seen.verdict?.kind) problems.push(seen.verdict ? `${seen.verdict.kind} by ${seen.verdict.text}` : `no ${expect.verdict} by any rule`);
  if (expect.masq !== seen.masq) problems.push(seen.masq ? 'masqueraded' : 'not masqueraded');
  const expected = `output "${formatFlowOutput(expect)}"${expect.endpoints.length > 1 ? ' (one of them)' : ''}, masq ${expect.masq}`;
  const shown = `output "${formatFlowOutput({ endpoints: seen.dnat ? [seen.dnat] : [], verdict: seen.verdict?.kind })}", masq ${seen.masq}`;
  return { passed: problems.length === 0, expected, seen: problems.length ? `${shown}: ${problems.join('; ')}` : shown };
}
