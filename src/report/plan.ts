import { checkSteps } from '../cluster/check-steps.js';
import { resolveAddress, resolveSource, resolveTarget } from '../cluster/resolve.js';
import { endpointsForPort, podListenPorts } from '../cluster/service-endpoints.js';
import type { Model, Service } from '../cluster/types.js';
import { Problems } from '../scenario/problems.js';
import { formatTarget, type AddressRef, type SourceRef } from '../scenario/refs.js';
import { skippedUnderMode, stepUnderMode, type ResponseExpect, type Step } from '../scenario/steps.js';
import { formatCidr, ipToInt } from '../util/ip.js';
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

/** The resolved cluster, printed the way `kubectl get nodes,pods,svc,endpoints -o wide` would. */
export function formatPlan(model: Model, steps: readonly Step[] = []): string {
  const c = model.config;
  const out: string[] = [];
  out.push(`SCENARIO ${model.scenario.name} (${model.scenario.file})`);
  if (model.scenario.description.trim()) out.push(...model.scenario.description.trim().split('\n').map((l) => `  ${l}`));
  out.push(
    `CLUSTER  proxyMode=${c.proxyMode} network=${c.network} lan=${formatCidr(c.lanCIDR)} gateway=${c.gateway} podCIDR=${formatCidr(c.podCIDR)} serviceCIDR=${formatCidr(c.serviceCIDR)} loadBalancerCIDR=${formatCidr(c.loadBalancerCIDR)} nodePorts=${c.nodePortRange.min}-${c.nodePortRange.max} dns=${c.dns ? c.dnsIP : 'off'}`,
  );
  out.push('');
  // A column per CNI device with an address (flannel: CNI0 and FLANNEL.1, which host-gw leaves empty).
  const devices = c.network === 'flannel-vxlan' || c.network === 'host-gw' ? ['cni0', 'flannel.1'] : [...new Set(model.nodes.flatMap((n) => Object.keys(n.addresses)))];
  out.push(
    table(
      ['NAME', 'STATUS', 'INTERNAL-IP', 'POD-CIDR', ...devices.map((d) => d.toUpperCase()), 'SERVES', 'LABELS'],
      model.nodes.map((n) => [`node/${n.name}`, 'Ready', n.ip, n.podCIDR, ...devices.map((d) => n.addresses[d] ?? none), n.serve.map((p) => `${p.port}/${p.protocol}`).join(',') || none, labels(n.labels, defaultNodeLabels)]),
    ),
  );
  if (model.hosts.length) {
    out.push('');
    out.push(
      table(
        ['NAME', 'IP', 'SERVES', 'ROUTES'],
        model.hosts.map((h) => [`host/${h.name}`, h.ip, h.serve.map((p) => `${p.port}/${p.protocol}`).join(',') || none, h.routes.map((r) => `${r.to} via ${r.via}`).join(',') || none]),
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
        model.services.map((s) => [s.namespace, `service/${s.name}`, s.spec.type, clusterIP(s), externalIP(s), servicePorts(s), s.spec.selector ? labels(s.spec.selector) : none, policy(s)]),
      ),
    );
    const withEndpoints = model.services.filter((s) => s.spec.type !== 'ExternalName');
    if (withEndpoints.length) {
      out.push('');
      out.push(table(['NAMESPACE', 'NAME', 'ENDPOINTS'], withEndpoints.map((s) => [s.namespace, `endpoints/${s.name}`, endpointsOf(model, s)])));
    }
  }
  const stepRows = planSteps(model, steps);
  if (stepRows.length) {
    out.push('');
    out.push(table(['STEP', 'ACTION', 'FROM', 'TO', 'EXPECT', 'NAME'], stepRows));
  }
  return `${out.join('\n')}\n`;
}

function placeText(m: Model, ref: SourceRef): string {
  const ns = 'namespace' in ref && ref.namespace ? `.${ref.namespace}` : '';
  const r = resolveSource(m, ref);
  return `${ref.kind}/${ref.name}${ns}${r.ok ? ` (${r.value.ip})` : ''}`;
}

function addressText(m: Model, ref: AddressRef): string {
  const r = resolveAddress(m, ref);
  const shown = ref.kind === 'ip' ? ref.ip : `${ref.kind}/${ref.name}${'namespace' in ref && ref.namespace ? `.${ref.namespace}` : ''}${ref.kind === 'node' && ref.device ? `@${ref.device}` : ''}`;
  return r.ok && ref.kind !== 'ip' ? `${shown} = ${r.value.ip}` : shown;
}

