import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { IFNAME_MAX, macAddress, machineNetns, podNetns, podVethName, type MacRole } from '../../src/dataplane/names.js';

t.test('namespace names', async (t) => {
  t.equal(machineNetns('node-1'), 'node-1');
  t.equal(podNetns({ namespace: 'default', name: 'web-0' }), 'web-0.default');
});

t.test("a pod's veth is `veth` + the first 8 hex characters of sha256(namespace/name)", async (t) => {
  const hex = createHash('sha256').update('default/web-0').digest('hex');
  t.equal(podVethName({ namespace: 'default', name: 'web-0' }), `veth${hex.slice(0, 8)}`);
  t.equal(podVethName({ namespace: 'default', name: 'web-0' }).length, 12);
  t.not(podVethName({ namespace: 'default', name: 'web-0' }), podVethName({ namespace: 'other', name: 'web-0' }), 'the namespace counts');
  t.ok(12 <= IFNAME_MAX);
});

const roles: MacRole[] = ['br-lan', 'lan-port', 'eth0', 'cni0', 'flannel.1', 'veth'];

t.test('MACs are stable, unicast and locally administered', async (t) => {
  t.equal(macAddress('eth0', 'node-1'), macAddress('eth0', 'node-1'), 'stable');
  t.not(macAddress('eth0', 'node-1'), macAddress('cni0', 'node-1'), 'the role counts');
  fc.assert(
    fc.property(fc.constantFrom(...roles), fc.string(), (role, owner) => {
      const mac = macAddress(role, owner);
      const first = parseInt(mac.slice(0, 2), 16);
      return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) && (first & 0x03) === 0x02;
    }),
  );
});
