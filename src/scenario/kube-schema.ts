import { z } from 'zod';
import { cidr, ipv4, port, protocol } from './schema.js';

// Kubernetes objects are checked loosely: fields knetlab does not honour (status, managedFields,
// resources, probes, ...) pass, as `kubectl get -o yaml` output must paste in as it is.

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ianaSvcName = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const subdomainName = z.string().max(253, { error: 'to be at most 253 characters' }).regex(dns1123Subdomain, { error: 'to be a DNS subdomain name: lower-case a-z, 0-9, - and .' });
export const labelName = z.string().max(63, { error: 'to be at most 63 characters' }).regex(dns1123Label, { error: 'to be a DNS label: lower-case a-z, 0-9 and -' });
export const serviceName = z.string().max(63, { error: 'to be at most 63 characters' }).regex(dns1035Label, { error: 'to be a DNS-1035 label: lower-case a-z, 0-9 and -, starting with a letter' });
export const portName = z.string().max(15, { error: 'to be at most 15 characters' }).regex(ianaSvcName, { error: 'to be a port name: lower-case a-z, 0-9 and -, with at least one letter' });

const stringMap = z.record(z.string(), z.string({ error: 'to be a string (quote it)' }));

export const metadataSchema = z.looseObject({
  name: z.string(),
  namespace: labelName.optional(),
  labels: stringMap.nullish(),
  annotations: stringMap.nullish(),
  deletionTimestamp: z.unknown().optional(),
});

export const labelSelectorSchema = z.looseObject({
  matchLabels: stringMap.nullish(),
  matchExpressions: z
    .array(
      z.looseObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
});

export const containerSchema = z.looseObject({
  name: z.string(),
  ports: z
    .array(
      z.looseObject({
        name: portName.optional(),
        containerPort: port,
        protocol: protocol.optional(),
        hostPort: port.optional(),
      }),
    )
    .nullish(),
  command: z.array(z.string()).nullish(),
  args: z.array(z.string()).nullish(),
});

export const podSpecSchema = z.looseObject({
  containers: z.array(containerSchema).min(1),
  nodeName: z.string().optional(),
  nodeSelector: stringMap.nullish(),
  hostNetwork: z.boolean().optional(),
});

const templateSchema = z.looseObject({
  metadata: z.looseObject({ labels: stringMap.nullish(), annotations: stringMap.nullish() }).nullish(),
  spec: podSpecSchema,
});

export const podSchema = z.looseObject({ metadata: metadataSchema, spec: podSpecSchema });

export const deploymentSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    replicas: z.number().int().min(0).optional(),
    selector: labelSelectorSchema.optional(),
    template: templateSchema,
  }),
});

export const daemonSetSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({ selector: labelSelectorSchema.optional(), template: templateSchema }),
});

const targetPort = z.union([port, portName, z.string().regex(/^\d+$/)], { error: 'to be a port number from 1 to 65535 or a port name' });

export const servicePortSchema = z.looseObject({
  // A Service port's name is a DNS label (up to 63); only container ports have the 15-character limit.
  name: labelName.optional(),
  port,
  targetPort: targetPort.optional(),
  nodePort: z.number().int().optional(),
  protocol: protocol.optional(),
  appProtocol: z.string().optional(),
});

export const serviceSchema = z.looseObject({
  metadata: metadataSchema.extend({ name: serviceName }),
  spec: z.looseObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
    clusterIP: z.union([ipv4, z.literal('None'), z.literal('')], { error: 'to be an IPv4 address, None or empty' }).optional(),
    clusterIPs: z.array(z.string()).optional(),
    selector: stringMap.nullish(),
    ports: z.array(servicePortSchema).nullish(),
    externalTrafficPolicy: z.enum(['Cluster', 'Local', '']).optional(),
    internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
    sessionAffinityConfig: z
      .looseObject({
        clientIP: z.looseObject({ timeoutSeconds: z.number().int().min(1).max(86400).optional() }).optional(),
      })
      .optional(),
    externalIPs: z.array(ipv4).nullish(),
    loadBalancerIP: z.union([ipv4, z.literal('')], { error: 'to be an IPv4 address' }).optional(),
    loadBalancerSourceRanges: z.array(cidr).nullish(),
    externalName: z.string().optional(),
    healthCheckNodePort: z.number().int().optional(),
    publishNotReadyAddresses: z.boolean().optional(),
  }),
  status: z
    .looseObject({
      loadBalancer: z.looseObject({ ingress: z.array(z.looseObject({ ip: ipv4.optional(), hostname: z.string().optional() })).nullish() }).nullish(),
    })
    .nullish(),
});

const endpointPortSchema = z.looseObject({ name: z.string().optional(), port, protocol: protocol.optional() });
const endpointAddressSchema = z.looseObject({
  ip: ipv4,
  nodeName: z.string().optional(),
  hostname: z.string().optional(),
  targetRef: z.looseObject({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() }).optional(),
});

export const endpointsSchema = z.looseObject({
  metadata: metadataSchema,
  subsets: z
    .array(
      z.looseObject({
        addresses: z.array(endpointAddressSchema).nullish(),
        notReadyAddresses: z.array(endpointAddressSchema).nullish(),
        ports: z.array(endpointPortSchema).nullish(),
      }),
    )
    .nullish(),
});

export const endpointSliceSchema = z.looseObject({
  metadata: metadataSchema,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  ports: z.array(z.looseObject({ name: z.string().nullish(), port: port.nullish(), protocol: protocol.optional() })).nullish(),
  endpoints: z
    .array(
      z.looseObject({
        addresses: z.array(z.string()).min(1),
        conditions: z.looseObject({ ready: z.boolean().nullish(), serving: z.boolean().nullish(), terminating: z.boolean().nullish() }).nullish(),
        nodeName: z.string().optional(),
        zone: z.string().optional(),
        topology: z.record(z.string(), z.string()).nullish(),
        hostname: z.string().optional(),
        targetRef: z.looseObject({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() }).optional(),
      }),
    )
    .nullish(),
});

export const genericSchema = z.looseObject({ metadata: metadataSchema, spec: z.record(z.string(), z.unknown()).nullish() });
export const namespaceSchema = z.looseObject({ metadata: metadataSchema.extend({ name: labelName }) });
