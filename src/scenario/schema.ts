import { z } from 'zod';
import { proxyModes } from '../proxy/modes.js';
import { networks } from '../cni/networks.js';
import { CIDR_PATTERN, IPV4_PATTERN, isIPv4, parseCidr } from '../util/ip.js';
import { DURATION_RE, formatDuration, parseDuration } from './duration.js';
import { labelValueOk, LABEL_VALUE_RULE, qualifiedName } from './k8s-names.js';
import { MAX_COUNT, MAX_PROBE_TIMEOUT_MS } from './limits.js';

// Messages that start with "to " are completed as "Expected `path` to ..., got `value`".
// Each .meta() is what `knetlab schema` (json-schema.ts) says of what a refinement checks
// (patternErrorMessage: the message yaml-language-server shows for a value not of the pattern).
export const ipv4 = z
  .string({ error: 'to be an IPv4 address' })
  .refine(isIPv4, { error: 'to be an IPv4 address such as 192.168.8.11' })
  .meta({ pattern: IPV4_PATTERN, patternErrorMessage: 'Expected an IPv4 address such as 192.168.8.11', description: 'An IPv4 address such as 192.168.8.11' });
export const cidr = z
  .string({ error: 'to be an IPv4 CIDR' })
  .superRefine((s, ctx) => {
    const c = parseCidr(s);
    if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: c });
  })
  .meta({ pattern: CIDR_PATTERN, patternErrorMessage: 'Expected an IPv4 CIDR such as 10.244.0.0/16', description: 'An IPv4 network such as 10.244.0.0/16 (no host bits set)' });
export const port = z
  .number({ error: 'to be a port number from 1 to 65535' })
  .int({ error: 'to be a port number from 1 to 65535' })
  .min(1, { error: 'to be a port number from 1 to 65535' })
  .max(65535, { error: 'to be a port number from 1 to 65535' });
export const protocol = z.enum(['TCP', 'UDP', 'SCTP']);
export const duration = z
  .string({ error: 'to be a duration such as 500ms or 2s' })
  .refine((s) => parseDuration(s) !== undefined, { error: 'to be a duration such as 500ms or 2s', abort: true })
  .meta({
    pattern: DURATION_RE.source,
    patternErrorMessage: 'Expected a duration such as 500ms or 2s',
    description: 'A duration: a number and ms, s, m or h, such as 500ms, 2s, 1.5m',
  });
/** A duration of at most max (every bound fits Node's timers, which overflow past 2^31-1 ms and fire at once). */
export const durationUpTo = (max: number) => duration.refine((s) => parseDuration(s)! <= max, { error: `to be a duration of at most ${formatDuration(max)}`, abort: true });
// A timeout of 0 would mean none at all to curl; a wait must be a real one.
export const timeoutUpTo = (max: number) => durationUpTo(max).refine((s) => parseDuration(s)! > 0, { error: 'to be a duration greater than 0 such as 500ms or 2s' });
/** One try of a probe. */
export const timeout = timeoutUpTo(MAX_PROBE_TIMEOUT_MS);
// Node labels are ours, so unquoted `true` or `1` are taken as the strings they mean.
const labelValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'to be a label value' })
  .transform(String)
  .refine(labelValueOk, { error: `to be a label value: ${LABEL_VALUE_RULE}` });

export const MACHINE_NAME_MAX = 15;

/** The one list of step kinds: src/steps/kinds/index.ts registers a module for each (the compiler checks it). */
export const stepKindNames = ['http', 'tcp', 'udp', 'ping', 'dns', 'apply', 'patch', 'delete', 'scale', 'link', 'exec', 'sleep', 'resync', 'flows', 'restart', 'reboot'] as const;
export type StepKindName = (typeof stepKindNames)[number];

const serve = z.strictObject({ port, protocol: protocol.optional() });

export const nodeSchema = z.strictObject({
  name: z.string(),
  ip: ipv4.optional(),
  /** More addresses on the node's LAN interface (a /32 each; outside lanCIDR the LAN gateway routes them to the node). */
  extraAddresses: z.array(ipv4).optional(),
  /** flannel's public IP for the node (--public-ip, or the address of the --iface it picked): where the other nodes send its VXLAN traffic. */
  flannelPublicIP: ipv4.optional(),
  podCIDR: cidr.optional(),
  labels: z.record(qualifiedName, labelValue).optional(),
  serve: z.array(serve).optional(),
});

const machineRef = z.string().regex(/^(node|host)\/[^/]+$/, { error: 'to be node/NAME or host/NAME' });
export const hostSchema = z.strictObject({
  name: z.string(),
  ip: ipv4.optional(),
  serve: z.array(serve).optional(),
  routes: z.array(z.strictObject({ to: cidr, via: z.union([ipv4, machineRef], { error: 'to be an IPv4 address, node/NAME or host/NAME' }) })).optional(),
});

/** The schedulers Linux IPVS has (ip_vs_NAME modules), which kube-proxy's --ipvs-scheduler passes on. */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;

/** A DNS name as a user writes it (any case, an optional final dot); knetlab's own names are lower case. */
export const dnsName = z
  .string({ error: 'to be a DNS name such as api.example.com' })
  .max(254, { error: 'to be a DNS name of at most 253 characters' })
  .regex(/^[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?)*\.?$/, {
    error: 'to be a DNS name such as api.example.com (labels of letters, digits, - and _, at most 63 characters each)',
  });

/** The LAN's upstream resolver (served by the LAN gateway): its records, and zones it refuses. */
const upstreamDnsSchema = z.strictObject({
  records: z.record(dnsName, z.union([ipv4, z.array(ipv4).min(1).max(8), dnsName], { error: 'to be an IPv4 address, a list of at most 8, or a name (a CNAME)' })).optional(),
  refuse: z.array(dnsName).max(16).optional(),
});

