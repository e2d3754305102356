import { z } from 'zod';
import { isIPv4, isIPv6 } from '../util/ip.js';
import { annotationMap, dns1035Label, dns1123Label, dns1123Subdomain, labelMap, labelValue, qualifiedName } from './k8s-names.js';
import { cidr, ipv4, port, protocol } from './schema.js';

// Kubernetes objects are checked as the API server's strict field validation does: every field
// of the API is known, so a misspelt one is an error with a "did you mean"; the fields knetlab does
// not honour (resources, probes, volumes, managedFields, ...) are accepted and ignored, so
// `kubectl get -o yaml` output pastes in as it is. Status is not checked but where it is read.

/** An API type: the fields knetlab reads, checked, and the rest of its fields, accepted as they are. */
function api<T extends z.core.$ZodLooseShape>(shape: T, ignored: readonly string[]) {
  const rest = Object.fromEntries(ignored.map((k) => [k, z.unknown().optional()])) as Record<string, z.ZodOptional<z.ZodUnknown>>;
  return z.strictObject({ ...rest, ...shape } as T); // the ignored fields stay out of the type
}

const ianaSvcName = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const subdomainName = z
  .string()
  .max(253, { error: 'to be at most 253 characters' })
  .regex(dns1123Subdomain, { error: 'to be a DNS subdomain name: lower-case a-z, 0-9, - and .' });
export const labelName = z.string().max(63, { error: 'to be at most 63 characters' }).regex(dns1123Label, { error: 'to be a DNS label: lower-case a-z, 0-9 and -' });
export const serviceName = z
  .string()
  .max(63, { error: 'to be at most 63 characters' })
  .regex(dns1035Label, { error: 'to be a DNS-1035 label: lower-case a-z, 0-9 and -, starting with a letter' });
export const portName = z
  .string()
  .max(15, { error: 'to be at most 15 characters' })
  .regex(ianaSvcName, { error: 'to be a port name: lower-case a-z, 0-9 and -, with at least one letter' });

// What the API server checks as labels: an object's labels, selectors and nodeSelectors.
const labels = labelMap;

const objectMetaFields = [
  'generateName',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'clusterName',
];

export const metadataSchema = api(
  {
    name: z.string(),
    namespace: labelName.optional(),
    labels: labels.nullish(),
    annotations: annotationMap.nullish(),
    deletionTimestamp: z.unknown().optional(),
  },
  objectMetaFields,
);

export const labelSelectorSchema = z.strictObject({
  matchLabels: labels.nullish(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: qualifiedName,
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(labelValue).nullish(),
      }),
    )
    .nullish(),
});

export const containerSchema = api(
  {
    name: labelName, // a container's name is a DNS label (IsDNS1123Label)
    ports: z
      .array(
        api(
          {
            name: portName.optional(),
            containerPort: port,
            protocol: protocol.optional(),
            hostPort: port.optional(),
            hostIP: z
              .string()
              .refine((s) => isIPv4(s) || isIPv6(s), { error: 'to be an IP address' })
              .optional(),
          },
          [],
        ),
      )
      .nullish(),
    command: z.array(z.string()).nullish(),
    args: z.array(z.string()).nullish(),
  },
  [
    'image',
    'workingDir',
    'envFrom',
    'env',
    'resources',
    'resizePolicy',
    'restartPolicy',
    'volumeMounts',
    'volumeDevices',
    'livenessProbe',
    'readinessProbe',
    'startupProbe',
    'lifecycle',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'imagePullPolicy',
    'securityContext',
    'stdin',
    'stdinOnce',
    'tty',
  ],
);

export const podSpecSchema = api(
  {
    containers: z.array(containerSchema).min(1),
    nodeName: z.string().optional(),
    nodeSelector: labels.nullish(),
    hostNetwork: z.boolean().optional(),
  },
  [
    'volumes',
    'initContainers',
    'ephemeralContainers',
    'restartPolicy',
    'terminationGracePeriodSeconds',
    'activeDeadlineSeconds',
    'dnsPolicy',
    'serviceAccountName',
    'serviceAccount',
    'automountServiceAccountToken',
    'hostPID',
    'hostIPC',
    'shareProcessNamespace',
    'securityContext',
    'imagePullSecrets',
    'hostname',
    'subdomain',
    'affinity',
    'schedulerName',
    'tolerations',
    'hostAliases',
    'priorityClassName',
    'priority',
    'dnsConfig',
    'readinessGates',
    'runtimeClassName',
    'enableServiceLinks',
    'preemptionPolicy',
    'overhead',
    'topologySpreadConstraints',
    'setHostnameAsFQDN',
    'os',
    'hostUsers',
    'schedulingGates',
    'resourceClaims',
    'resources',
  ],
);

const templateSchema = z.strictObject({
  metadata: api({ name: z.string().optional(), labels: labels.nullish(), annotations: annotationMap.nullish(), namespace: z.string().optional() }, [
    ...objectMetaFields,
    'deletionTimestamp',
  ]).nullish(),
  spec: podSpecSchema,
});

/** The top of an object: apiVersion and kind (checked before), metadata, and the kind's own fields. */
function topLevel<T extends z.core.$ZodLooseShape>(shape: T) {
  return api({ metadata: metadataSchema, ...shape }, ['apiVersion', 'kind', 'status']);
}

// At most this many pods per workload: a node's /24 holds 253, and one machine runs them all.
const MAX_REPLICAS = 250;

export const podSchema = topLevel({ spec: podSpecSchema });

