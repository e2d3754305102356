// The nginx.conf an ingress-nginx controller would run for the model's Ingresses, in the spirit of
// ingress-nginx's template (rootfs/etc/nginx/template/nginx.tmpl) and of how its controller builds
// servers and locations (internal/ingress/controller: controller.go, location.go), for Debian's
// plain nginx: no Lua, so upstreams list the endpoints that its Lua balancer would hold. Pure.
import { endpointsForPort } from '../cluster/service-endpoints.js';
import type { Model, Pod } from '../cluster/types.js';
import { resolveServicePort, servedIngresses, type Ingress, type IngressBackend } from '../scenario/ingress.js';
import { sha256 } from '../util/hash.js';

export interface NginxController {
  namespace: string;
  name: string;
  podIP: string;
  /** The TCP ports to listen on; default: the pod's TCP container ports, or 80 when it declares none. */
  ports?: number[];
}

export interface NginxConfOptions {
  /** A writable folder: the pid file, the logs and nginx's temp folders go in it (give nginx `-p` the same). */
  prefix: string;
  /** The worker processes' user. root by default, so that it works in a rootless sandbox (only uid 0 mapped). */
  user?: string;
}

/** ingress-nginx's name for what no Ingress matches: its default backend, which answers 404. */
export const DEFAULT_UPSTREAM = 'upstream-default-backend';
/** ingress-nginx's status port (nginx's own status server, on localhost). */
export const STATUS_PORT = 10246;
/** Where the status server tells the checksum of the configuration it runs, and which worker answered: `SUM PID`. */
export const CHECKSUM_PATH = '/configuration/checksum';
const CATCH_ALL = '_';

export interface NginxUpstream {
  /** `NAMESPACE-SERVICE-PORT`, as ingress-nginx names it. */
  name: string;
  namespace: string;
  service: string;
  port: number | string;
  /** `ip:port` of every ready endpoint. */
  servers: string[];
  /** Why it has no servers (its locations answer 503). */
  why?: string;
  /** The Service port it resolved to: `80 (http), targetPort 8080`. */
  resolved?: string;
}

export interface NginxLocation {
  /** As nginx gets it: Prefix paths other than / end in /. */
  path: string;
  exact: boolean;
  /** undefined: the default backend (404). */
  upstream?: string;
  /** The Ingress, Service and path it comes from (ingress-nginx's $namespace, $ingress_name, ...). */
  from?: { namespace: string; ingress: string; service: string; port: string; path: string };
}

export interface NginxServer {
  /** A host, or `_` for the default server. */
  hostname: string;
  locations: NginxLocation[];
}

interface Loc {
  path: string;
  type: 'Exact' | 'Prefix';
  upstream?: string;
  isDefBackend: boolean;
  from?: NginxLocation['from'];
}

export function upstreamName(namespace: string, b: Pick<IngressBackend, 'service' | 'port'>): string {
  return `${namespace}-${b.service}-${b.port}`;
}

function upstreamOf(model: Model, namespace: string, b: IngressBackend): NginxUpstream {
  const base = { name: upstreamName(namespace, b), namespace, service: b.service, port: b.port };
  const svc = model.services.find((s) => s.namespace === namespace && s.name === b.service);
  if (!svc) return { ...base, servers: [], why: `Service ${namespace}/${b.service} does not exist` };
  if (svc.spec.type === 'ExternalName') return { ...base, servers: [], why: `Service ${namespace}/${b.service} is of type ExternalName` };
  const sp = resolveServicePort(svc, b.port);
  if (!sp) return { ...base, servers: [], why: `Service ${namespace}/${b.service} has no port ${b.port}` };
  if (sp.protocol !== 'TCP') return { ...base, servers: [], why: `port ${b.port} of Service ${namespace}/${b.service} is ${sp.protocol}` };
  const servers = [
    ...new Set(
      endpointsForPort(model, svc, sp)
        .filter((e) => e.ready)
        .map((e) => `${e.ip}:${e.port}`),
    ),
  ];
  const resolved = `${sp.port}${sp.name ? ` (${sp.name})` : ''}, targetPort ${sp.targetPort}`;
  return servers.length ? { ...base, servers, resolved } : { ...base, servers, resolved, why: `Service ${namespace}/${b.service} port ${b.port} has no ready endpoints` };
}

