import fc from 'fast-check';
import t from 'tap';
import { CIDR_PATTERN, cidrContains, cidrOf, cidrOverlaps, formatCidr, intToIp, ipToInt, IPV4_PATTERN, isIPv4, nthAddress, nthSubnet, parseCidr } from '../../src/util/ip.js';

t.test('IPv4 addresses round-trip through numbers', async (t) => {
  for (const ip of ['0.0.0.0', '10.244.1.2', '192.168.8.255', '255.255.255.255']) t.equal(intToIp(ipToInt(ip)), ip);
  t.equal(ipToInt('10.0.0.1'), 0x0a000001);
  t.ok(isIPv4('192.168.8.1'));
  t.notOk(isIPv4('300.1.1.1'));
  t.notOk(isIPv4('10.1.1'));
  t.notOk(isIPv4('010.1.1.1'));
});

t.test('CIDRs: network addresses only, with a hint for host bits', async (t) => {
  t.same(parseCidr('10.244.0.0/16'), { base: ipToInt('10.244.0.0'), bits: 16 });
  t.match(parseCidr('10.96.0.1/12') as string, /did you mean `10.96.0.0\/12`/);
  t.match(parseCidr('10.0.0.0/33') as string, /IPv4 CIDR/);
  t.match(parseCidr('10.0.0.0') as string, /IPv4 CIDR/);
  t.equal(formatCidr(cidrOf('0.0.0.0/0')), '0.0.0.0/0');
});

t.test('containment, overlap, n-th address and subnet', async (t) => {
  const pods = cidrOf('10.244.0.0/16');
  t.ok(cidrContains(pods, '10.244.255.1'));
  t.notOk(cidrContains(pods, '10.245.0.1'));
  t.ok(cidrOverlaps(cidrOf('192.168.0.0/16'), cidrOf('192.168.8.0/24')));
  t.notOk(cidrOverlaps(cidrOf('10.96.0.0/12'), cidrOf('10.244.0.0/16')));
  t.equal(nthAddress(cidrOf('10.96.0.0/12'), 10), '10.96.0.10');
  t.equal(formatCidr(nthSubnet(pods, 24, 3)), '10.244.3.0/24');
});

t.test('IPV4_PATTERN and CIDR_PATTERN (the JSON Schema) accept what isIPv4 and parseCidr read', async (t) => {
  const ipRe = new RegExp(IPV4_PATTERN, 'u');
  const cidrRe = new RegExp(CIDR_PATTERN, 'u');
  // Parts near the edges: leading zeros, 255/256, signs, empty, and the prefix lengths around 32.
  const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '010', '255', '256', '-1', '+1', '', ' 1', '1e2', '0x1'));
  const dotted = fc.tuple(fc.array(part, { minLength: 2, maxLength: 5 }), fc.constantFrom('.', '..')).map(([ps, sep]) => ps.join(sep));
  const bits = fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('00', '08', '032', '', '-1', '3 '));
  fc.assert(
    fc.property(dotted, (s) => ipRe.test(s) === isIPv4(s)),
    { numRuns: 5000 },
  );
  // parseCidr also refuses host bits set, which is not a matter of form: only the form is compared.
  fc.assert(
    fc.property(dotted, bits, (a, b) => cidrRe.test(`${a}/${b}`) === (parseCidr(`${a}/${b}`) !== 'to be an IPv4 CIDR such as 10.244.0.0/16')),
    { numRuns: 5000 },
  );
  t.ok(ipRe.test('192.168.8.11') && !ipRe.test('192.168.8.011') && cidrRe.test('10.244.0.0/16') && !cidrRe.test('10.244.0.0/33'));
});