export const deploymentSchema = topLevel({
  spec: api(
    {
      replicas: z
        .number()
        .int({ error: `to be a whole number from 0 to ${MAX_REPLICAS}` })
        .min(0, { error: `to be a whole number from 0 to ${MAX_REPLICAS}` })
        .max(MAX_REPLICAS, { error: `to be a whole number from 0 to ${MAX_REPLICAS}` })
        .optional(),
      selector: labelSelectorSchema.optional(),
      template: templateSchema,
    },
    ['strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds', 'rollbackTo', 'templateGeneration'],
  ),
});

export const daemonSetSchema = topLevel({
  spec: api({ selector: labelSelectorSchema.optional(), template: templateSchema }, ['updateStrategy', 'minReadySeconds', 'revisionHistoryLimit', 'templateGeneration']),
});

// A number, or a quoted number (checked as one), or a container port's name.
const targetPort = z.union([z.number(), z.string()], { error: 'to be a port number from 1 to 65535 or a port name' }).superRefine((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : undefined;
  if (n !== undefined) {
    if (!Number.isInteger(n) || n < 1 || n > 65535) ctx.addIssue({ code: 'custom', message: 'to be a port number from 1 to 65535' });
  } else if (typeof v === 'string' && (v.length > 15 || !ianaSvcName.test(v))) {
    ctx.addIssue({ code: 'custom', message: 'to be a port name: lower-case a-z, 0-9 and -, with at least one letter, at most 15 characters' });
  }
});

export const servicePortSchema = z.strictObject({
  // A Service port's name is a DNS label (up to 63); only container ports have the 15-character limit.
  name: labelName.optional(),
  port,
  targetPort: targetPort.optional(),
  nodePort: z.number().int().optional(),
  protocol: protocol.optional(),
  appProtocol: z.string().optional(),
});

export const serviceSchema = api(
  {
    metadata: metadataSchema.extend({ name: serviceName }),
    spec: api(
      {
        type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
        clusterIP: z
          .string({ error: 'to be an IPv4 address, None or empty' })
          .refine((s) => s === 'None' || s === '' || isIPv4(s), { error: 'to be an IPv4 address, None or empty' })
          .optional(),
        clusterIPs: z.array(z.string()).optional(),
        selector: labels.nullish(),
        ports: z.array(servicePortSchema).nullish(),
        externalTrafficPolicy: z.enum(['Cluster', 'Local', '']).optional(),
        internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
        sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
        sessionAffinityConfig: z
          .strictObject({
            clientIP: z.strictObject({ timeoutSeconds: z.number().int().min(1).max(86400).optional() }).optional(),
          })
          .optional(),
        externalIPs: z.array(ipv4).nullish(),
        loadBalancerIP: z.union([ipv4, z.literal('')], { error: 'to be an IPv4 address' }).optional(),
        loadBalancerSourceRanges: z.array(cidr).nullish(),
        externalName: z.string().optional(),
        healthCheckNodePort: z.number().int().optional(),
        publishNotReadyAddresses: z.boolean().optional(),
        // PreferSameZone and PreferSameNode need 1.33's alpha gate PreferSameTrafficDistribution (off): the API server refuses them.
        trafficDistribution: z
          .literal('PreferClose', { error: 'to be PreferClose (PreferSameZone and PreferSameNode need the alpha feature gate PreferSameTrafficDistribution of 1.33, off)' })
          .optional(),
      },
      ['ipFamilies', 'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass', 'topologyKeys'],
    ),
    status: z
      .looseObject({
        loadBalancer: z.looseObject({ ingress: z.array(z.looseObject({ ip: ipv4.optional(), hostname: z.string().optional() })).nullish() }).nullish(),
      })
      .nullish(),
  },
  ['apiVersion', 'kind'],
);

const objectReference = api({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() }, ['uid', 'apiVersion', 'resourceVersion', 'fieldPath']);
const endpointPortSchema = api({ name: z.string().optional(), port, protocol: protocol.optional() }, ['appProtocol']);
const endpointAddressSchema = z.strictObject({
  ip: ipv4,
  nodeName: z.string().optional(),
  hostname: z.string().optional(),
  targetRef: objectReference.optional(),
});

export const endpointsSchema = topLevel({
  subsets: z
    .array(
      z.strictObject({
        addresses: z.array(endpointAddressSchema).nullish(),
        notReadyAddresses: z.array(endpointAddressSchema).nullish(),
        ports: z.array(endpointPortSchema).nullish(),
      }),
    )
    .nullish(),
});

export const endpointSliceSchema = topLevel({
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  ports: z.array(api({ name: z.string().nullish(), port: port.nullish(), protocol: protocol.optional() }, ['appProtocol'])).nullish(),
  endpoints: z
    .array(
      api(
        {
          addresses: z.array(z.string()).min(1),
          conditions: z.strictObject({ ready: z.boolean().nullish(), serving: z.boolean().nullish(), terminating: z.boolean().nullish() }).nullish(),
          nodeName: z.string().optional(),
          zone: z.string().optional(),
          topology: labels.nullish(),
          hostname: z.string().optional(),
          targetRef: objectReference.optional(),
          hints: z
            .looseObject({
              forZones: z.array(z.strictObject({ name: z.string() })).nullish(),
            })
            .nullish(),
        },
        ['deprecatedTopology'],
      ),
    )
    .nullish(),
});

// Ingress and NetworkPolicy specs are read by the ingress controller and the policy renderer.
export const genericSchema = topLevel({ spec: z.record(z.string(), z.unknown()).nullish() });
export const namespaceSchema = topLevel({ metadata: metadataSchema.extend({ name: labelName }), spec: z.unknown().optional() });