const fromOf = (ing: Ingress, b: IngressBackend, path: string): NonNullable<Loc['from']> => ({
  namespace: ing.namespace,
  ingress: ing.name,
  service: b.service,
  port: String(b.port),
  path,
});

/** ingress-nginx's servers and upstreams for the model's Ingresses (class nginx or none), before rendering. */
export function planNginx(model: Model): { upstreams: NginxUpstream[]; servers: NginxServer[] } {
  const ingresses = servedIngresses(model);
  const upstreams = new Map<string, NginxUpstream>();
  const addUpstream = (ing: Ingress, b: IngressBackend) => {
    const name = upstreamName(ing.namespace, b);
    if (!upstreams.has(name)) upstreams.set(name, upstreamOf(model, ing.namespace, b));
    return name;
  };
  for (const ing of ingresses) {
    if (ing.defaultBackend) addUpstream(ing, ing.defaultBackend);
    for (const r of ing.rules) for (const p of r.paths) if (p.backend) addUpstream(ing, p.backend);
  }

  // createServers: the default server, then one per host, each with a root location for what no path matches.
  const servers = new Map<string, Loc[]>();
  const catchAll: Loc = { path: '/', type: 'Prefix', isDefBackend: true };
  servers.set(CATCH_ALL, [catchAll]);
  for (const ing of ingresses) {
    let un: string | undefined; // the Ingress's own default backend, for its hosts' root locations
    if (ing.defaultBackend) {
      un = upstreamName(ing.namespace, ing.defaultBackend);
      // As ingress-nginx does: the catch-all server takes it too; an Ingress without rules makes it for good.
      catchAll.upstream = un;
      catchAll.from = fromOf(ing, ing.defaultBackend, '/');
      if (catchAll.isDefBackend && ing.rules.length === 0) catchAll.isDefBackend = false;
    }
    for (const r of ing.rules) {
      const host = r.host || CATCH_ALL;
      if (servers.has(host)) continue;
      servers.set(host, [{ path: '/', type: 'Prefix', isDefBackend: true, ...(un ? { upstream: un, from: fromOf(ing, ing.defaultBackend!, '/') } : {}) }]);
    }
  }

  // getBackendServers: a location per path; the first Ingress to route a path keeps it, except over a default backend.
  for (const ing of ingresses) {
    for (const r of ing.rules) {
      const locs = servers.get(r.host || CATCH_ALL)!;
      for (const p of r.paths) {
        if (!p.backend) continue; // a resource backend: ingress-nginx leaves it to the default backend
        const upstream = addUpstream(ing, p.backend);
        const path = p.path || '/';
        const type = p.pathType === 'Exact' ? 'Exact' : 'Prefix'; // ImplementationSpecific is Prefix to ingress-nginx
        const same = locs.find((l) => l.path === path && l.type === type);
        if (same) {
          if (same.isDefBackend) Object.assign(same, { upstream, isDefBackend: false, from: fromOf(ing, p.backend, path) });
          continue;
        }
        locs.push({ path, type, upstream, isDefBackend: false, from: fromOf(ing, p.backend, path) });
      }
    }
  }

  const out: NginxServer[] = [];
  for (const [hostname, locs] of servers) out.push({ hostname, locations: nginxLocations(locs) });
  out.sort((a, b) => cmp(a.hostname, b.hostname));
  return { upstreams: [...upstreams.values()].sort((a, b) => cmp(a.name, b.name)), servers: out };
}

/**
 * ingress-nginx's updateServerLocations: a Prefix path /foo becomes `location /foo/` plus
 * `location = /foo`, so /foo and /foo/... match and /foobar does not (and nginx does not answer
 * /foo with a redirect to /foo/). Longest path first.
 */
