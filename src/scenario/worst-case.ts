import { formatDuration } from './duration.js';
import type { Step } from './steps.js';

/** ping's `-i 0.2`: the gap between echo requests (steps/probes.ts). */
const PING_INTERVAL_MS = 200;
/** dig tries each of up to 7 search domains, then the name itself, each within its timeout (steps/dns-probe.ts). */
const DIG_QUERIES = 8;

/**
 * The longest a step may take as the scenario wrote it: every try of a probe timing out, a
 * sleep's length, an exec's timeout. Actions (apply, patch, scale, ...) wait for nothing the
 * scenario sets, and count 0.
 */
export function stepWorstCaseMs(step: Step): number {
  switch (step.kind) {
    case 'http':
    case 'tcp':
    case 'udp':
      return step.count * step.timeoutMs;
    case 'ping':
      return step.count * PING_INTERVAL_MS + step.timeoutMs;
    case 'dns':
      return DIG_QUERIES * Math.max(1, Math.ceil(step.timeoutMs / 1000)) * 1000; // dig's +time is whole seconds
    case 'exec':
      return step.timeoutMs;
    case 'sleep':
      return step.ms;
    default:
      return 0;
  }
}

export function worstCaseMs(steps: readonly Step[]): number {
  return steps.reduce((sum, s) => sum + stepWorstCaseMs(s), 0);
}

/** `steps[3] (sleep 1h), steps[7] (1000 tries of 5s)`: the steps that weigh most, for a message. */
export function heaviestSteps(steps: readonly Step[], n = 3): string {
  const what = (s: Step): string => {
    if (s.kind === 'sleep') return `sleep ${formatDuration(s.ms)}`;
    if (s.kind === 'exec') return `exec timeout ${formatDuration(s.timeoutMs)}`;
    if ('count' in s && s.count > 1) return `${s.count} tries of ${formatDuration(s.timeoutMs)}`;
    return `${s.kind} ${formatDuration(stepWorstCaseMs(s))}`;
  };
  return [...steps]
    .filter((s) => stepWorstCaseMs(s) > 0)
    .sort((a, b) => stepWorstCaseMs(b) - stepWorstCaseMs(a) || a.index - b.index)
    .slice(0, n)
    .map((s) => `steps[${s.index}] ${what(s)}`)
    .join(', ');
}
