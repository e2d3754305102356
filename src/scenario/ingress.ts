// An Ingress's typed form (networking.k8s.io/v1, networking.k8s.io/v1beta1 and extensions/v1beta1
// read into one shape) and its checks, alone and against the cluster. Problems carry a path inside
// the object; the caller places them (FILE:LINE:COL) with originAt(object.origin, ...path).
import type { Model, Service, ServicePort } from '../cluster/types.js';
import type { KubeObject } from './objects.js';
import { formatPath, show, type Problems } from './problems.js';
import type { Path } from './source.js';
import { isMap, ObjectReader, placeObjectProblems, type ObjectProblem, type Raw } from './object-reader.js';
import { suggestion } from './suggest.js';

export type IngressObject = Extract<KubeObject, { kind: 'Ingress' }>;
export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';
export const pathTypes: readonly PathType[] = ['Exact', 'Prefix', 'ImplementationSpecific'];

/** The class knetlab's ingress-nginx serves. It is also the cluster's default class: Ingresses without a class are served too. */
export const INGRESS_CLASS = 'nginx';
export const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface IngressBackend {
  service: string;
  /** A port of the Service: its number, or its name. */
  port: number | string;
  /** Where the backend is written in the object. */
  at: Path;
}

export interface IngressPath {
  /** As written; '' when left out (the older APIs allow that: every path). */
  path: string;
  /** As written; the older APIs default it to ImplementationSpecific, as the API server does. */
  pathType: PathType;
  /** undefined for a `resource` backend, which ingress-nginx does not serve. */
  backend?: IngressBackend;
  at: Path;
}

export interface IngressRule {
  /** '' for every host. */
  host: string;
  paths: IngressPath[];
  at: Path;
}

export interface Ingress {
  namespace: string;
  name: string;
  apiVersion: string;
  /** The class asked for (the annotation first, as ingress-nginx reads it, then spec.ingressClassName); undefined when none. */
  className?: string;
  defaultBackend?: IngressBackend;
  rules: IngressRule[];
  /** spec.tls was given: it is accepted and ignored (the controller serves plain HTTP). */
  tls: boolean;
}

export type IngressProblem = ObjectProblem;

const isV1 = (apiVersion: string) => apiVersion === 'networking.k8s.io/v1';