function nginxLocations(locs: readonly Loc[]): NginxLocation[] {
  const exactPaths = new Set(locs.filter((l) => l.type === 'Exact').map((l) => l.path));
  const out: NginxLocation[] = [];
  const seen = new Set<string>();
  const add = (l: Loc, path: string, exact: boolean) => {
    const key = `${exact ? '=' : ''}${path}`;
    if (seen.has(key)) return; // /foo and /foo/ both as Prefix would give /foo/ twice: the first stays
    seen.add(key);
    out.push({ path, exact, ...(l.upstream ? { upstream: l.upstream } : {}), ...(l.from ? { from: l.from } : {}) });
  };
  for (const l of locs) {
    if (l.path === '/' || l.type === 'Exact') {
      add(l, l.path, l.type === 'Exact');
      continue;
    }
    add(l, l.path.endsWith('/') ? l.path : `${l.path}/`, false);
    if (!exactPaths.has(l.path)) add(l, l.path, true);
  }
  return out.sort((a, b) => b.path.length - a.path.length || cmp(b.path, a.path) || Number(b.exact) - Number(a.exact));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** ingress-nginx's server_name: a wildcard host becomes a regular expression that matches one label, as the Ingress API means it. */
function serverName(host: string): string {
  if (!host.startsWith('*.')) return host;
  return `~^(?<subdomain>[\\w-]+)\\.${host.slice(2).split('.').join('\\.')}$`;
}

/** Large enough for the longest name (nginx stores each as a pointer plus the name, aligned). */
function namesBucketSize(hosts: readonly string[]): number {
  const longest = Math.max(0, ...hosts.map((h) => h.length));
  const need = Math.ceil((longest + 2) / 8) * 8 + 16;
  let size = 64;
  while (size < need) size *= 2;
  return size;
}

/** Where a controller pod listens: its TCP container ports (80 and 443 for ingress-nginx's manifests), or 80 when it declares none. */
export function controllerPorts(pod: Pick<Pod, 'containers'> | undefined): number[] {
  const ports = (pod?.containers ?? []).flatMap((ct) => ct.ports.filter((p) => p.protocol === 'TCP').map((p) => p.containerPort));
  return ports.length ? [...new Set(ports)] : [80];
}

function listenPorts(model: Model, c: NginxController): number[] {
  if (c.ports?.length) return [...new Set(c.ports)];
  return controllerPorts(model.pods.find((p) => p.namespace === c.namespace && p.name === c.name));
}

// What ingress-nginx sets on every proxied request (its defaults: no use-forwarded-headers).
const PROXY_HEADERS: readonly [string, string][] = [
  ['Host', '$best_http_host'],
  ['Upgrade', '$http_upgrade'],
  ['Connection', '$connection_upgrade'],
  ['X-Request-ID', '$req_id'],
  ['X-Real-IP', '$remote_addr'],
  ['X-Forwarded-For', '$remote_addr'],
  ['X-Forwarded-Host', '$best_http_host'],
  ['X-Forwarded-Port', '$pass_port'],
  ['X-Forwarded-Proto', '$pass_access_scheme'],
  ['X-Forwarded-Scheme', '$pass_access_scheme'],
  ['X-Scheme', '$pass_access_scheme'],
  ['X-Original-Forwarded-For', '$http_x_forwarded_for'],
  ['Proxy', '""'], // httpoxy
];

const CHECKSUM_MARK = '@@CHECKSUM@@';
const PREFIX_MARK = '@@PREFIX@@';

/** The checksum line of a rendered configuration (what the status server answers on CHECKSUM_PATH). */
export function nginxConfChecksum(text: string): string | undefined {
  return /^# Configuration checksum: ([0-9a-f]+)$/m.exec(text)?.[1];
}

/** The whole nginx.conf of one ingress-nginx controller pod. */
export function renderNginxConf(model: Model, controller: NginxController, opts: NginxConfOptions): string {
  const at = (name: string) => `${PREFIX_MARK}/${name}`;
  const { upstreams, servers } = planNginx(model);
  const byName = new Map(upstreams.map((u) => [u.name, u]));
  const ports = listenPorts(model, controller);
  const L: string[] = [];
  const out = (indent: number, line = '') => L.push(line ? `${'    '.repeat(indent)}${line}` : '');

  out(0, `# ingress-nginx controller ${controller.namespace}/${controller.name} (${controller.podIP}), written by knetlab.`);
  out(0, "# One server per Ingress host and the default server `_`, whose 404 is ingress-nginx's default backend;");
  out(0, "# upstreams hold the Services' ready endpoints (not their ClusterIPs). Plain HTTP on every port, 443 too.");
  out(0, `# Configuration checksum: ${CHECKSUM_MARK}`);
  out(0);
  out(0, `user ${opts.user ?? 'root'};`);
  out(0, 'daemon off;');
  out(0, 'worker_processes 1;');
  out(0, '# avoid waiting too long during a reload');
  out(0, 'worker_shutdown_timeout 10s;');
  out(0, `pid ${at('nginx.pid')};`);
  out(0, `lock_file ${at('nginx.lock')};`);
  out(0, `error_log ${at('error.log')} notice;`);
  out(0);
  out(0, 'events {');
  out(1, 'multi_accept off;');
  out(1, 'worker_connections 1024;');
  out(1, 'use epoll;');
  out(0, '}');
  out(0);
  out(0, 'http {');
  out(1, `client_body_temp_path ${at('client-body')};`);
  out(1, `proxy_temp_path ${at('proxy-temp')};`);
  out(1, `fastcgi_temp_path ${at('fastcgi-temp')};`);
  out(1, `uwsgi_temp_path ${at('uwsgi-temp')};`);
  out(1, `scgi_temp_path ${at('scgi-temp')};`);
  out(0);
  out(1, 'default_type text/html;');
  out(1, 'tcp_nopush on;');
  out(1, 'tcp_nodelay on;');
  out(1, 'reset_timedout_connection on;');
  out(1, 'keepalive_timeout 75s;');
  out(1, 'keepalive_requests 1000;');
  out(1, 'client_max_body_size 1m;');
  out(1, 'server_tokens off;');
  out(1, 'server_name_in_redirect off;');
  out(1, 'port_in_redirect off;');
  out(1, 'uninitialized_variable_warn off;');
  out(1, 'server_names_hash_max_size 1024;');
  out(1, `server_names_hash_bucket_size ${namesBucketSize(servers.map((s) => s.hostname))};`);
  out(1, 'proxy_headers_hash_max_size 512;');
  out(1, 'proxy_headers_hash_bucket_size 64;');
  out(0);
  out(
    1,
    'log_format upstreaminfo \'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id\';',
  );
  out(1, `access_log ${at('access.log')} upstreaminfo;`);
  out(0);
  out(1, 'map $http_upgrade $connection_upgrade {');
  out(2, 'default upgrade;');
  out(2, "'' '';"); // keepalive to the upstreams: no `Connection: close`
  out(1, '}');
  out(1, 'map $http_host $best_http_host {');
  out(2, 'default $http_host;');
  out(2, "'' $host;");
  out(1, '}');
  out(1, "map '' $pass_access_scheme {");
  out(2, 'default $scheme;');
  out(1, '}');
  out(1, "map '' $pass_server_port {");
  out(2, 'default $server_port;');
  out(1, '}');
  out(1, 'map $pass_server_port $pass_port {');
  out(2, '443 443;');
  out(2, 'default $pass_server_port;');
  out(1, '}');
  out(1, "# a client's X-Request-ID is passed on; otherwise nginx makes one");
  out(1, 'map $http_x_request_id $req_id {');
  out(2, 'default $http_x_request_id;');
  out(2, "'' $request_id;");
  out(1, '}');

  for (const u of upstreams) {
    out(0);
    if (!u.servers.length) {
      // nginx refuses an upstream without servers; ingress-nginx's balancer answers 503 for it.
      out(1, `# upstream ${u.name}: ${u.why}; its locations answer 503`);
      continue;
    }
    out(1, `# ${u.namespace}/${u.service} port ${u.port}: Service port ${u.resolved}; its ready endpoints`);
    out(1, `upstream ${u.name} {`);
    for (const s of u.servers) out(2, `server ${s} max_fails=0;`);
    out(2, 'keepalive 320;');
    out(2, 'keepalive_timeout 60s;');
    out(2, 'keepalive_requests 10000;');
    out(1, '}');
  }

  for (const s of servers) {
    out(0);
    out(1, `## start server ${s.hostname}`);
    out(1, 'server {');
    out(2, `server_name ${serverName(s.hostname)};`);
    for (const p of ports) out(2, `listen ${p}${s.hostname === CATCH_ALL ? ' default_server' : ''};`);
    out(2, 'set $proxy_upstream_name "-";');
    for (const l of s.locations) {
      out(0);
      out(2, `location ${l.exact ? '= ' : ''}${l.path} {`);
      if (l.from) {
        out(3, `set $namespace      "${l.from.namespace}";`);
        out(3, `set $ingress_name   "${l.from.ingress}";`);
        out(3, `set $service_name   "${l.from.service}";`);
        out(3, `set $service_port   "${l.from.port}";`);
        out(3, `set $location_path  "${l.from.path}";`);
        out(0);
      }
      const u = l.upstream ? byName.get(l.upstream) : undefined;
      if (!u) {
        out(3, `set $proxy_upstream_name "${DEFAULT_UPSTREAM}";`);
        out(3, '# no Ingress path matches: the default backend');
        out(3, 'return 404;');
      } else if (!u.servers.length) {
        out(3, `set $proxy_upstream_name "${u.name}";`);
        out(3, `# ${u.why}`);
        out(3, 'return 503;');
      } else {
        out(3, `set $proxy_upstream_name "${u.name}";`);
        out(0);
        out(3, 'client_max_body_size 1m;');
        for (const [h, v] of PROXY_HEADERS) out(3, `proxy_set_header ${h.padEnd(24)} ${v};`);
        out(0);
        out(3, 'proxy_connect_timeout 5s;');
        out(3, 'proxy_send_timeout 60s;');
        out(3, 'proxy_read_timeout 60s;');
        out(3, 'proxy_buffering off;');
        out(3, 'proxy_buffer_size 4k;');
        out(3, 'proxy_buffers 4 4k;');
        out(3, 'proxy_request_buffering on;');
        out(3, 'proxy_http_version 1.1;');
        out(3, 'proxy_cookie_domain off;');
        out(3, 'proxy_cookie_path off;');
        out(3, '# in case of errors try the next upstream server before returning an error');
        out(3, 'proxy_next_upstream error timeout;');
        out(3, 'proxy_next_upstream_timeout 0;');
        out(3, 'proxy_next_upstream_tries 3;');
        out(3, 'proxy_redirect off;');
        out(3, `proxy_pass http://${u.name};`);
      }
      out(2, '}');
    }
    out(1, '}');
    out(1, `## end server ${s.hostname}`);
  }

  out(0);
  out(1, '# the status server, on localhost only: health, nginx status, and the checksum of the running configuration');
  out(1, 'server {');
  out(2, `listen 127.0.0.1:${STATUS_PORT} default_server;`);
  out(2, 'set $proxy_upstream_name "internal";');
  out(2, 'access_log off;');
  out(0);
  out(2, 'location = /healthz {');
  out(3, 'return 200;');
  out(2, '}');
  out(2, 'location = /nginx_status {');
  out(3, 'stub_status on;');
  out(2, '}');
  out(2, `location = ${CHECKSUM_PATH} {`);
  out(3, 'default_type text/plain;');
  out(3, `return 200 "${CHECKSUM_MARK} $pid";`); // $pid: the worker, so a caller can tell its own nginx from another
  out(2, '}');
  out(2, 'location / {');
  out(3, 'return 404;');
  out(2, '}');
  out(1, '}');
  out(0, '}');
  const text = `${L.join('\n')}\n`;
  // The checksum is of the configuration, not of where it lives: the same Ingresses give the same sum.
  const sum = sha256(text).toString('hex').slice(0, 16);
  return text.replaceAll(CHECKSUM_MARK, sum).replaceAll(PREFIX_MARK, opts.prefix.replace(/\/+$/, ''));
}
