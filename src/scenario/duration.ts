import { HOUR, MINUTE, SECOND } from './limits.js';

const unitMs = { ms: 1, s: SECOND, m: MINUTE, h: HOUR } as const;

/** A duration's form, spaces around it allowed (the scenario JSON Schema's pattern too). */
export const DURATION_RE = /^\s*(\d+(?:\.\d+)?)(ms|s|m|h)\s*$/;

/**
 * Milliseconds of a duration such as `500ms`, `2s`, `1.5s`, `1m`, `1h`; undefined when it is not
 * one. A number too large to hold is Infinity, so that a bound refuses it as too long.
 */
export function parseDuration(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = DURATION_RE.exec(s);
  if (!m) return undefined;
  const ms = Number(m[1]) * unitMs[m[2] as keyof typeof unitMs];
  return Number.isFinite(ms) ? Math.round(ms) : Number.POSITIVE_INFINITY;
}

/** `1h 30m`, `5m`, `2s`, `1.5s`, `500ms`: a duration as a person writes it. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  if (ms < SECOND) return `${ms}ms`;
  if (ms < MINUTE) return `${Number((ms / SECOND).toFixed(1))}s`;
  const h = Math.floor(ms / HOUR);
  const m = Math.floor((ms % HOUR) / MINUTE);
  const s = Math.round((ms % MINUTE) / SECOND);
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].filter(Boolean).join(' ');
}