// RFC 1123 subdomain, with the one leading `*.` label the Ingress API allows.
const hostRe = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// IANA_SVC_NAME: what a Service port name may be.
const portNameRe = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
// Written into nginx.conf unquoted (location) and quoted (set): nothing that ends a token or interpolates.
const nginxUnsafe = /[\s;{}"'\\#$\x00-\x1f\x7f]/;

/** Reads an Ingress object into its typed form; `ingress` is undefined when it has errors. */
export function readIngress(o: IngressObject): { ingress?: Ingress; partial?: Ingress; problems: IngressProblem[] } {
  const r = new ObjectReader(`Ingress ${o.meta.namespace}/${o.meta.name}`);
  const v1 = isV1(o.apiVersion);
  const spec: Raw = isMap(o.spec) ? o.spec : {};
  r.keys(
    spec,
    ['spec'],
    ['ingressClassName', 'rules', 'tls', v1 ? 'defaultBackend' : 'backend'],
    v1
      ? { backend: 'is the v1beta1 name; networking.k8s.io/v1 calls it `spec.defaultBackend`' }
      : { defaultBackend: `is the networking.k8s.io/v1 name; ${o.apiVersion} calls it \`spec.backend\`` },
  );
  const className = readClassName(r, o, spec);
  const bkKey = v1 ? 'defaultBackend' : 'backend';
  const defaultBackend = spec[bkKey] !== undefined ? (readBackend(r, spec[bkKey], ['spec', bkKey], o.apiVersion) ?? undefined) : undefined;
  const rules = readRules(r, spec, bkKey, o.apiVersion);
  for (const k of Object.keys(o.meta.annotations)) {
    if (k.startsWith('nginx.ingress.kubernetes.io/'))
      r.keyProblem(
        'warning',
        'ignored-field',
        ['metadata', 'annotations', k],
        `The annotation ${k} of ${r.what} is not applied: knetlab's ingress-nginx reads no nginx.ingress.kubernetes.io annotations`,
      );
  }
  const ingress: Ingress = {
    namespace: o.meta.namespace,
    name: o.meta.name,
    apiVersion: o.apiVersion,
    ...(className !== undefined ? { className } : {}),
    ...(defaultBackend ? { defaultBackend } : {}),
    rules,
    tls: spec.tls !== undefined && spec.tls !== null,
  };
  // With errors, the Ingress is not served; what could be read is still there for more checks.
  if (r.hasErrors()) return { partial: ingress, problems: r.problems };
  return { ingress, problems: r.problems };
}

/** The class asked for: ingress-nginx reads the annotation first, then spec.ingressClassName. */
function readClassName(r: ObjectReader, o: IngressObject, spec: Raw): string | undefined {
  const annotation = o.meta.annotations[CLASS_ANNOTATION];
  const icn = spec.ingressClassName;
  if (icn !== undefined && (typeof icn !== 'string' || icn === ''))
    r.err('wrong-type', ['spec', 'ingressClassName'], `Expected \`spec.ingressClassName\` of ${r.what} to be a class name such as nginx, got ${show(icn)}`);
  if (annotation !== undefined && typeof icn === 'string' && annotation !== icn) {
    r.err(
      'conflicting-fields',
      ['metadata', 'annotations', CLASS_ANNOTATION],
      `The annotation ${CLASS_ANNOTATION} of ${r.what} (\`${annotation}\`) must match \`spec.ingressClassName\` (\`${icn}\`) when both are given`,
    );
  }
  if (annotation !== undefined) return annotation;
  return typeof icn === 'string' && icn !== '' ? icn : undefined;
}

function readRules(r: ObjectReader, spec: Raw, bkKey: string, apiVersion: string): IngressRule[] {
  const rules: IngressRule[] = [];
  const rawRules = spec.rules;
  if (rawRules !== undefined && rawRules !== null && !Array.isArray(rawRules))
    r.err('wrong-type', ['spec', 'rules'], `Expected \`spec.rules\` of ${r.what} to be a list, got ${show(rawRules)}`);
  const ruleList = Array.isArray(rawRules) ? rawRules : [];
  if (ruleList.length === 0 && spec[bkKey] === undefined) r.err('missing-key', ['spec'], `${r.what} needs \`spec.rules\` or \`spec.${bkKey}\``);
  ruleList.forEach((raw: unknown, i) => {
    const at: Path = ['spec', 'rules', i];
    if (!isMap(raw)) {
      r.err('wrong-type', at, `Expected \`spec.rules[${i}]\` of ${r.what} to be a mapping, got ${show(raw)}`);
      return;
    }
    r.keys(raw, at, ['host', 'http']);
    const host = readHost(r, raw.host, [...at, 'host'], `spec.rules[${i}].host`);
    const paths: IngressPath[] = [];
    const http = raw.http;
    if (http !== undefined && http !== null) {
      if (!isMap(http)) r.err('wrong-type', [...at, 'http'], `Expected \`spec.rules[${i}].http\` of ${r.what} to be a mapping, got ${show(http)}`);
      else {
        r.keys(http, [...at, 'http'], ['paths']);
        const list = http.paths;
        if (!Array.isArray(list) || list.length === 0)
          r.err('list-size', list === undefined ? [...at, 'http'] : [...at, 'http', 'paths'], `\`spec.rules[${i}].http.paths\` of ${r.what} must list at least one path`);
        else
          list.forEach((p: unknown, j) => {
            const path = readPath(r, p, [...at, 'http', 'paths', j], `spec.rules[${i}].http.paths[${j}]`, apiVersion);
            if (path) paths.push(path);
          });
      }
    }
    rules.push({ host, paths, at });
  });
  return rules;
}

/** A rule's host: '' for every host. */
function readHost(r: ObjectReader, host: unknown, at: Path, field: string): string {
  if (host === undefined || host === null || host === '') return '';
  if (typeof host !== 'string') r.err('wrong-type', at, `Expected \`${field}\` of ${r.what} to be a host name, got ${show(host)}`);
  else if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':'))
    r.err('bad-dns-name', at, `\`${field}\` of ${r.what} must be a DNS name, not an IP address or a host:port, got \`${host}\``);
  else if (!hostRe.test(host) || host.length > 253)
    r.err('bad-dns-name', at, `Expected \`${field}\` of ${r.what} to be a lower-case DNS name (a leading \`*.\` allowed), got \`${host}\``);
  else return host;
  return '';
}

