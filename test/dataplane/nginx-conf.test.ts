// ingress-nginx's nginx.conf. Golden files (test/golden/nginx/NAME.conf; `UPDATE_GOLDEN=1 npx tap
// test/dataplane/nginx-conf.test.ts` rewrites them: review the diff) hold whole configurations,
// rendered with the prefix GOLDEN_PREFIX. Every golden is also checked by the real nginx (`nginx -t`),
// rendered again with a throwaway prefix, when /usr/sbin/nginx is there.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Model } from '../../src/cluster/types.js';
import { CHECKSUM_PATH, nginxConfChecksum, planNginx, renderNginxConf, STATUS_PORT, upstreamName, type NginxController } from '../../src/dataplane/nginx-conf.js';
import type { IngressObject } from '../../src/scenario/ingress.js';
import { validateScenario } from '../../src/validate.js';
import { modelOf } from '../helpers.js';
import { matchGolden, matchGoldenDir, readGolden } from '../match-golden.js';

const GOLDEN_PREFIX = '/run/knetlab/ingress-nginx/controller';
const NGINX = '/usr/sbin/nginx';

const controllerDeployment = (ports: string) => `  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
    spec:
      selector: {matchLabels: {app: ingress-nginx}}
      template:
        metadata: {labels: {app: ingress-nginx}, annotations: {knetlab.io/workload: ingress-nginx}}
        spec: {containers: [{name: controller, ports: ${ports}}]}
`;

const scenario = (name: string, manifests: string) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: ${name}}
cluster: {dns: false}
nodes:
  - name: node-1
  - name: node-2
manifests:
${manifests}`;

const deployment = (name: string, replicas: number, port: number) =>
  `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {containers: [{name: c, ports: [{containerPort: ${port}}]}]}}}}\n`;

// Every kind of path and backend: Prefix, Exact, ImplementationSpecific and no pathType, ports by
// number, name and targetPort, a wildcard host, a rule without host, a catch-all default backend,
// a Service without endpoints, a path two Ingresses route, and Ingresses of another class.
const paths = scenario(
  'paths',
  controllerDeployment('[{name: http, containerPort: 80}, {name: https, containerPort: 443}]') +
    deployment('web', 2, 8080) +
    deployment('api', 1, 80) +
    `  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: api}, spec: {selector: {app: api}, ports: [{name: http, port: 80}, {name: admin, port: 9000, targetPort: 80}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: empty}, spec: {selector: {app: nobody}, ports: [{port: 80}]}}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: shop}
    spec:
      ingressClassName: nginx
      rules:
      - host: shop.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
          - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
          - {path: /api/v2/status, pathType: Exact, backend: {service: {name: api, port: {number: 9000}}}}
          - {path: /static, pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 8080}}}}
          - {path: /docs/, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
          - {path: /empty, pathType: Prefix, backend: {service: {name: empty, port: {number: 80}}}}
          - {path: /login, pathType: Exact, backend: {service: {name: api, port: {number: 80}}}}
          - {path: /login, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
  - apiVersion: networking.k8s.io/v1beta1
    kind: Ingress
    metadata: {name: shop-extra}
    spec:
      rules:
      - host: shop.example.com
        http:
          paths:
          - {path: /api, backend: {serviceName: web, servicePort: 80}}
          - {path: /cart, backend: {serviceName: web, servicePort: http}}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: apps}
    spec:
      rules:
      - host: "*.apps.example.com"
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
      - http:
          paths:
          - {path: /healthz, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
  - apiVersion: extensions/v1beta1
    kind: Ingress
    metadata: {name: legacy, annotations: {kubernetes.io/ingress.class: nginx}}
    spec:
      backend: {serviceName: web, servicePort: 80}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: traefik-ui, annotations: {kubernetes.io/ingress.class: traefik}}
    spec:
      rules:
      - host: ui.traefik.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: other-class}
    spec:
      ingressClassName: haproxy
      rules:
      - host: other.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`,
);

// An Ingress whose own default backend serves its host's unmatched paths, as ingress-nginx does.
const hostDefault = scenario(
  'host-default-backend',
  controllerDeployment('[{containerPort: 8080}]') +
    deployment('web', 1, 80) +
    deployment('fallback', 1, 80) +
    `  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: fallback}, spec: {selector: {app: fallback}, ports: [{port: 80}]}}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: site}
    spec:
      defaultBackend: {service: {name: fallback, port: {number: 80}}}
      rules:
      - host: site.example.com
        http:
          paths:
          - {path: /app, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`,
);

const none = scenario('no-ingresses', controllerDeployment('[]'));

function controllerOf(model: Model): NginxController {
  const pod = model.pods.find((p) => p.workload === 'ingress-nginx')!;
  return { namespace: pod.namespace, name: pod.name, podIP: pod.ip! };
}

async function goldenModels(): Promise<Record<string, Model>> {
  const v = await validateScenario('scenarios/ingress-nginx.yaml');
  return {
    'ingress-nginx': v.model!,
    paths: await modelOf(paths),
    'host-default-backend': await modelOf(hostDefault),
    'no-ingresses': await modelOf(none),
  };
}

const models = await goldenModels();

for (const [name, model] of Object.entries(models)) {
  t.test(`golden ${name}`, async (t) => matchGolden(t, `nginx/${name}.conf`, renderNginxConf(model, controllerOf(model), { prefix: GOLDEN_PREFIX })));
}

t.test('every golden file belongs to a case', async (t) =>
  matchGoldenDir(
    t,
    'nginx',
    Object.keys(models).map((n) => `${n}.conf`),
  ),
);

/** The lines of one `server { ... }` block, by its server_name. */
function serverBlock(text: string, host: string): string {
  const start = text.indexOf(`## start server ${host}\n`);
  const end = text.indexOf(`## end server ${host}\n`);
  if (start < 0 || end < 0) return '';
  return text.slice(start, end);
}