function responseExpect(m: Model, e: ResponseExpect): string[] {
  const out: string[] = [];
  if (e.sourceIp) out.push(`sourceIp ${addressText(m, e.sourceIp)}`);
  if (e.sourceIpNot) out.push(`sourceIpNot ${addressText(m, e.sourceIpNot)}`);
  if (e.backend) out.push(`backend ${addressText(m, e.backend)}`);
  if (e.backends) out.push(`backends ${e.backends}`);
  if (e.spread !== undefined) out.push(`spread ${e.spread}`);
  if (e.sameBackendAs !== undefined) out.push(`the backend of "${e.sameBackendAs}"`);
  return out;
}

/** Each step with the addresses its names stand for at the moment it runs. */
function planSteps(model: Model, steps: readonly Step[]): string[][] {
  const rows: string[][] = [];
  checkSteps(model, steps, new Problems(), (written, m) => {
    const step = stepUnderMode(written, m.config.proxyMode);
    const n = String(step.index + 1);
    const skipped = skippedUnderMode(written, m.config.proxyMode);
    const row = (action: string, from: string, to: string, expect: string[] = []) => rows.push([n, action, from, to, skipped ? `not run in ${m.config.proxyMode} mode` : expect.join(', '), step.name]);
    switch (step.kind) {
      case 'http':
      case 'tcp':
      case 'udp':
      case 'ping': {
        const to = resolveTarget(m, step.to, step.kind === 'ping' ? undefined : step.kind === 'udp' ? 'UDP' : 'TCP');
        const port = step.kind !== 'ping' && to.ok && to.value.port ? `:${to.value.port}` : '';
        const proto = step.kind === 'tcp' || step.kind === 'udp' ? `/${step.kind.toUpperCase()}` : '';
        const dest = to.ok ? `${to.value.hostname ?? to.value.ip}${port}${proto}` : '?';
        const extra: string[] = [];
        if (step.kind === 'http') {
          if (step.path !== '/' && step.to.kind !== 'url') extra.push(step.path);
          for (const [k, v] of Object.entries(step.headers)) extra.push(`${k}: ${v}`);
        }
        if (step.count > 1) extra.push(`x${step.count}`);
        const toText = `${formatTarget(step.to)} = ${dest}${extra.length ? ` ${extra.join(' ')}` : ''}`;
        let expect: string[];
        if (step.kind === 'http') expect = [step.expect.fail !== undefined ? `fail ${step.expect.fail}` : `status ${step.expect.status}`, ...responseExpect(m, step.expect)];
        else if (step.kind === 'udp') expect = [step.expect.reply ? 'reply' : 'no reply', ...responseExpect(m, step.expect)];
        else if (step.kind === 'tcp') expect = [step.expect.connect ? 'connect' : 'no connect'];
        else expect = [step.expect.reachable ? 'reachable' : 'unreachable'];
        row(step.kind, placeText(m, step.from), toText, expect);
        break;
      }
      case 'dns': {
        const e = step.expect;
        const expect = e.addresses ? e.addresses.map((a) => `address ${addressText(m, a)}`) : e.cname !== undefined ? [`cname ${e.cname}`] : e.nxdomain !== undefined ? [e.nxdomain ? 'nxdomain' : 'not nxdomain'] : [];
        row('dns', placeText(m, step.from), `${step.query} ${step.type}`, expect);
        break;
      }
      case 'exec': {
        const e = step.expect;
        const expect = [...(e.exitCode !== undefined ? [`exit ${e.exitCode}`] : []), ...(e.stdoutMatches ? [`stdout ~ /${e.stdoutMatches}/`] : []), ...(e.stderrMatches ? [`stderr ~ /${e.stderrMatches}/`] : [])];
        row('exec', placeText(m, step.on), step.command.join(' '), expect);
        break;
      }
      case 'apply':
        row('apply', '', step.objects.map((o) => `${o.kind.toLowerCase()}/${o.meta.name}${o.meta.namespace !== 'default' && o.kind !== 'Namespace' ? `.${o.meta.namespace}` : ''}`).join(', '));
        break;
      case 'patch':
        row('patch', '', `${step.target.kind.toLowerCase()}/${step.target.name} ${JSON.stringify(step.patch)}`);
        break;
      case 'delete':
        row('delete', '', `${step.target.kind.toLowerCase()}/${step.target.name}`);
        break;
      case 'scale':
        row('scale', '', `deployment/${step.deployment} to ${step.replicas}`);
        break;
      case 'link':
        row('link', '', `node/${step.node} ${step.state}`);
        break;
      case 'sleep':
        row('sleep', '', step.ms % 1000 === 0 ? `${step.ms / 1000}s` : `${step.ms}ms`);
        break;
      case 'resync':
        row('resync', '', 'kube-proxy on every node');
        break;
    }
  });
  return rows;
}