function readPath(r: ObjectReader, p: unknown, at: Path, field: string, apiVersion: string): IngressPath | undefined {
  if (!isMap(p)) {
    r.err('wrong-type', at, `Expected \`${field}\` of ${r.what} to be a mapping, got ${show(p)}`);
    return undefined;
  }
  r.keys(p, at, ['path', 'pathType', 'backend']);
  let pathType: PathType | undefined;
  if (p.pathType === undefined || p.pathType === null) {
    if (isV1(apiVersion)) r.err('missing-key', at, `Missing required key \`pathType\` in \`${field}\` of ${r.what} (Prefix, Exact or ImplementationSpecific)`);
    else pathType = 'ImplementationSpecific';
  } else if (typeof p.pathType === 'string' && (pathTypes as readonly string[]).includes(p.pathType)) pathType = p.pathType as PathType;
  else
    r.err(
      'unknown-value',
      [...at, 'pathType'],
      `Expected \`${field}.pathType\` of ${r.what} to be Prefix, Exact or ImplementationSpecific, got ${show(p.pathType)}${typeof p.pathType === 'string' ? suggestion(p.pathType, pathTypes) : ''}`,
    );
  let path = '';
  if (p.path !== undefined && p.path !== null && typeof p.path !== 'string')
    r.err('wrong-type', [...at, 'path'], `Expected \`${field}.path\` of ${r.what} to be a path such as /api, got ${show(p.path)}`);
  else if (typeof p.path === 'string') path = p.path;
  const pathAt = p.path === undefined ? at : [...at, 'path'];
  if (path === '' && pathType !== undefined && pathType !== 'ImplementationSpecific')
    r.err('bad-url-path', pathAt, `\`${field}.path\` of ${r.what} must be an absolute path such as / (pathType ${pathType})`);
  else if (path !== '' && !path.startsWith('/')) r.err('bad-url-path', pathAt, `\`${field}.path\` of ${r.what} must start with /, got \`${path}\``);
  else if (pathType !== undefined && pathType !== 'ImplementationSpecific' && /\/\/|\/\.\.?(\/|$)|%2f/i.test(path)) {
    r.err('bad-url-path', pathAt, `\`${field}.path\` of ${r.what} may not contain //, /./, /../ or %2F (pathType ${pathType}), got \`${path}\``);
  } else if (nginxUnsafe.test(path))
    r.err('bad-url-path', pathAt, `\`${field}.path\` of ${r.what} has a character knetlab cannot hand to nginx (space, quote, ; { } # $ or \\), got \`${path}\``);
  if (p.backend === undefined) {
    r.err('missing-key', at, `Missing required key \`backend\` in \`${field}\` of ${r.what}`);
    return undefined;
  }
  const b = readBackend(r, p.backend, [...at, 'backend'], apiVersion);
  if (b === null || pathType === undefined) return undefined;
  return { path, pathType, ...(b ? { backend: b } : {}), at };
}

/** A backend: the Service and port, undefined for a resource backend, null when it has errors. */
function readBackend(r: ObjectReader, b: unknown, at: Path, apiVersion: string): IngressBackend | undefined | null {
  const field = formatPath(at);
  if (!isMap(b)) {
    r.err('wrong-type', at, `Expected \`${field}\` of ${r.what} to be a mapping, got ${show(b)}`);
    return null;
  }
  const v1 = isV1(apiVersion);
  if (b.resource !== undefined) {
    const other = v1 ? b.service !== undefined : b.serviceName !== undefined || b.servicePort !== undefined;
    if (other) r.err('conflicting-fields', at, `\`${field}\` of ${r.what} may name a service or a resource, not both`);
    else
      r.warn(
        'not-served',
        [...at, 'resource'],
        `\`${field}\` of ${r.what} is a resource backend: ingress-nginx serves only Service backends, so requests here get the default backend (404)`,
      );
    return undefined;
  }
  return v1 ? readV1Backend(r, b, at, field) : readV1beta1Backend(r, b, at, field, apiVersion);
}

