import { z } from 'zod';

// Kubernetes' name and label syntax, as the API server's validation (apimachinery's
// pkg/util/validation) checks it, so that what knetlab accepts a cluster would accept too.

export const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** The name part of a qualified name (label and annotation keys), and a non-empty label value. */
const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Why a label or annotation key is not a qualified name ([prefix/]name), or undefined when it is one. */
export function qualifiedNameProblem(k: string): string | undefined {
  const parts = k.split('/');
  if (parts.length > 2) return 'it may hold one / at most, between a DNS subdomain prefix and the name';
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dns1123Subdomain.test(prefix)))
    return 'its prefix (before /) must be a DNS subdomain such as example.com';
  if (name.length === 0 || name.length > 63 || !qualifiedNamePart.test(name))
    return 'its name must be at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit';
  return undefined;
}

export function labelValueOk(v: string): boolean {
  return v === '' || (v.length <= 63 && qualifiedNamePart.test(v));
}

export const LABEL_VALUE_RULE = 'at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit (or empty)';

/** A label or annotation key; zod reports its message as "Expected key ... to be ...". */
export const qualifiedName = z.string().superRefine((k, ctx) => {
  const bad = qualifiedNameProblem(k);
  if (bad) ctx.addIssue({ code: 'custom', message: `to be a qualified name ([prefix/]name): ${bad}` });
});

export const labelValue = z.string({ error: 'to be a string (quote it)' }).refine(labelValueOk, { error: `to be a label value: ${LABEL_VALUE_RULE}` });

/** Labels, selectors' matchLabels and nodeSelectors: qualified names to label values. */
export const labelMap = z.record(qualifiedName, labelValue);

/** The API server's limit on all of an object's annotations together (TotalAnnotationSizeLimitB). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export const annotationMap = z.record(qualifiedName, z.string({ error: 'to be a string (quote it)' })).superRefine((m, ctx) => {
  let size = 0;
  for (const [k, v] of Object.entries(m)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (size > MAX_ANNOTATIONS_BYTES)
    ctx.addIssue({ code: 'custom', message: `to be at most ${MAX_ANNOTATIONS_BYTES / 1024} KB together (the API server's limit), not ${Math.ceil(size / 1024)} KB` });
});
