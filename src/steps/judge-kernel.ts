// Kernel-level expectations judged against what the kernel showed of each try (src/trace/verdict.ts):
// pure, so every rule is tested from recorded traces without a kernel.
import type { DnatTarget } from '../scenario/steps.js';
import { type Namer, namedAddress } from '../trace/report.js';
import type { KernelVerdict } from '../trace/verdict.js';

/** A place of a `path` expectation: its namespace, and how the scenario names it. */
export interface PathPlace {
  netns: string;
  shown: string;
}

export interface KernelRules {
  dnat?: DnatTarget[];
  masquerade?: boolean;
  dropped?: boolean;
  rejected?: boolean;
  droppedBy?: string;
  path?: PathPlace[];
}

export interface KernelJudged {
  passed: boolean;
  expected: string[];
  /** Where it differed. */
  problems: string[];
  /** What was seen, summed over the tries. */
  seen: string[];
  /** The first try that broke a rule (0-based), for the report's trace lines. */
  firstFailing?: number;
}

function tally(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => (n > 1 ? `${v} x${n}` : v)).join(', ');
}

const dnatMatches = (t: DnatTarget, to: string) => {
  const [ip, port] = to.split(':');
  return ip === t.ip && (t.port === undefined || Number(port) === t.port);
};

/** The place kind (node, host, pod) of a namespace by the namer, for comparing only the kinds a path names. */
const kindOf = (netns: string, n: Namer) => n.netns(netns).split('/')[0]!;

/** Judges every try's verdict against the rules; every try must meet every rule (dnat with several tries: each address seen). */
export function judgeKernel(verdicts: readonly KernelVerdict[], rules: KernelRules, n: Namer): KernelJudged {
  const expected: string[] = [];
  const problems: string[] = [];
  const seen: string[] = [];
  const failing = new Set<number>();
  const count = verdicts.length;
  const bad = (i: number) => failing.add(i);

  if (rules.dnat) {
    const each = count > 1 && rules.dnat.length > 1;
    const shown = rules.dnat.map((t) => namedAddress(t.port === undefined ? t.ip : `${t.ip}:${t.port}`, n));
    expected.push(`DNAT to ${shown.join(rules.dnat.length > 1 ? ' or ' : '')}${each ? ', each seen' : ''}`);
    const to = verdicts.map((v) => v.dnat?.to);
    to.forEach((x, i) => {
      if (!x || !rules.dnat!.some((t) => dnatMatches(t, x))) bad(i);
    });
    const off = to.filter((x) => !x || !rules.dnat!.some((t) => dnatMatches(t, x))).length;
    if (off) problems.push(`${off} of ${count} tries were DNATed elsewhere or not at all`);
    if (each) {
      const missing = rules.dnat.filter((t) => !to.some((x) => x && dnatMatches(t, x)));
      if (missing.length) problems.push(`never DNATed to ${missing.map((t) => namedAddress(t.port === undefined ? t.ip : `${t.ip}:${t.port}`, n)).join(', ')}`);
    }
    seen.push(tally(to.map((x) => (x ? `DNAT to ${namedAddress(x, n)}` : 'no DNAT'))));
  }
  if (rules.masquerade !== undefined) {
    expected.push(rules.masquerade ? 'masqueraded on the way' : 'not masqueraded');
    verdicts.forEach((v, i) => {
      if (Boolean(v.masquerade) !== rules.masquerade) bad(i);
    });
    const off = verdicts.filter((v) => Boolean(v.masquerade) !== rules.masquerade).length;
    if (off) problems.push(`${off} of ${count} tries were ${rules.masquerade ? 'not masqueraded' : 'masqueraded'}`);
    seen.push(tally(verdicts.map((v) => (v.masquerade ? `masqueraded in ${n.netns(v.masquerade.netns)} to ${namedAddress(v.masquerade.to, n)}` : 'not masqueraded'))));
  }
  const stops = rules.dropped !== undefined || rules.rejected !== undefined || rules.droppedBy !== undefined;
  if (stops) {
    const want = (v: KernelVerdict): boolean => {
      const d = v.dropped;
      if (rules.dropped !== undefined && (d?.verdict === 'drop') !== rules.dropped) return false;
      if (rules.rejected !== undefined && (d?.verdict === 'reject') !== rules.rejected) return false;
      if (rules.droppedBy !== undefined && !(d && new RegExp(rules.droppedBy).test(d.text))) return false;
      return true;
    };
    if (rules.dropped !== undefined) expected.push(rules.dropped ? 'dropped' : 'not dropped');
    if (rules.rejected !== undefined) expected.push(rules.rejected ? 'rejected' : 'not rejected');
    if (rules.droppedBy !== undefined) expected.push(`dropped or rejected by a rule matching /${rules.droppedBy}/`);
    verdicts.forEach((v, i) => {
      if (!want(v)) bad(i);
    });
    const off = verdicts.filter((v) => !want(v)).length;
    if (off)
      problems.push(
        `${off} of ${count} tries were not ${[rules.dropped ? 'dropped' : '', rules.rejected ? 'rejected' : '', rules.droppedBy !== undefined ? 'stopped by such a rule' : ''].filter(Boolean).join(', ') || 'as expected'}`,
      );
    seen.push(
      tally(
        verdicts.map((v) =>
          v.dropped ? `${v.dropped.verdict === 'reject' ? 'rejected' : 'dropped'} in ${n.netns(v.dropped.netns)} by ${v.dropped.text}` : 'neither dropped nor rejected',
        ),
      ),
    );
  }
  if (rules.path) {
    const kinds = new Set(rules.path.map((p) => kindOf(p.netns, n)));
    const want = rules.path.map((p) => p.netns).join(' > ');
    expected.push(`path ${rules.path.map((p) => p.shown).join(' > ')}`);
    const paths = verdicts.map((v) => v.path.filter((ns) => kinds.has(kindOf(ns, n))));
    paths.forEach((p, i) => {
      if (p.join(' > ') !== want) bad(i);
    });
    const off = paths.filter((p) => p.join(' > ') !== want).length;
    if (off) problems.push(`${off} of ${count} tries took another path`);
    seen.push(tally(verdicts.map((v) => `path ${v.path.map((ns) => n.netns(ns)).join(' > ') || '(not seen)'}`)));
  }
  const first = [...failing].sort((a, b) => a - b)[0];
  return { passed: problems.length === 0, expected, problems, seen, ...(first !== undefined ? { firstFailing: first } : {}) };
}