/** networking.k8s.io/v1: `service: {name: NAME, port: {number: PORT} | {name: NAME}}`. */
function readV1Backend(r: ObjectReader, b: Raw, at: Path, field: string): IngressBackend | null {
  r.keys(b, at, ['service', 'resource'], {
    serviceName: 'is the v1beta1 form; networking.k8s.io/v1 writes `service: {name: NAME, port: {number: PORT}}`',
    servicePort: 'is the v1beta1 form; networking.k8s.io/v1 writes `service: {name: NAME, port: {number: PORT}}`',
  });
  const s = b.service;
  if (s === undefined) {
    if (b.serviceName === undefined && b.servicePort === undefined) r.err('missing-key', at, `Missing required key \`service\` in \`${field}\` of ${r.what}`);
    return null;
  }
  if (!isMap(s)) {
    r.err('wrong-type', [...at, 'service'], `Expected \`${field}.service\` of ${r.what} to be a mapping, got ${show(s)}`);
    return null;
  }
  r.keys(s, [...at, 'service'], ['name', 'port']);
  let ok = true;
  if (typeof s.name !== 'string' || s.name === '') {
    r.err(
      s.name === undefined ? 'missing-key' : 'wrong-type',
      s.name === undefined ? [...at, 'service'] : [...at, 'service', 'name'],
      s.name === undefined
        ? `Missing required key \`name\` in \`${field}.service\` of ${r.what}`
        : `Expected \`${field}.service.name\` of ${r.what} to be a Service name, got ${show(s.name)}`,
    );
    ok = false;
  }
  const p = s.port;
  let port: number | string | undefined;
  if (p === undefined) {
    r.err('missing-key', [...at, 'service'], `Missing required key \`port\` in \`${field}.service\` of ${r.what} (\`port: {number: 80}\` or \`port: {name: http}\`)`);
  } else if (!isMap(p)) {
    r.err('wrong-type', [...at, 'service', 'port'], `Expected \`${field}.service.port\` of ${r.what} to be a mapping such as {number: 80} or {name: http}, got ${show(p)}`);
  } else {
    r.keys(p, [...at, 'service', 'port'], ['number', 'name']);
    if (p.number !== undefined && p.name !== undefined)
      r.err('conflicting-fields', [...at, 'service', 'port'], `\`${field}.service.port\` of ${r.what} may have \`number\` or \`name\`, not both`);
    else if (p.number !== undefined) port = readPortNumber(r, p.number, [...at, 'service', 'port', 'number'], `${field}.service.port.number`);
    else if (p.name !== undefined) port = readPortName(r, p.name, [...at, 'service', 'port', 'name'], `${field}.service.port.name`);
    else r.err('missing-key', [...at, 'service', 'port'], `\`${field}.service.port\` of ${r.what} needs \`number\` or \`name\``);
  }
  if (!ok || port === undefined) return null;
  return { service: s.name as string, port, at };
}

/** networking.k8s.io/v1beta1 and extensions/v1beta1: `serviceName: NAME, servicePort: PORT`. */
function readV1beta1Backend(r: ObjectReader, b: Raw, at: Path, field: string, apiVersion: string): IngressBackend | null {
  r.keys(b, at, ['serviceName', 'servicePort', 'resource'], {
    service: `is the networking.k8s.io/v1 form; ${apiVersion} writes \`serviceName: NAME\` and \`servicePort: PORT\``,
  });
  if (b.service !== undefined) return null;
  let ok = true;
  if (typeof b.serviceName !== 'string' || b.serviceName === '') {
    r.err(
      b.serviceName === undefined ? 'missing-key' : 'wrong-type',
      b.serviceName === undefined ? at : [...at, 'serviceName'],
      b.serviceName === undefined
        ? `Missing required key \`serviceName\` in \`${field}\` of ${r.what}`
        : `Expected \`${field}.serviceName\` of ${r.what} to be a Service name, got ${show(b.serviceName)}`,
    );
    ok = false;
  }
  let port: number | string | undefined;
  const sp = b.servicePort;
  if (sp === undefined) r.err('missing-key', at, `Missing required key \`servicePort\` in \`${field}\` of ${r.what}`);
  else if (typeof sp === 'number' || (typeof sp === 'string' && /^\d+$/.test(sp))) port = readPortNumber(r, Number(sp), [...at, 'servicePort'], `${field}.servicePort`);
  else port = readPortName(r, sp, [...at, 'servicePort'], `${field}.servicePort`);
  if (!ok || port === undefined) return null;
  return { service: b.serviceName as string, port, at };
}

