// The IPVS-mode reconciliation: kube-ipvs0's addresses, the ipvsadm commands from the kernel's
// `ipvsadm -Sn` to the rendered state, the start-up sysctls and the first sync's jumps.
import t from 'tap';
import { dummyAddressLines, gracefulRemovals, ipvsadmChanges, ipvsIptablesRestore, ipvsSysctls, parseIpvsadm, parseIpvsadmConnections } from '../../src/dataplane/ipvs-sync.js';
import { renderIpvs } from '../../src/dataplane/ipvs.js';
import { fixtureModel } from './fixtures.js';

t.test('dummyAddressLines makes kube-ipvs0 once and brings its addresses to the desired ones', async (t) => {
  t.same(dummyAddressLines(undefined, ['10.96.0.1', '10.96.0.10']), [
    'link add kube-ipvs0 type dummy',
    'address add 10.96.0.1/32 dev kube-ipvs0',
    'address add 10.96.0.10/32 dev kube-ipvs0',
  ]);
  t.same(dummyAddressLines(['10.96.0.1', '10.96.0.99'], ['10.96.0.1', '10.96.0.10']), ['address del 10.96.0.99/32 dev kube-ipvs0', 'address add 10.96.0.10/32 dev kube-ipvs0']);
  t.same(dummyAddressLines(['10.96.0.1'], ['10.96.0.1']), [], 'nothing to do when it already holds them');
});

t.test('parseIpvsadm reads ipvsadm -Sn and refuses what it does not know', async (t) => {
  const vs = parseIpvsadm('-A -t 10.96.0.1:443 -s rr -p 10800\n-a -t 10.96.0.1:443 -r 192.168.8.11:6443 -m -w 1\n-A -u 10.96.0.10:53 -s rr\n');
  t.same([...vs.keys()], ['-t 10.96.0.1:443', '-u 10.96.0.10:53']);
  t.equal(vs.get('-t 10.96.0.1:443')!.options, '-s rr -p 10800');
  t.same([...vs.get('-t 10.96.0.1:443')!.reals], [['192.168.8.11:6443', '-m -w 1']]);
  t.throws(() => parseIpvsadm('-a -t 10.96.0.1:443 -r 10.0.0.1:80 -m -w 1\n'), /after its virtual server/);
  t.throws(() => parseIpvsadm('-X nonsense\n'), /Expected an ipvsadm -A or -a line/);
});

t.test('ipvsadmChanges: from an empty table, the whole render; from itself, nothing', async (t) => {
  const r = renderIpvs(await fixtureModel('clusterip-two-endpoints', { cluster: 'proxyMode: ipvs' }), 'node-1');
  t.equal(ipvsadmChanges('', r.ipvsadm), r.ipvsadm);
  t.equal(ipvsadmChanges(r.ipvsadm, r.ipvsadm), '');
});

t.test('ipvsadmChanges deletes, edits and adds virtual and real servers', async (t) => {
  const current = [
    '-A -t 10.96.0.1:80 -s rr',
    '-a -t 10.96.0.1:80 -r 10.244.0.2:80 -m -w 1',
    '-a -t 10.96.0.1:80 -r 10.244.1.2:80 -m -w 1',
    '-A -t 10.96.0.2:80 -s rr',
    '-a -t 10.96.0.2:80 -r 10.244.0.3:80 -m -w 1',
    '-A -u 10.96.0.10:53 -s rr',
    '',
  ].join('\n');
  const desired = [
    '-A -t 10.96.0.1:80 -s rr -p 10800',
    '-a -t 10.96.0.1:80 -r 10.244.1.2:80 -m -w 1',
    '-a -t 10.96.0.1:80 -r 10.244.1.3:80 -m -w 1',
    '-A -u 10.96.0.10:53 -s rr',
    '-a -u 10.96.0.10:53 -r 10.244.0.4:53 -m -w 1',
    '-A -t 10.96.0.3:80 -s rr',
    '-a -t 10.96.0.3:80 -r 10.244.0.5:80 -m -w 1',
    '',
  ].join('\n');
  t.equal(
    ipvsadmChanges(current, desired),
    [
      '-D -t 10.96.0.2:80',
      '-E -t 10.96.0.1:80 -s rr -p 10800',
      '-A -t 10.96.0.3:80 -s rr',
      '-d -t 10.96.0.1:80 -r 10.244.0.2:80',
      '-a -t 10.96.0.1:80 -r 10.244.1.3:80 -m -w 1',
      '-a -u 10.96.0.10:53 -r 10.244.0.4:53 -m -w 1',
      '-a -t 10.96.0.3:80 -r 10.244.0.5:80 -m -w 1',
      '',
    ].join('\n'),
  );
  t.equal(ipvsadmChanges(current, current.replace('-m -w 1', '-m -w 0')), '-e -t 10.96.0.1:80 -r 10.244.0.2:80 -m -w 0\n', 'a changed weight is an edit');
});

