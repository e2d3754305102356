import { NEWEST_KUBERNETES_VERSION } from '../dataplane/versions.js';
import { checkSteps } from '../cluster/check-steps.js';
import { cniOf } from '../cni/index.js';
import { endpointsForPort, podListenPorts } from '../cluster/service-endpoints.js';
import type { Model, Service } from '../cluster/types.js';
import { proxyModes } from '../proxy/modes.js';
import { Problems } from '../scenario/problems.js';
import { skippedUnderMode, stepUnderMode, type Step } from '../scenario/steps.js';
import { kindOf } from '../steps/kinds/index.js';
import { formatCidr, ipToInt } from '../util/ip.js';
import { formatWayIn, type WayIn } from '../dataplane/way-in.js';
import { table } from './table.js';

const defaultNodeLabels = new Set(['kubernetes.io/arch', 'kubernetes.io/hostname', 'kubernetes.io/os']);
const none = '<none>';

function labels(l: Readonly<Record<string, string>>, skip: Set<string> = new Set()): string {
  const s = Object.entries(l)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return s || none;
}

function servicePorts(s: Service): string {
  if (s.ports.length === 0) return none;
  return s.ports.map((p) => `${p.port}${p.nodePort !== undefined ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',');
}

function externalIP(s: Service): string {
  if (s.spec.type === 'ExternalName') return s.spec.externalName ?? none;
  const ips = [...s.loadBalancerIPs, ...s.spec.externalIPs];
  if (s.spec.type === 'LoadBalancer' && s.loadBalancerIPs.length === 0) ips.unshift('<pending>');
  return ips.length ? ips.join(',') : none;
}

function clusterIP(s: Service): string {
  if (s.spec.type === 'ExternalName') return none;
  return s.spec.clusterIP === 'None' ? 'None' : (s.clusterIP ?? none);
}

/** Ready addresses with their ports, as `kubectl get endpoints` shows them, in address order. */
function endpointsOf(model: Model, s: Service): string {
  const out = new Map<string, [number, number]>();
  for (const sp of s.ports) {
    for (const e of endpointsForPort(model, s, sp)) if (e.ready) out.set(`${e.ip}:${e.port}`, [ipToInt(e.ip), e.port]);
  }
  if (s.ports.length === 0) {
    // A headless Service without ports still lists its addresses.
    for (const slice of model.endpointSlices) {
      if (slice.namespace === s.namespace && slice.service === s.name) for (const e of slice.endpoints) if (e.ready) out.set(e.ip, [ipToInt(e.ip), 0]);
    }
  }
  const list = [...out].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]).map(([k]) => k);
  return list.length ? list.join(',') : none;
}

/** What differs from the defaults in how a Service treats traffic. */
function policy(s: Service): string {
  const spec = s.spec;
  const out: string[] = [];
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') out.push(`externalTrafficPolicy=${spec.externalTrafficPolicy}`);
  if (spec.internalTrafficPolicy !== 'Cluster') out.push(`internalTrafficPolicy=${spec.internalTrafficPolicy}`);
  if (spec.sessionAffinity === 'ClientIP') out.push(`sessionAffinity=ClientIP(${spec.sessionAffinityTimeout}s)`);
  if (s.healthCheckNodePort !== undefined) out.push(`healthCheckNodePort=${s.healthCheckNodePort}`);
  if (spec.loadBalancerSourceRanges.length) out.push(`loadBalancerSourceRanges=${spec.loadBalancerSourceRanges.join(';')}`);
  if (spec.publishNotReadyAddresses) out.push('publishNotReadyAddresses');
  return out.join(',') || none;
}

/** The MTUs the cluster's devices get: the LAN's, the CNI's tunnel, the pods'. */
function mtuLine(model: Model): string {
  const { network, mtu } = model.config;
  const cni = cniOf(network);
  const tunnel = cni.tunnelDevice ? `, ${cni.tunnelDevice} ${mtu.overlay} (${mtu.underlay} less ${cni.encapOverhead} bytes of encapsulation)` : '';
  const pods =
    mtu.pod === mtu.overlay
      ? ''
      : mtu.pod > mtu.overlay
        ? ` (cluster.podMTU: over the ${mtu.overlay} a pod's packet can take, so larger packets rely on PMTU discovery)`
        : ' (cluster.podMTU)';
  return `MTU      lan ${mtu.underlay}${tunnel}, pods ${mtu.pod}${pods}`;
}

/** The resolved cluster, printed the way `kubectl get nodes,pods,svc,endpoints -o wide` would. */
export function formatPlan(model: Model, steps: readonly Step[] = []): string {
  const c = model.config;
  const out: string[] = [];
  out.push(`SCENARIO ${model.scenario.name} (${model.scenario.file})`);
  if (model.scenario.description.trim())
    out.push(
      ...model.scenario.description
        .trim()
        .split('\n')
        .map((l) => `  ${l}`),
    );
  out.push(
    `CLUSTER  proxyMode=${c.proxyMode}${c.proxyModes.length < proxyModes.length ? ` (about ${c.proxyModes.join(',')} only)` : ''} network=${c.network} lan=${formatCidr(c.lanCIDR)} gateway=${c.gateway} podCIDR=${formatCidr(c.podCIDR)} serviceCIDR=${formatCidr(c.serviceCIDR)} loadBalancerCIDR=${formatCidr(c.loadBalancerCIDR)} nodePorts=${c.nodePortRange.min}-${c.nodePortRange.max} dns=${c.dns ? c.dnsIP : 'off'}${c.kubernetesVersion === NEWEST_KUBERNETES_VERSION ? '' : ` kubernetesVersion=${c.kubernetesVersion}`}`,
  );
  const up = c.upstreamDNS;
  if (up) {
    const records = Object.entries(up.records).map(([n, r]) => ('cname' in r ? `${n}=CNAME:${r.cname}` : `${n}=${r.addresses.join(',')}`));
    out.push(
      `UPSTREAM-DNS  ${up.server}:53 (the LAN gateway: nodes' and hosts' nameserver, CoreDNS forwards to it) ${[...records, ...(up.refuse.length ? [`refuse=${up.refuse.join(',')}`] : [])].join(' ')}`,
    );
  }
  out.push(mtuLine(model));
  out.push('');
  // A column per CNI device with an address (flannel: CNI0 and FLANNEL.1, which host-gw leaves empty).
  const devices = c.network === 'flannel-vxlan' || c.network === 'host-gw' ? ['cni0', 'flannel.1'] : [...new Set(model.nodes.flatMap((n) => Object.keys(n.addresses)))];
  out.push(
    table(
      ['NAME', 'STATUS', 'INTERNAL-IP', 'POD-CIDR', ...devices.map((d) => d.toUpperCase()), 'SERVES', 'LABELS'],
      model.nodes.map((n) => [
        `node/${n.name}`,
        'Ready',
        n.ip,
        n.podCIDR,
        ...devices.map((d) => n.addresses[d] ?? none),
        n.serve.map((p) => `${p.port}/${p.protocol}`).join(',') || none,
        labels(n.labels, defaultNodeLabels),
      ]),
    ),
  );
  for (const n of model.nodes) if (n.flannelPublicIP) out.push(`node/${n.name}: flannel public IP ${n.flannelPublicIP} (the other nodes send its VXLAN traffic there)`);
  if (model.hosts.length) {
    out.push('');
    out.push(
      table(
        ['NAME', 'IP', 'SERVES', 'ROUTES'],
        model.hosts.map((h) => [
          `host/${h.name}`,
          h.ip,
          h.serve.map((p) => `${p.port}/${p.protocol}`).join(',') || none,
          h.routes.map((r) => `${r.to} via ${r.via}`).join(',') || none,
        ]),
      ),
    );
  }
  if (model.pods.length) {
    out.push('');
    out.push(
      table(
        ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'IP', 'NODE', 'WORKLOAD', 'PORTS'],
        model.pods.map((p) => {
          const n = p.containers.length;
          const ports = podListenPorts(model, p).map((x) => `${x.port}/${x.protocol}`);
          return [
            p.namespace,
            `pod/${p.name}`,
            `${p.ready && p.phase === 'Running' ? n : 0}/${n}`,
            p.terminating ? 'Terminating' : p.phase === 'Pending' ? `Pending (${p.pendingReason ?? ''})` : 'Running',
            p.ip ?? none,
            p.node ?? none,
            p.workload,
            ports.join(',') || none,
          ];
        }),
      ),
    );
  }
  if (model.services.length) {
    out.push('');
    out.push(
      table(
        ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'SELECTOR', 'POLICY'],
        model.services.map((s) => [
          s.namespace,
          `service/${s.name}`,
          s.spec.type,
          clusterIP(s),
          externalIP(s),
          servicePorts(s),
          s.spec.selector ? labels(s.spec.selector) : none,
          policy(s),
        ]),
      ),
    );
    const withEndpoints = model.services.filter((s) => s.spec.type !== 'ExternalName');
    if (withEndpoints.length) {
      out.push('');
      out.push(
        table(
          ['NAMESPACE', 'NAME', 'ENDPOINTS'],
          withEndpoints.map((s) => [s.namespace, `endpoints/${s.name}`, endpointsOf(model, s)]),
        ),
      );
    }
  }
  const planned = planSteps(model, steps);
  if (planned.length) {
    out.push('');
    out.push(
      table(
        ['STEP', 'ACTION', 'FROM', 'TO', 'EXPECT', 'NAME'],
        planned.map((p) => p.cells),
      ),
    );
    // What each probe's target stands for: the Service port, where kube-proxy takes it, the endpoints it gives it.
    const ways = planned.filter((p) => p.wayIn);
    if (ways.length) {
      out.push('');
      out.push(
        table(
          ['STEP', 'TARGET STANDS FOR'],
          ways.map((p) => [p.cells[0]!, `-> ${formatWayIn(p.wayIn!)}`]),
        ),
      );
    }
  }
  return `${out.join('\n')}\n`;
}

export interface PlannedStep {
  index: number;
  kind: string;
  name?: string;
  /** The plan table's row. */
  cells: string[];
  wayIn?: WayIn;
}

/** Each step with the addresses its names stand for at the moment it runs (each kind gives its row, src/steps/kinds/). */
export function planSteps(model: Model, steps: readonly Step[]): PlannedStep[] {
  const rows: PlannedStep[] = [];
  checkSteps(model, steps, new Problems(), (written, m) => {
    const step = stepUnderMode(written, m.config.proxyMode);
    const skipped = skippedUnderMode(written, m.config.proxyMode);
    const row = kindOf(step).plan(step, m);
    rows.push({
      index: step.index,
      kind: step.kind,
      ...(step.name !== undefined ? { name: step.name } : {}),
      cells: [String(step.index + 1), step.kind, row.from, row.to, skipped ? `not run in ${m.config.proxyMode} mode` : row.expect.join(', '), step.name ?? ''],
      ...(row.wayIn && !skipped ? { wayIn: row.wayIn } : {}),
    });
  });
  return rows;
}