function readPortNumber(r: ObjectReader, n: unknown, at: Path, field: string): number | undefined {
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  r.err('out-of-range', at, `Expected \`${field}\` of ${r.what} to be a port number (1-65535), got ${show(n)}`);
  return undefined;
}

function readPortName(r: ObjectReader, n: unknown, at: Path, field: string): string | undefined {
  if (typeof n === 'string' && portNameRe.test(n)) return n;
  r.err('bad-name', at, `Expected \`${field}\` of ${r.what} to be a port number or a Service port name (lower-case letters, digits and -, at most 15), got ${show(n)}`);
  return undefined;
}

/** Whether knetlab's ingress-nginx serves an Ingress: class nginx, or no class (nginx is the default class). */
export function servedByNginx(ing: Pick<Ingress, 'className'>): boolean {
  return ing.className === undefined || ing.className === INGRESS_CLASS;
}

/**
 * The Service port a backend names, the way ingress-nginx finds it: the first port whose number,
 * name or targetPort is what the backend says.
 */
export function resolveServicePort(svc: Service, port: number | string): ServicePort | undefined {
  const want = String(port);
  return svc.ports.find((sp) => String(sp.port) === want || sp.name === want || String(sp.targetPort) === want);
}

/** Every Ingress ingress-nginx serves, valid and not being deleted, in apply order. */
export function servedIngresses(model: Model): Ingress[] {
  const out: Ingress[] = [];
  for (const o of model.objects) {
    if (o.kind !== 'Ingress' || o.meta.terminating) continue;
    const { ingress } = readIngress(o);
    if (ingress && servedByNginx(ingress)) out.push(ingress);
  }
  return out;
}

/** An Ingress's backends with where they stand. */
function backendsOf(ing: Ingress): IngressBackend[] {
  return [...(ing.defaultBackend ? [ing.defaultBackend] : []), ...ing.rules.flatMap((r) => r.paths.flatMap((p) => (p.backend ? [p.backend] : [])))];
}

