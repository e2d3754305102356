import { z } from 'zod';
import { addressBook, named } from '../../cluster/address-book.js';
import { resolveAddress, resolveSource } from '../../cluster/resolve.js';
import { originAt } from '../../scenario/source.js';
import { dnsName, ref, timeout } from '../../scenario/schema.js';
import { parseAddress, type AddressRef, type SourceRef } from '../../scenario/refs.js';
import { stepKind } from '../kind.js';
import { must, placeNetns, StepError } from '../run.js';
import { addressText, placeText, probeTimeoutMs, readPlace } from './probe.js';

/** dig tries each of up to 7 search domains, then the name itself, each within its timeout (steps/dns-probe.ts). */
const DIG_QUERIES = 8;

/** The rcodes a `dns` step may expect. */
export const DNS_RCODES = ['NOERROR', 'NXDOMAIN', 'REFUSED', 'SERVFAIL'] as const;
export type DnsRcodeExpect = (typeof DNS_RCODES)[number];

export interface DnsSpec {
  from: SourceRef;
  query: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'SRV' | 'PTR';
  timeoutMs: number;
  expect: { addresses?: AddressRef[]; cname?: string; nxdomain?: boolean; rcode?: DnsRcodeExpect; queries?: string[] };
}

/** `dns`: one lookup with dig from a place, through its resolv.conf (the cluster DNS and search list). */
export const dns = stepKind<'dns', DnsSpec>()({
  body: z.strictObject({
    from: ref,
    name: z
      .string()
      .min(1)
      .max(253, { error: 'to be a DNS name of at most 253 characters' })
      .regex(/^[^\s\u0000-\u001f\u007f]+$/, { error: 'to be a DNS name without spaces or control characters' }),
    type: z.enum(['A', 'AAAA', 'CNAME', 'SRV', 'PTR']).optional(),
    timeout: timeout.optional(),
  }),
  expect: z.strictObject({
    address: z.union([ref, z.array(ref).min(1)], { error: 'to be an address or a list of addresses' }).optional(),
    cname: z.string().optional(),
    nxdomain: z.boolean().optional(),
    rcode: z.enum(DNS_RCODES).optional(),
    queries: z.array(dnsName).min(1).max(DIG_QUERIES).optional(),
  }),
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    const from = readPlace(r, 'dns');
    const e = r.expect ?? {};
    const given = (['address', 'cname', 'nxdomain'] as const).filter((k) => e[k] !== undefined);
    if (given.length > 1) {
      r.problems.error('conflicting-fields', r.expectAt(given[1]!), `\`${r.exWhere}\` can check one of address, cname or nxdomain, not ${given.join(' and ')}`);
      return undefined;
    }
    if (e.rcode !== undefined && e.nxdomain !== undefined) {
      r.problems.error('conflicting-fields', r.expectAt('rcode'), `\`${r.exWhere}\` can check rcode or nxdomain, not both (nxdomain: true is rcode: NXDOMAIN)`);
      return undefined;
    }
    if (e.rcode !== undefined && e.rcode !== 'NOERROR' && given.length) {
      r.problems.error('conflicting-fields', r.expectAt('rcode'), `\`${r.exWhere}\` expects rcode ${e.rcode}, which has no answer to check ${given[0]} against`);
      return undefined;
    }
    let addresses: (AddressRef | undefined)[] | undefined;
    if (e.address !== undefined) {
      const many = Array.isArray(e.address);
      const list = many ? (e.address as string[]) : [e.address as string];
      addresses = list.map((a, i) => r.parsed(parseAddress(a), many ? originAt(r.expectAt('address'), i) : r.expectAt('address'), `${r.exWhere}.address`, a));
      if (addresses.some((a) => a === undefined)) return undefined;
    }
    if (!from) return undefined;
    return {
      from,
      query: r.body.name,
      type: r.body.type ?? 'A',
      timeoutMs: probeTimeoutMs(r.body),
      expect: {
        ...(addresses ? { addresses: addresses as AddressRef[] } : {}),
        ...(e.cname !== undefined ? { cname: e.cname } : {}),
        ...(e.nxdomain !== undefined ? { nxdomain: e.nxdomain } : {}),
        ...(e.rcode !== undefined ? { rcode: e.rcode } : {}),
        ...(e.queries !== undefined ? { queries: e.queries.map((q) => (q.endsWith('.') ? q.slice(0, -1) : q).toLowerCase()) } : {}),
      },
    };
  },
  check(step, c) {
    c.need(resolveSource(c.model, step.from), c.field('from'), `${c.where}.dns.from`, step.from);
    for (const [path, e] of c.expectations(step.expect)) e.addresses?.forEach((a) => c.address('address', a, path));
  },
  plan(step, m) {
    const e = step.expect;
    const expect = e.addresses
      ? e.addresses.map((a) => `address ${addressText(m, a)}`)
      : e.cname !== undefined
        ? [`cname ${e.cname}`]
        : e.nxdomain !== undefined
          ? [e.nxdomain ? 'nxdomain' : 'not nxdomain']
          : [];
    if (e.rcode !== undefined) expect.push(`rcode ${e.rcode}`);
    if (e.queries !== undefined) expect.push(`queries ${e.queries.join(', ')}`);
    return { from: placeText(m, step.from), to: `${step.query} ${step.type}`, expect };
  },
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { dnsProbe, judgeDns, serverQueries } = await import('../dns-probe.js');
    const from = resolveSource(c.model, step.from);
    if (!from.ok) throw new StepError(from.reason);
    const addresses = step.expect.addresses?.map((a) => {
      const r = must(resolveAddress(c.model, a));
      return { ip: r.ip, shown: r.meaning };
    });
    // The servers' clocks are this machine's: a second of slack for the log's millisecond times.
    const since = Date.now() - 1000;
    const result = await dnsProbe(c.runner, placeNetns(from.value), step.query, step.type, step.timeoutMs);
    if (step.expect.queries !== undefined) {
      if (!c.readDnsLog) throw new StepError("the DNS servers' log cannot be read here, so `queries` cannot be judged");
      result.queries = serverQueries(await c.readDnsLog(), result.tried, since);
    }
    return judgeDns(
      result,
      {
        ...(addresses ? { addresses } : {}),
        ...(step.expect.cname !== undefined ? { cname: step.expect.cname } : {}),
        ...(step.expect.nxdomain !== undefined ? { nxdomain: step.expect.nxdomain } : {}),
        ...(step.expect.rcode !== undefined ? { rcode: step.expect.rcode } : {}),
        ...(step.expect.queries !== undefined ? { queries: step.expect.queries } : {}),
      },
      (ip) => named(addressBook(c.model), ip),
      { upstream: c.model.config.upstreamDNS !== undefined },
    );
  },
  describe: (step) => `dns ${step.from.kind}/${step.from.name} ${step.query}`,
  // dig's +time is whole seconds.
  worstCase: (step) => ({ ms: DIG_QUERIES * Math.max(1, Math.ceil(step.timeoutMs / 1000)) * 1000 }),
});
