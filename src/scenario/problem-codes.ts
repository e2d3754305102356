// The one closed list of problem codes: every problem validation reports carries one of these, so
// a user (or a script reading `knetlab validate -o json`) can act on it and search for it.
// docs/SCENARIO_FORMAT.md lists them; a test keeps the two and the source in step.
export const problemCodes = {
  // YAML and the shape of the files
  'yaml-syntax': 'the file is not valid YAML',
  'yaml-duplicate-key': 'a key appears twice in one mapping',
  'yaml-limit': 'the file is past what knetlab reads (nesting depth, documents, YAML tokens, alias repeats)',
  'forbidden-key': 'the key `__proto__`, which JavaScript would drop',
  'empty-file': 'the scenario file holds nothing',
  'multiple-documents': 'the scenario file holds more than one YAML document',
  'not-a-scenario': 'the scenario file is not a mapping with apiVersion: knetlab/v1 and kind: Scenario',
  'not-a-kubernetes-object': 'a manifest is not a Kubernetes object (a mapping with apiVersion, kind and metadata)',
  // files and paths
  'unreadable-file': 'a file or folder cannot be read (missing, outside --allow-path, not a regular file, the scenario itself)',
  // keys
  'unknown-key': 'a key the format does not have (often a misspelt one: see the suggestion)',
  'missing-key': 'a required key is not there',
  'bad-key': 'a key of a mapping of names (labels, annotations, selectors, headers) is not a valid name',
  // types and values
  'wrong-type': 'a value of the wrong type (text for a number, a list for a mapping, ...)',
  'unknown-value': 'a value not among the ones allowed (a protocol, a type, a kube-proxy mode, a workload)',
  'bad-format': 'text not in the form the field takes',
  'out-of-range': 'a number outside its range (a port from 1 to 65535, a count)',
  'wrong-length': 'text too short or too long',
  'list-size': 'a list with too few or too many items',
  'bad-duration': 'not a duration such as 500ms or 2s, or one out of its bounds',
  'bad-address': 'not an address knetlab reads (an IPv4 address or CIDR, a port range, pod/NAME:PORT, node/NAME ...)',
  'bad-dns-name': 'not a DNS name (a host, an ExternalName, a cluster domain)',
  'bad-name': 'a name Kubernetes or knetlab would refuse (an object, a machine, a port name)',
  'bad-label-value': 'a label value Kubernetes would refuse',
  'bad-url-path': 'an HTTP path that is not one (an Ingress path, a step request path)',
  'bad-regex': 'a regular expression that does not compile',
  'name-too-long': 'a name longer than Linux allows for the interface or network namespace it names',
  // Kubernetes objects
  'unknown-kind': 'a Kubernetes kind that knetlab does not know (a misspelt one: see the suggestion)',
  'unsupported-kind': 'a Kubernetes kind that knetlab does not model; the object is skipped',
  'wrong-api-version': 'an apiVersion that the kind does not have',
  'selector-mismatch': "a workload's selector does not match its pod template's labels",
  'unnamed-port': 'a Service with more than one port leaves one unnamed',
  'conflicting-fields': 'fields that cannot go together (a Service type and a field, two actions, two checks)',
  'immutable-field': 'a field that cannot change once set',
  'reserved-name': 'a name or object knetlab keeps for itself (`lan`, the cluster DNS)',
  'bad-patch': 'a patch step that makes an invalid object or changes its kind, name or namespace',
  // references to things that do not exist
  'unknown-service': 'a Service that does not exist',
  'unknown-port': 'a port (by number or name) that the Service or its pods do not have',
  'unknown-machine': 'a node or host that does not exist',
  'unknown-object': 'an object a step acts on does not exist at that step',
  'unknown-step': 'a step reference that names no earlier step of the right kind',
  'unresolved-address': 'an address in a step names something the cluster does not have at that step',
  // addresses and ranges
  'outside-range': 'an address, subnet or port outside the cluster range it must be in',
  'reserved-address': 'an address kept for something else (a network or broadcast address, a machine, a range)',
  'already-allocated': 'an address or port another object already has',
  'range-too-small': 'a cluster range or subnet too small for what it must hold',
  'ranges-overlap': 'cluster ranges or subnets that overlap',
  'host-bits-set': 'a CIDR with host bits set (an error in a cluster range; in a NetworkPolicy a warning: Kubernetes reads its network)',
  'no-free-address': 'a range has no address, subnet or port left to give',
  // capacity
  'over-capacity': 'more pods, endpoints or step checks than knetlab runs on one machine',
  'over-time-limit': 'the steps may take longer than the time limit of a scenario (--timeout)',
  // duplicates
  'duplicate-name': 'a name used twice (an object, a machine, a machine and a pod namespace)',
  'duplicate-port': 'a port declared twice',
  'duplicate-entry': 'an entry listed twice',
  // steps
  'missing-action': 'a step without an action (http, ping, dns, apply, ...)',
  'not-traceable': '`trace: true` on a step that sends no probe (only http, tcp, udp and ping steps can be traced)',
  'untraced-kernel-expect':
    'a kernel expectation (dnat, masquerade, dropped, rejected, droppedBy, path) on a step that sends no probe (only http, tcp, udp and ping steps are traced)',
  'nothing-to-expect': 'an expectation where the step has nothing to check',
  'needs-more-tries': 'an expectation that cannot be judged from one try',
  // warnings: the scenario runs, but probably not as meant
  'ignored-field': 'a field, annotation or object that is read but has no effect',
  'not-modelled': 'a field that changes networking in a cluster but that knetlab does not model (docs/fields.md lists them)',
  'implied-value': 'a missing field that Kubernetes reads as a default worth writing out',
  'ipv4-only': 'something IPv6, which knetlab does not model',
  'not-served': 'an Ingress or backend that nothing in the scenario serves',
  'unschedulable-pod': 'a pod no node can take; it stays Pending',
  'selects-nothing': 'a NetworkPolicy, peer or named port that selects nothing',
  'flaky-expectation': "an expectation that kube-proxy's random choice of endpoint fails in more than 1 run in 1000 (`backends: all` with too few tries)",
  'alpha-feature': "a kube-proxy feature still alpha in the scenario's kubernetesVersion (it needs its feature gate)",
  // the output itself
  'more-problems': 'the count of the problems past the ones shown',
  // at run time
  'cannot-listen': 'the echo server could not open a socket',
} as const;

export type ProblemCode = keyof typeof problemCodes;
