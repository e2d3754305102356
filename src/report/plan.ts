import { checkSteps } from '../cluster/check-steps.js';
import { resolveSource, resolveTarget } from '../cluster/resolve.js';
import type { Model, Service } from '../cluster/types.js';
import { Problems } from '../scenario/problems.js';
import { formatTarget } from '../scenario/refs.js';
import type { Step } from '../scenario/steps.js';
import { formatCidr } from '../util/ip.js';
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

/** Ready addresses with their ports, as `kubectl get endpoints` shows them. */
function endpointsOf(model: Model, s: Service): string {
  const out: string[] = [];
  for (const slice of model.endpointSlices) {
    if (slice.namespace !== s.namespace || slice.service !== s.name) continue;
    for (const e of slice.endpoints) {
      if (!e.ready) continue;
      if (slice.ports.length === 0) out.push(e.ip);
      for (const p of slice.ports) out.push(`${e.ip}:${p.port}`);
    }
  }
  return out.length ? [...new Set(out)].join(',') : none;
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
  const flannel = c.network === 'flannel-vxlan';
  out.push(
    table(
      ['NAME', 'STATUS', 'INTERNAL-IP', 'POD-CIDR', 'CNI0', 'FLANNEL.1', 'SERVES', 'LABELS'],
      model.nodes.map((n) => [`node/${n.name}`, 'Ready', n.ip, n.podCIDR, n.cni0, flannel ? n.flannel : none, n.serve.map((p) => `${p.port}/${p.protocol}`).join(',') || none, labels(n.labels, defaultNodeLabels)]),
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
          const ports = p.containers.flatMap((ct) => ct.ports.map((cp) => `${cp.containerPort}/${cp.protocol}`));
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
        ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'SELECTOR'],
        model.services.map((s) => [s.namespace, `service/${s.name}`, s.spec.type, clusterIP(s), externalIP(s), servicePorts(s), s.spec.selector ? labels(s.spec.selector) : none]),
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
    out.push(table(['STEP', 'ACTION', 'FROM', 'TO'], stepRows));
  }
  return `${out.join('\n')}\n`;
}

/** Each step with the addresses its names stand for at the moment it runs. */
function planSteps(model: Model, steps: readonly Step[]): string[][] {
  const rows: string[][] = [];
  checkSteps(model, steps, new Problems(), (step, m) => {
    const n = String(step.index + 1);
    switch (step.kind) {
      case 'http':
      case 'tcp':
      case 'udp':
      case 'ping': {
        const from = resolveSource(m, step.from);
        const to = resolveTarget(m, step.to, step.kind === 'ping' ? undefined : step.kind === 'udp' ? 'UDP' : 'TCP');
        const fromText = `${step.from.kind}/${step.from.name}${'namespace' in step.from && step.from.namespace ? `.${step.from.namespace}` : ''}${from.ok ? ` (${from.value.ip})` : ''}`;
        const port = step.kind !== 'ping' && to.ok && to.value.port ? `:${to.value.port}` : '';
        const proto = step.kind === 'tcp' || step.kind === 'udp' ? `/${step.kind.toUpperCase()}` : '';
        const dest = to.ok ? `${to.value.hostname ?? to.value.ip}${port}${proto}` : '?';
        rows.push([n, step.kind, fromText, `${formatTarget(step.to)} = ${dest}${step.kind === 'http' && step.path !== '/' ? ` ${step.path}` : ''}`]);
        break;
      }
      case 'dns':
        rows.push([n, 'dns', `${step.from.kind}/${step.from.name}`, `${step.query} ${step.type}`]);
        break;
      case 'exec':
        rows.push([n, 'exec', `${step.on.kind}/${step.on.name}`, step.command.join(' ')]);
        break;
      case 'apply':
        rows.push([n, 'apply', '', step.objects.map((o) => `${o.kind.toLowerCase()}/${o.meta.name}`).join(', ')]);
        break;
      case 'patch':
      case 'delete':
        rows.push([n, step.kind, '', `${step.target.kind.toLowerCase()}/${step.target.name}`]);
        break;
      case 'scale':
        rows.push([n, 'scale', '', `deployment/${step.deployment} to ${step.replicas}`]);
        break;
      case 'link':
        rows.push([n, 'link', '', `node/${step.node} ${step.state}`]);
        break;
      case 'sleep':
        rows.push([n, 'sleep', '', step.ms % 1000 === 0 ? `${step.ms / 1000}s` : `${step.ms}ms`]);
        break;
    }
  });
  return rows;
}