/** What the cluster has to say about one Ingress's backends and class (the object must read without errors). */
export function checkIngressAgainstModel(ing: Ingress, model: Model): IngressProblem[] {
  const problems: IngressProblem[] = [];
  const what = `Ingress ${ing.namespace}/${ing.name}`;
  if (!servedByNginx(ing)) {
    problems.push({
      code: 'not-served',
      severity: 'warning',
      path: ['metadata', 'name'],
      message: `${what} has class \`${ing.className}\`: knetlab's ingress-nginx serves class ${INGRESS_CLASS} (and Ingresses without a class), so nothing serves it`,
    });
    return problems;
  }
  if (!model.pods.some((p) => p.workload === 'ingress-nginx')) {
    problems.push({
      code: 'not-served',
      severity: 'warning',
      path: ['metadata', 'name'],
      message: `No pod runs an ingress controller (pod annotation knetlab.io/workload: ingress-nginx), so nothing serves ${what}`,
    });
  }
  const names = model.services.filter((s) => s.namespace === ing.namespace).map((s) => s.name);
  for (const b of backendsOf(ing)) {
    const v1 = isV1(ing.apiVersion);
    const nameAt: Path = v1 ? [...b.at, 'service', 'name'] : [...b.at, 'serviceName'];
    const portAt: Path = v1 ? [...b.at, 'service', 'port', typeof b.port === 'number' ? 'number' : 'name'] : [...b.at, 'servicePort'];
    const svc = model.services.find((s) => s.namespace === ing.namespace && s.name === b.service);
    if (!svc) {
      problems.push({
        code: 'unknown-service',
        severity: 'error',
        path: nameAt,
        message: `${what} names Service ${ing.namespace}/${b.service}, which does not exist${suggestion(b.service, names)}`,
      });
      continue;
    }
    if (svc.spec.type === 'ExternalName') {
      problems.push({
        code: 'not-served',
        severity: 'warning',
        path: nameAt,
        message: `Service ${svc.namespace}/${svc.name} of ${what} is of type ExternalName: knetlab's ingress-nginx does not proxy to external names, so its requests get 503`,
      });
      continue;
    }
    const sp = resolveServicePort(svc, b.port);
    if (!sp) {
      const list = svc.ports.map((p) => (p.name ? `${p.port} (${p.name})` : String(p.port))).join(', ') || 'none';
      const hint = typeof b.port === 'string' ? suggestion(b.port, svc.ports.map((p) => p.name).filter(Boolean)) : '';
      problems.push({
        code: 'unknown-port',
        severity: 'error',
        path: portAt,
        message: `Service ${svc.namespace}/${svc.name} has no port \`${b.port}\` (its ports: ${list}), named by ${what}${hint}`,
      });
      continue;
    }
    if (sp.protocol !== 'TCP') {
      problems.push({
        code: 'not-served',
        severity: 'warning',
        path: portAt,
        message: `Port \`${b.port}\` of Service ${svc.namespace}/${svc.name} is ${sp.protocol}: ingress-nginx proxies HTTP over TCP only, so requests for it get 503`,
      });
    }
  }
  return problems;
}

/** Every problem of one Ingress object: its shape, then (when it reads) its backends and class. */
export function checkIngress(o: IngressObject, model: Model): IngressProblem[] {
  const { ingress, problems } = readIngress(o);
  return ingress ? [...problems, ...checkIngressAgainstModel(ingress, model)] : problems;
}

/**
 * Every problem of every Ingress of the model, plus the paths two Ingresses both route (same host,
 * path and type after ingress-nginx's defaulting): ingress-nginx keeps the first, a warning names the later.
 */
export function checkIngresses(model: Model, only?: (o: IngressObject) => boolean): { object: IngressObject; problems: IngressProblem[] }[] {
  const out: { object: IngressObject; problems: IngressProblem[] }[] = [];
  const routed = new Map<string, string>();
  for (const o of model.objects) {
    if (o.kind !== 'Ingress' || o.meta.terminating) continue;
    const { ingress, partial, problems: shape } = readIngress(o);
    // The parts that read well are still checked against the cluster, so every problem is told at once.
    const problems = [...shape, ...checkIngressAgainstModel(ingress ?? partial!, model)];
    if (ingress && servedByNginx(ingress)) {
      for (const r of ingress.rules) {
        for (const p of r.paths) {
          if (!p.backend) continue;
          const type = p.pathType === 'Exact' ? 'Exact' : 'Prefix'; // ingress-nginx treats ImplementationSpecific as Prefix
          const key = `${r.host}\n${p.path || '/'}\n${type}`;
          const first = routed.get(key);
          if (first === undefined) routed.set(key, `Ingress ${o.meta.namespace}/${o.meta.name}`);
          else {
            problems.push({
              code: 'duplicate-entry',
              severity: 'warning',
              path: [...p.at, 'path'],
              message: `Host ${r.host || '*'} path ${p.path || '/'} (${type}) of Ingress ${o.meta.namespace}/${o.meta.name} is already routed by ${first}: ingress-nginx keeps the first`,
            });
          }
        }
      }
    }
    if (!only || only(o)) out.push({ object: o, problems });
  }
  return out;
}

/**
 * Adds every Ingress problem to a validation, each at its FILE:LINE:COL; with `only`, of the
 * Ingresses it picks (those an apply step brings: `(o) => step.objects.some((s) => objectKey(s) === objectKey(o))`).
 */
export function reportIngressProblems(model: Model, problems: Problems, only?: (o: IngressObject) => boolean): void {
  for (const { object, problems: list } of checkIngresses(model, only)) placeObjectProblems(object, list, problems);
}
