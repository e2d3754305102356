// The LAN's cloud load balancer as data: routes per LoadBalancer address and the gateway's lines.
import t from 'tap';
import { loadBalancerRouteLines, loadBalancerRoutes, healthChecks } from '../../src/dataplane/load-balancer.js';
import { LAN_BRIDGE } from '../../src/dataplane/names.js';
import { cidrOf } from '../../src/util/ip.js';
import { fixtureModel } from './fixtures.js';

t.test('Cluster policy: every node; Local: the healthy ones, each counted its local endpoints', async (t) => {
  const cluster = await fixtureModel('loadbalancer', { policy: 'Cluster' });
  const [vip] = cluster.services[0]!.loadBalancerIPs;
  t.same([...loadBalancerRoutes(cluster, new Map())], [[vip, cluster.nodes.map((n) => n.ip)]]);
  t.same(healthChecks(cluster), [], 'no health check for Cluster policy');

  const local = await fixtureModel('loadbalancer', { policy: 'Local' });
  const [check] = healthChecks(local);
  const holder = local.pods.find((p) => p.labels.app === 'web')!.node!;
  t.same(
    [...check!.localEndpoints],
    local.nodes.map((n) => [n.name, n.name === holder ? 1 : 0]),
  );
  const lvip = local.services[0]!.loadBalancerIPs[0]!;
  t.same(loadBalancerRoutes(local, new Map([['default/web', new Set([holder])]])).get(lvip), [local.nodes.find((n) => n.name === holder)!.ip]);
  t.same(loadBalancerRoutes(local, new Map()).get(lvip), [], 'no healthy node: unreachable');
});

t.test("the gateway's lines: only what changed, proxy ARP for addresses inside the LAN", async (t) => {
  const lan = cidrOf('192.168.8.0/24');
  const one = new Map([['192.168.8.200', ['192.168.8.11']]]);
  const two = new Map([
    ['192.168.8.200', ['192.168.8.11', '192.168.8.12']],
    ['203.0.113.9', []],
  ]);
  t.same(loadBalancerRouteLines(new Map(), one, lan), [`neigh replace proxy 192.168.8.200 dev ${LAN_BRIDGE}`, 'route replace 192.168.8.200/32 via 192.168.8.11']);
  t.same(loadBalancerRouteLines(one, two, lan), ['route replace 192.168.8.200/32 nexthop via 192.168.8.11 nexthop via 192.168.8.12', 'route replace unreachable 203.0.113.9/32']);
  t.same(loadBalancerRouteLines(two, two, lan), [], 'nothing changed');
  t.same(
    loadBalancerRouteLines(two, new Map(), lan),
    ['route del 192.168.8.200/32', `neigh del proxy 192.168.8.200 dev ${LAN_BRIDGE}`, 'route del 203.0.113.9/32'],
    "the proxy neighbour only for the LAN's address",
  );
});