/** Linux's Ethernet bounds: 68 (IPv4's minimum) to 65535; a VXLAN or IPIP tunnel's own needs more (resolveConfig). */
export const MTU_MIN = 68;
export const MTU_MAX = 65535;
const mtuRule = `to be an MTU from ${MTU_MIN} to ${MTU_MAX} (bytes)`;
const mtuSchema = z.number({ error: mtuRule }).int({ error: mtuRule }).min(MTU_MIN, { error: mtuRule }).max(MTU_MAX, { error: mtuRule });

export const clusterSchema = z.strictObject({
  proxyMode: z.enum(proxyModes).optional(),
  /** The kube-proxy modes the scenario is about; under another (run --proxy-mode) it is reported skipped. */
  proxyModes: z
    .array(z.enum(proxyModes), { error: `to be a list of kube-proxy modes (${proxyModes.join(', ')})` })
    .min(1, { error: 'to name at least one kube-proxy mode' })
    .optional(),
  network: z.enum(networks).optional(),
  lanCIDR: cidr.optional(),
  podCIDR: cidr.optional(),
  serviceCIDR: cidr.optional(),
  loadBalancerCIDR: cidr.optional(),
  nodePortRange: z
    .string()
    .regex(/^\d+-\d+$/, { error: 'to be a range such as 30000-32767' })
    .optional(),
  clusterDomain: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { error: 'to be a DNS domain such as cluster.local' })
    .optional(),
  dns: z.boolean().optional(),
  masqueradeAll: z.boolean().optional(),
  podEgressMasquerade: z.boolean().optional(),
  clearStaleConntrack: z.boolean().optional(),
  /** The kube-proxy release whose behaviour is modelled, "MAJOR.MINOR" (checked against src/dataplane/versions.ts). */
  kubernetesVersion: z.unknown().optional(),
  upstreamDNS: upstreamDnsSchema.optional(),
  /** The underlay's MTU (nodes', hosts' and the router's LAN devices); the CNI derives its own from it. */
  mtu: mtuSchema.optional(),
  /** The pods' MTU as the CNI configuration states it (flannel CNI's `mtu`, Calico's `veth_mtu`): default, the CNI's derived one. */
  podMTU: mtuSchema.optional(),
  /** kube-proxy's `ipvs` configuration (KubeProxyIPVSConfiguration), used in ipvs mode. */
  ipvs: z
    .strictObject({
      scheduler: z.enum(IPVS_SCHEDULERS, { error: `to be an IPVS scheduler: ${IPVS_SCHEDULERS.join(', ')}` }).optional(),
      strictARP: z.boolean().optional(),
    })
    .optional(),
});

export type NodeInput = z.infer<typeof nodeSchema>;
export type HostInput = z.infer<typeof hostSchema>;
export type ClusterInput = z.infer<typeof clusterSchema>;

// ---- steps: what several kinds share (each kind's own schema is in src/steps/kinds/) ----

export const ref = z.string({ error: 'to be a name such as pod/NAME or service/NAME' }).min(1);
// A command's words and a datagram's data go to a process's argv, which cannot hold a NUL.
export const noNul = (s: string) => !s.includes('\u0000');
export const NO_NUL = 'to be text without NUL characters';
const countRule = `to be a whole number from 1 to ${MAX_COUNT}`;
export const countSchema = z.number({ error: countRule }).int({ error: countRule }).min(1, { error: countRule }).max(MAX_COUNT, { error: countRule });

// RFC 7230: a header's name is a token; its value has no line breaks or other control characters.
export const headerName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: "to be a header name (RFC 7230 token: letters, digits and !#$%&'*+-.^_`|~)" });
export const headerValue = z
  .string({ error: 'to be a string (quote it)' })
  .regex(/^[^\u0000-\u0008\u000a-\u001f\u007f]*$/, { error: 'to be a header value without line breaks or other control characters' });

/**
 * An origin-form request target (RFC 7230 5.3.1): an absolute path and an optional query, of the
 * characters RFC 3986 allows there, with % only in %XX escapes. No spaces, controls, `#`, or the
 * `[]{}` curl would read as a glob.
 */
export const REQUEST_TARGET = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$/;
export const REQUEST_TARGET_RULE = 'to be a path such as /api/v1?x=1: starting with /, without spaces or control characters (escape other characters as %XX)';

/** The most places a `backends` or `backendsNot` list names. */
const MAX_BACKEND_LIST = 1000;

export const backendExpect = {
  sourceIp: ref.optional(),
  sourceIpNot: ref.optional(),
  backend: ref.optional(),
  // all | one | rotate, or the exact set of who answers: [pod/a, pod/b].
  backends: z.union([z.enum(['all', 'one', 'rotate']), z.array(ref).min(1).max(MAX_BACKEND_LIST)], { error: 'to be all, one, rotate or a list such as [pod/a, pod/b]' }).optional(),
  backendsNot: z.array(ref).min(1).max(MAX_BACKEND_LIST).optional(),
  sameBackendAs: z.string({ error: 'to be the name of an earlier http or udp step' }).min(1, { error: 'to be the name of an earlier http or udp step' }).optional(),
  differentBackendFrom: z.string({ error: 'to be the name of an earlier http or udp step' }).min(1, { error: 'to be the name of an earlier http or udp step' }).optional(),
  spread: z.number().gt(0, { error: 'to be a fraction greater than 0 and at most 1' }).max(1, { error: 'to be a fraction greater than 0 and at most 1' }).optional(),
};

export const failKinds = ['timeout', 'refused', 'unreachable', 'any'] as const;
