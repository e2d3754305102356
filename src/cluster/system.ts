import { readKubeObject, type KubeObject } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import type { Origin } from '../scenario/source.js';
import { WORKLOAD_ANNOTATION } from './workloads.js';
import type { ClusterConfig } from './types.js';

/** The cluster's own objects: with `dns: true`, CoreDNS as kubeadm installs it (two replicas behind kube-dns). */
export function systemObjects(config: ClusterConfig, origin: Origin, problems: Problems): KubeObject[] {
  if (!config.dns) return [];
  const labels = { 'k8s-app': 'kube-dns' };
  const raw = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { [WORKLOAD_ANNOTATION]: 'dns' } },
          spec: {
            containers: [
              {
                name: 'coredns',
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                ],
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        clusterIP: config.dnsIP,
        selector: labels,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    },
  ];
  return raw.flatMap((r) => {
    const o = readKubeObject(r, origin, problems);
    return o ? [o] : [];
  });
}