/** `location` lines of a server, in order. */
function locations(text: string, host: string): string[] {
  return serverBlock(text, host)
    .split('\n')
    .filter((l) => l.trim().startsWith('location '))
    .map((l) => l.trim().replace(/ \{$/, ''));
}

/** What one location does: `proxy NAME`, `404` or `503`. */
function action(text: string, host: string, location: string): string {
  const block = serverBlock(text, host);
  const at = block.indexOf(`${location} {`);
  const body = block.slice(at, block.indexOf('\n        }', at));
  const proxy = /proxy_pass http:\/\/([^;]+);/.exec(body)?.[1];
  return proxy ? `proxy ${proxy}` : (/return (\d+);/.exec(body)?.[1] ?? '?');
}

t.test('locations: ingress-nginx path types, longest first', async (t) => {
  const text = renderNginxConf(models.paths!, controllerOf(models.paths!), { prefix: '/p' });
  t.same(locations(text, 'shop.example.com'), [
    'location = /api/v2/status',
    'location /static/',
    'location = /static', // ImplementationSpecific is Prefix to ingress-nginx
    'location /login/', // the Exact path /login keeps = /login: the Prefix one adds only /login/
    'location /empty/',
    'location = /login',
    'location = /empty',
    'location = /docs/', // a Prefix path ending in / gives that location, and = /docs/
    'location /docs/',
    'location /cart/',
    'location = /cart',
    'location /api/',
    'location = /api',
    'location /',
  ]);
  t.equal(action(text, 'shop.example.com', 'location = /login'), 'proxy default-api-80', 'Exact /login: api');
  t.equal(action(text, 'shop.example.com', 'location /login/'), 'proxy default-web-80', 'Prefix /login: web below it');
  t.equal(action(text, 'shop.example.com', 'location /api/'), 'proxy default-api-http', 'the first Ingress to route /api keeps it');
  t.equal(action(text, 'shop.example.com', 'location = /api/v2/status'), 'proxy default-api-9000');
  t.equal(action(text, 'shop.example.com', 'location /static/'), 'proxy default-web-8080', 'a targetPort names the port too');
  t.equal(action(text, 'shop.example.com', 'location /cart/'), 'proxy default-web-http', 'a v1beta1 path with no pathType is a prefix');
  t.equal(action(text, 'shop.example.com', 'location /empty/'), '503', 'no endpoints: 503');
  t.equal(action(text, 'shop.example.com', 'location /'), 'proxy default-web-80');
});

t.test('servers: one per host, the default server, a wildcard host, class filtering', async (t) => {
  const text = renderNginxConf(models.paths!, controllerOf(models.paths!), { prefix: '/p' });
  t.same(
    [...text.matchAll(/^ {4}## start server (.+)$/gm)].map((m) => m[1]),
    ['*.apps.example.com', '_', 'shop.example.com'],
    'sorted by host as ingress-nginx does; no server for the traefik and haproxy Ingresses',
  );
  t.match(serverBlock(text, '*.apps.example.com'), 'server_name ~^(?<subdomain>[\\w-]+)\\.apps\\.example\\.com$;', 'a wildcard matches one label');
  t.match(serverBlock(text, '_'), /listen 80 default_server;\n\s+listen 443 default_server;/, 'the default server listens on every container port');
  t.match(serverBlock(text, 'shop.example.com'), /listen 80;\n\s+listen 443;/);
  t.same(locations(text, '_'), ['location = /healthz', 'location /'], 'a rule without host goes to the default server');
  t.equal(action(text, '_', 'location /'), 'proxy default-web-80', 'an Ingress with a backend and no rules is the catch-all');
  t.notMatch(text, 'traefik.com');
  t.notMatch(text, 'other.example.com');

  const none = renderNginxConf(models['no-ingresses']!, controllerOf(models['no-ingresses']!), { prefix: '/p' });
  t.same(locations(none, '_'), ['location /']);
  t.equal(action(none, '_', 'location /'), '404', 'an unknown host gets the default backend: 404');
  t.match(serverBlock(none, '_'), /listen 80 default_server;\n\s+set/, 'no declared port: 80');

  const site = renderNginxConf(models['host-default-backend']!, controllerOf(models['host-default-backend']!), { prefix: '/p' });
  t.equal(action(site, 'site.example.com', 'location /'), 'proxy default-fallback-80', "the Ingress's defaultBackend serves its host's other paths");
  t.equal(action(site, 'site.example.com', 'location /app/'), 'proxy default-web-80');
  t.equal(action(site, '_', 'location /'), 'proxy default-fallback-80', 'and, as in ingress-nginx, the catch-all');
  t.match(serverBlock(site, '_'), /listen 8080 default_server;/);
});

t.test('upstreams: ready endpoints, not the ClusterIP; headers; 503 without endpoints', async (t) => {
  const model = models['ingress-nginx']!;
  const text = renderNginxConf(model, controllerOf(model), { prefix: '/p' });
  const upstream = (_name: string) => /upstream (\S+) \{\n([^}]*)\}/g;
  const blocks = Object.fromEntries([...text.matchAll(upstream(''))].map((m) => [m[1], [...m[2]!.matchAll(/server (\S+) max_fails=0;/g)].map((s) => s[1])]));
  t.same(blocks, { 'default-nginx-80': ['10.244.0.3:80', '10.244.1.2:80'], 'ns-jo-business-user-80': ['10.244.0.4:8080'] }, 'the pods, at the targetPort (a named one too)');
  t.notMatch(text, '10.99.59.56', 'never the ClusterIP');
  for (const h of ['Host', 'X-Real-IP', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Port', 'X-Forwarded-Proto', 'X-Request-ID']) {
    t.match(text, new RegExp(`proxy_set_header ${h} +\\$`), `sets ${h}`);
  }

  // An endpoint that is not ready is left out; none ready, and the location answers 503.
  const notReady = (m: Model, ip: string): Model => ({
    ...m,
    endpointSlices: m.endpointSlices.map((s) => ({ ...s, endpoints: s.endpoints.map((e) => (e.ip === ip ? { ...e, ready: false } : e)) })),
  });
  const one = renderNginxConf(notReady(model, '10.244.0.3'), controllerOf(model), { prefix: '/p' });
  t.match(one, /upstream default-nginx-80 \{\n\s+server 10\.244\.1\.2:80 max_fails=0;\n\s+keepalive/);
  const zero = renderNginxConf(notReady(notReady(model, '10.244.0.3'), '10.244.1.2'), controllerOf(model), { prefix: '/p' });
  t.notMatch(zero, 'upstream default-nginx-80 {', 'nginx refuses an empty upstream');
  t.equal(action(zero, 'test.nginx.com', 'location /'), '503');
  t.match(zero, '# upstream default-nginx-80: Service default/nginx port 80 has no ready endpoints; its locations answer 503');

  // A Service that does not exist (validation reports it; the controller answers 503 meanwhile).
  const ing = model.objects.find((o): o is IngressObject => o.kind === 'Ingress' && o.meta.name === 'test')!;
  const gone: Model = { ...model, services: model.services.filter((s) => s.name !== 'nginx') };
  t.equal(action(renderNginxConf(gone, controllerOf(model), { prefix: '/p' }), 'test.nginx.com', 'location /'), '503');
  t.ok(ing);
  t.equal(upstreamName('ns', { service: 'svc', port: 'http' }), 'ns-svc-http');
});

t.test('checksum: of the configuration, not of its prefix; the status server answers it', async (t) => {
  const model = models['ingress-nginx']!;
  const a = renderNginxConf(model, controllerOf(model), { prefix: '/a' });
  const b = renderNginxConf(model, controllerOf(model), { prefix: '/b/' });
  t.match(a, /^# Configuration checksum: [0-9a-f]{16}$/m);
  t.equal(nginxConfChecksum(a), nginxConfChecksum(b));
  t.match(b, 'pid /b/nginx.pid;', 'a trailing / of the prefix is dropped');
  t.match(a, `location = ${CHECKSUM_PATH} {\n            default_type text/plain;\n            return 200 "${nginxConfChecksum(a)} $pid";`);
  t.match(a, `listen 127.0.0.1:${STATUS_PORT} default_server;`);
  const scaled: Model = { ...model, endpointSlices: model.endpointSlices.map((s) => ({ ...s, endpoints: s.endpoints.slice(0, 1) })) };
  t.not(nginxConfChecksum(renderNginxConf(scaled, controllerOf(model), { prefix: '/a' })), nginxConfChecksum(a), 'an endpoint change changes it');
  t.same(
    planNginx(model).servers.map((s) => s.hostname),
    ['_', 'business-user.ns-jo', 'test.nginx.com'],
  );
});

t.test('nothing outside the prefix: pid, logs, lock and temp folders', async (t) => {
  const text = renderNginxConf(models.paths!, controllerOf(models.paths!), { prefix: '/x/y' });
  const paths = [...text.matchAll(/^\s*(pid|lock_file|error_log|access_log|\w+_temp_path) (?!off;)(\S+)/gm)].map((m) => m[2]!);
  t.equal(paths.length, 9);
  t.ok(
    paths.every((p) => p.startsWith('/x/y/')),
    paths.join(' '),
  );
  t.notMatch(text, '/etc/nginx');
  t.notMatch(text, /\binclude\b/);
  t.match(text, /^daemon off;$/m);
  t.match(text, /^worker_processes 1;$/m);
});

// nginx -t binds the listening sockets for a moment: in a throwaway network namespace, where even
// a user who is not root may bind port 80 (as root of a user namespace).
const inNewNetns = process.getuid?.() === 0 ? ['unshare', '--net', '--'] : ['unshare', '--user', '--map-root-user', '--net', '--'];
const netnsWorks = spawnSync(inNewNetns[0]!, [...inNewNetns.slice(1), 'true']).status === 0;
const skipNginx = !existsSync(NGINX)
  ? `${NGINX} is missing (apt-get install nginx-light): the goldens are not checked by nginx -t`
  : !netnsWorks
    ? `${inNewNetns.join(' ')} does not work here: nginx -t needs a network namespace of its own to bind its ports`
    : false;
const nginxTest = (conf: string, prefix: string) => spawnSync(inNewNetns[0]!, [...inNewNetns.slice(1), NGINX, '-t', '-c', conf, '-p', `${prefix}/`], { encoding: 'utf8' });

t.test('nginx -t accepts every golden', { skip: skipNginx }, async (t) => {
  for (const [name, model] of Object.entries(models)) {
    const prefix = mkdtempSync(join(tmpdir(), 'knetlab-nginx-t-'));
    try {
      const text = renderNginxConf(model, controllerOf(model), { prefix });
      t.equal(text.replaceAll(prefix, GOLDEN_PREFIX), readGolden(`nginx/${name}.conf`), `${name}: the golden, with another prefix`);
      const conf = join(prefix, 'nginx.conf');
      writeFileSync(conf, text);
      const r = nginxTest(conf, prefix);
      t.equal(r.status, 0, `${name}: nginx -t: ${r.stderr}`);
      // Not even a warning (in a user namespace the `user` directive is fine too: we are its root).
      const warnings = r.stderr.split('\n').filter((l) => /\[(warn|emerg|alert|crit|error)\]/.test(l) && !/the "user" directive makes sense only/.test(l));
      t.same(warnings, [], `${name}: no warnings`);
      t.notOk(existsSync(join(prefix, 'nginx.pid')) && readFileSync(join(prefix, 'nginx.pid'), 'utf8') !== '', 'nginx -t writes no pid');
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  }
});

t.test('nginx -t rejects what nginx would (the check is real)', { skip: skipNginx }, async (t) => {
  const prefix = mkdtempSync(join(tmpdir(), 'knetlab-nginx-t-'));
  try {
    const text = renderNginxConf(models.paths!, controllerOf(models.paths!), { prefix }).replace('location /api/ {', 'location /api/ {\n            no_such_directive on;');
    writeFileSync(join(prefix, 'nginx.conf'), text);
    const r = nginxTest(join(prefix, 'nginx.conf'), prefix);
    t.not(r.status, 0);
    t.match(r.stderr, 'unknown directive "no_such_directive"');
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});
