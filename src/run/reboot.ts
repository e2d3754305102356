import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LAN_NETNS, machineNetns, podNetns } from '../dataplane/names.js';
import { nodeShutdown, podsOnNode, renderNodeBoot } from '../dataplane/topology.js';
import { KnetlabError } from '../errors.js';
import { applyTopology, removePods } from '../kernel/apply.js';
import { echoListeners, type Live } from './scenario.js';

/**
 * A node rebooted: everything in its namespaces is lost (devices, routes, rules, conntrack, its pods'
 * sockets), then the node comes back as it booted: its namespace and its CNI's state, its pods' sandboxes
 * (same addresses: the model keeps them), kube-proxy's start-up sync, NetworkPolicies, hostPorts, then the workloads.
 */
export async function rebootNode(live: Live, nodeName: string): Promise<void> {
  const { runner, model, echo, commands, ingress, kubeProxy, policies, hostPorts, etcNetns } = live;
  const pods = podsOnNode(model, nodeName);
  const netns = new Set([machineNetns(nodeName), ...pods.filter((p) => !p.hostNetwork).map(podNetns)]);
  const inNode = [...echoListeners(model), ...kubeProxy.healthListeners(model)].filter((l) => l.netns !== null && netns.has(l.netns));
  // Down: the processes and sockets first, then the devices, then the namespaces.
  commands.stop(pods);
  await ingress.stop(pods);
  await echo.close(inNode);
  const down = nodeShutdown(model, nodeName);
  await runner.run(['ip', '-n', LAN_NETNS, '-batch', '-'], { input: `${down.lan.join('\n')}\n` });
  await removePods(runner, down.pods, { etcNetns });
  await runner.run(['ip', 'netns', 'del', down.netns]);
  if (etcNetns) rmSync(join('/etc/netns', down.netns), { recursive: true, force: true });
  // Up: the node and its CNI, kube-proxy's first sync, policies, then the pods' workloads.
  await applyTopology(runner, renderNodeBoot(model, nodeName), { etcNetns });
  await kubeProxy.restart(model, nodeName);
  policies.forget(nodeName);
  await policies.sync(model);
  // The CNI's portmap plugin runs again for the node's pods as they start (their hostPorts).
  hostPorts.forget(nodeName);
  await hostPorts.sync(model);
  await echo.listen(inNode);
  const notRunnable = commands.start(pods);
  if (notRunnable.length) throw new KnetlabError('EINVALID', notRunnable.join('; '));
  await commands.listening(pods);
  await ingress.start(model, pods);
}