t.test('graceful termination: a TCP real server with connections goes to weight 0, and is deleted once they end', async (t) => {
  const listing = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  10.96.0.1:80 rr persistent 10800',
    '  -> 10.244.0.2:80                Masq    1      1          2',
    '  -> 10.244.1.2:80                Masq    1      0          0',
    'UDP  10.96.0.10:53 rr',
    '  -> 10.244.0.4:53                Masq    1      0          5',
    '',
  ].join('\n');
  const conns = parseIpvsadmConnections(listing);
  t.same(
    [...conns],
    [
      ['-t 10.96.0.1:80 10.244.0.2:80', 3],
      ['-t 10.96.0.1:80 10.244.1.2:80', 0],
      ['-u 10.96.0.10:53 10.244.0.4:53', 5],
    ],
  );
  const current =
    '-A -t 10.96.0.1:80 -s rr -p 10800\n-a -t 10.96.0.1:80 -r 10.244.0.2:80 -m -w 1\n-a -t 10.96.0.1:80 -r 10.244.1.2:80 -m -w 1\n-A -u 10.96.0.10:53 -s rr\n-a -u 10.96.0.10:53 -r 10.244.0.4:53 -m -w 1\n';
  const desired = '-A -t 10.96.0.1:80 -s rr -p 10800\n-A -u 10.96.0.10:53 -s rr\n';
  t.same(gracefulRemovals(current, desired), ['-t 10.96.0.1:80 10.244.0.2:80', '-t 10.96.0.1:80 10.244.1.2:80'], 'TCP only: UDP goes at once');
  t.equal(
    ipvsadmChanges(current, desired, conns),
    '-e -t 10.96.0.1:80 -r 10.244.0.2:80 -m -w 0\n-d -t 10.96.0.1:80 -r 10.244.1.2:80\n-d -u 10.96.0.10:53 -r 10.244.0.4:53\n',
    'drained, deleted (no connections), deleted (UDP)',
  );
  const draining = current.replace('10.244.0.2:80 -m -w 1', '10.244.0.2:80 -m -w 0');
  t.equal(
    ipvsadmChanges(draining, `${desired}-a -u 10.96.0.10:53 -r 10.244.0.4:53 -m -w 1\n`, conns),
    '-d -t 10.96.0.1:80 -r 10.244.1.2:80\n',
    'already at weight 0 with connections: left alone',
  );
  t.equal(
    ipvsadmChanges(draining, `${desired}-a -u 10.96.0.10:53 -r 10.244.0.4:53 -m -w 1\n`, new Map()),
    '-d -t 10.96.0.1:80 -r 10.244.0.2:80\n-d -t 10.96.0.1:80 -r 10.244.1.2:80\n',
    'its connections gone: deleted',
  );
  t.equal(ipvsadmChanges(draining, current, conns), '-e -t 10.96.0.1:80 -r 10.244.0.2:80 -m -w 1\n', 'back in the endpoints: weight 1 again');
  t.equal(ipvsadmChanges(current, '', conns), '-D -t 10.96.0.1:80\n-D -u 10.96.0.10:53\n', 'a virtual server that goes takes its real servers at once');
});

t.test('the cluster chooses the scheduler; strictARP adds the ARP sysctls', async (t) => {
  const plain = await fixtureModel('clusterip-two-endpoints', { cluster: 'proxyMode: ipvs' });
  t.match(renderIpvs(plain, 'node-1').ipvsadm, /^-A -t 10\.96\.0\.100:80 -s rr$/m);
  t.same(ipvsSysctls(plain), { 'net.ipv4.vs.conntrack': '1', 'net.ipv4.vs.expire_nodest_conn': '1', 'net.ipv4.vs.expire_quiescent_template': '1' });
  const strict = await fixtureModel('clusterip-two-endpoints', { cluster: 'proxyMode: ipvs, ipvs: {scheduler: sh, strictARP: true}' });
  t.match(renderIpvs(strict, 'node-1').ipvsadm, /^-A -t 10\.96\.0\.100:80 -s sh$/m);
  t.equal(ipvsSysctls(strict)['net.ipv4.conf.all.arp_ignore'], '1');
  t.equal(ipvsSysctls(strict)['net.ipv4.conf.all.arp_announce'], '2');
});

t.test('the first sync inserts the jumps into the builtin chains, later ones do not', async (t) => {
  const r = renderIpvs(await fixtureModel('clusterip-two-endpoints', { cluster: 'proxyMode: ipvs' }), 'node-1');
  const first = ipvsIptablesRestore(r, true);
  t.match(first, /^-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES$/m);
  t.match(first, /^-I OUTPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER\nCOMMIT$/m, 'the jumps end the filter section');
  t.equal(ipvsIptablesRestore(r, false), r.iptables);
  t.notMatch(r.iptables, /^-I /m);
});
