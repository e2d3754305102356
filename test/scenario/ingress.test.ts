import { dirname } from 'node:path';
import t from 'tap';
import { formatProblem } from '../../src/errors.js';
import {
  checkIngress,
  checkIngresses,
  readIngress,
  reportIngressProblems,
  resolveServicePort,
  servedByNginx,
  servedIngresses,
  type IngressObject,
} from '../../src/scenario/ingress.js';
import { readKubeObject } from '../../src/scenario/objects.js';
import { Problems } from '../../src/scenario/problems.js';
import { parseYaml } from '../../src/scenario/source.js';
import { validateScenario } from '../../src/validate.js';
import { head, modelOf, writeScenario } from '../helpers.js';

/** One Ingress read from YAML the way a manifest is. */
function ingress(text: string): IngressObject {
  const { docs } = parseYaml('ing.yaml', text);
  const problems = new Problems();
  const o = readKubeObject(docs[0]!.value(), { doc: docs[0]!, path: [] }, problems);
  if (o?.kind !== 'Ingress') throw new Error(`not an Ingress: ${problems.list.map((p) => p.message).join('; ')}`);
  return o;
}

/** `LINE:COL: message` of every problem of one Ingress (alone: no model checks). */
function shape(text: string): string[] {
  const o = ingress(text);
  const problems = new Problems();
  for (const p of readIngress(o).problems) problems.add(p.severity, p.code, { doc: o.origin.doc, path: [...o.origin.path, ...p.path] }, p.message, { key: p.key ?? false });
  return problems.list
    .sort((a, b) => a.location!.line - b.location!.line || a.location!.col - b.location!.col)
    .map((p) => `${p.location?.line}:${p.location?.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`);
}

t.test('networking.k8s.io/v1: rules, paths, pathTypes, port by number and by name, defaultBackend, tls ignored', async (t) => {
  const o = ingress(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: web}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: fallback, port: {number: 8080}}}
  tls:
  - hosts: [shop.example.com]
    secretName: shop-tls
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: front, port: {number: 80}}}}
      - {path: /api, pathType: Exact, backend: {service: {name: api, port: {name: http}}}}
      - {path: /static, pathType: ImplementationSpecific, backend: {service: {name: front, port: {number: 80}}}}
  - http:
      paths:
      - {path: /healthz, pathType: Exact, backend: {service: {name: front, port: {number: 80}}}}
`);
  const { ingress: ing, problems } = readIngress(o);
  t.same(problems, []);
  t.match(ing, {
    namespace: 'web',
    name: 'shop',
    className: 'nginx',
    tls: true,
    defaultBackend: { service: 'fallback', port: 8080, at: ['spec', 'defaultBackend'] },
    rules: [
      {
        host: 'shop.example.com',
        paths: [
          { path: '/', pathType: 'Prefix', backend: { service: 'front', port: 80 } },
          { path: '/api', pathType: 'Exact', backend: { service: 'api', port: 'http' } },
          { path: '/static', pathType: 'ImplementationSpecific', backend: { service: 'front', port: 80 }, at: ['spec', 'rules', 0, 'http', 'paths', 2] },
        ],
      },
      { host: '', paths: [{ path: '/healthz', pathType: 'Exact' }] },
    ],
  });
  t.ok(servedByNginx(ing!));
});

t.test('extensions/v1beta1 as seed 003 pastes it: serviceName/servicePort, class by annotation, pathType defaulted', async (t) => {
  const o = ingress(`apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name:  business-user
  namespace: ns-jo
  annotations:
    kubernetes.io/ingress.class: "nginx"
spec:
  rules:
  - host:  business-user.ns-jo
    http:
      paths:
      - path: /
        backend:
          serviceName: business-user
          servicePort: 80
`);
  const { ingress: ing, problems } = readIngress(o);
  t.same(problems, []);
  t.match(ing, {
    className: 'nginx',
    tls: false,
    rules: [{ host: 'business-user.ns-jo', paths: [{ path: '/', pathType: 'ImplementationSpecific', backend: { service: 'business-user', port: 80 } }] }],
  });
  t.notOk('defaultBackend' in ing!);
});

t.test('v1beta1: spec.backend, a named servicePort, no path, a numeric string port; seed 002 has no class at all', async (t) => {
  const { ingress: ing, problems } = readIngress(
    ingress(`apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: test}
spec:
  backend: {serviceName: nginx, servicePort: http}
  rules:
  - host: test.nginx.com
    http:
      paths:
      - backend: {serviceName: nginx, servicePort: "80"}
`),
  );
  t.same(problems, []);
  t.match(ing, {
    namespace: 'default',
    defaultBackend: { service: 'nginx', port: 'http' },
    rules: [{ paths: [{ path: '', pathType: 'ImplementationSpecific', backend: { port: 80 } }] }],
  });
  t.equal(ing!.className, undefined);
  t.ok(servedByNginx(ing!), 'no class: nginx is the default class');
});

t.test('the class: annotation first, then ingressClassName; another class is not served; both must agree', async (t) => {
  const base = (meta: string, spec: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: a${meta}}
spec:
  ${spec}
  defaultBackend: {service: {name: s, port: {number: 80}}}
`;
  t.equal(readIngress(ingress(base('', 'ingressClassName: traefik'))).ingress?.className, 'traefik');
  t.notOk(servedByNginx(readIngress(ingress(base('', 'ingressClassName: traefik'))).ingress!));
  t.equal(readIngress(ingress(base(', annotations: {kubernetes.io/ingress.class: traefik}', ''))).ingress?.className, 'traefik');
  t.same(shape(base(', annotations: {kubernetes.io/ingress.class: traefik}', 'ingressClassName: nginx')), [
    '3:64: The annotation kubernetes.io/ingress.class of Ingress default/a (`traefik`) must match `spec.ingressClassName` (`nginx`) when both are given',
  ]);
  t.same(shape(base(', annotations: {kubernetes.io/ingress.class: nginx}', 'ingressClassName: nginx')), [], 'the same class twice is fine');
});

t.test('shape errors, each at its line and column', async (t) => {
  t.same(
    shape(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad}
spec:
  rules:
  - host: Shop.Example.com
    http:
      paths:
      - path: api
        pathType: prefix
        backend: {service: {name: web, port: {number: 80}}}
      - path: /x
        backend: {service: {name: web, port: {number: 0}}}
      - path: /a b
        pathType: Exact
        backend: {service: {name: web, port: {number: 80, name: http}}}
      - path: /y
        pathType: Prefix
        backend: {serviceName: web, servicePort: 80}
      - path: /z
        pathType: Prefix
        backend: {service: {name: web}}
  - host: 10.0.0.1
    http: {paths: []}
`),
    [
      '6:11: Expected `spec.rules[0].host` of Ingress default/bad to be a lower-case DNS name (a leading `*.` allowed), got `Shop.Example.com`',
      '9:15: `spec.rules[0].http.paths[0].path` of Ingress default/bad must start with /, got `api`',
      '10:19: Expected `spec.rules[0].http.paths[0].pathType` of Ingress default/bad to be Prefix, Exact or ImplementationSpecific, got `prefix`; did you mean `Prefix`?',
      '12:9: Missing required key `pathType` in `spec.rules[0].http.paths[1]` of Ingress default/bad (Prefix, Exact or ImplementationSpecific)',
      '13:55: Expected `spec.rules[0].http.paths[1].backend.service.port.number` of Ingress default/bad to be a port number (1-65535), got `0`',
      '14:15: `spec.rules[0].http.paths[2].path` of Ingress default/bad has a character knetlab cannot hand to nginx (space, quote, ; { } # $ or \\), got `/a b`',
      '16:46: `spec.rules[0].http.paths[2].backend.service.port` of Ingress default/bad may have `number` or `name`, not both',
      '19:19: `spec.rules[0].http.paths[3].backend.serviceName` of Ingress default/bad is the v1beta1 form; networking.k8s.io/v1 writes `service: {name: NAME, port: {number: PORT}}`',
      '19:37: `spec.rules[0].http.paths[3].backend.servicePort` of Ingress default/bad is the v1beta1 form; networking.k8s.io/v1 writes `service: {name: NAME, port: {number: PORT}}`',
      '22:28: Missing required key `port` in `spec.rules[0].http.paths[4].backend.service` of Ingress default/bad (`port: {number: 80}` or `port: {name: http}`)',
      '23:11: `spec.rules[1].host` of Ingress default/bad must be a DNS name, not an IP address or a host:port, got `10.0.0.1`',
      '24:19: `spec.rules[1].http.paths` of Ingress default/bad must list at least one path',
    ],
  );
  t.same(
    shape(`apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
  rules:
  - host: a.example.com
    http:
      paths:
      - path: /a/../b
        pathType: Prefix
        backend: {serviceName: web, servicePort: Http}
      - path: /c
        backend: {service: {name: web, port: {number: 80}}}
`),
    [
      '5:3: `spec.defaultBackend` of Ingress default/old is the networking.k8s.io/v1 name; extensions/v1beta1 calls it `spec.backend`',
      '10:15: `spec.rules[0].http.paths[0].path` of Ingress default/old may not contain //, /./, /../ or %2F (pathType Prefix), got `/a/../b`',
      '12:50: Expected `spec.rules[0].http.paths[0].backend.servicePort` of Ingress default/old to be a port number or a Service port name (lower-case letters, digits and -, at most 15), got `Http`',
      '14:19: `spec.rules[0].http.paths[1].backend.service` of Ingress default/old is the networking.k8s.io/v1 form; extensions/v1beta1 writes `serviceName: NAME` and `servicePort: PORT`',
    ],
  );
  t.same(
    shape(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: empty}
spec: {ingressClassName: nginx}
`),
    ['4:7: Ingress default/empty needs `spec.rules` or `spec.defaultBackend`'],
  );
  t.equal(
    readIngress(
      ingress(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: empty}
spec: {}
`),
    ).ingress,
    undefined,
    'no typed form when there are errors',
  );
});

t.test('warnings: nginx annotations are not applied; a resource backend gets the default backend', async (t) => {
  t.same(
    shape(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: w
  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}
spec:
  rules:
  - host: a.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: static}}
`),
    [
      "5:17: warning: The annotation nginx.ingress.kubernetes.io/rewrite-target of Ingress default/w is not applied: knetlab's ingress-nginx reads no nginx.ingress.kubernetes.io annotations",
      '13:29: warning: `spec.rules[0].http.paths[0].backend` of Ingress default/w is a resource backend: ingress-nginx serves only Service backends, so requests here get the default backend (404)',
    ],
  );
});

// A scenario with Services and Ingresses, checked against its model.
const controller = `  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
    spec:
      selector: {matchLabels: {app: ingress-nginx}}
      template:
        metadata: {labels: {app: ingress-nginx}, annotations: {knetlab.io/workload: ingress-nginx}}
        spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
`;
const services = `  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: dns}, spec: {selector: {app: dns}, ports: [{name: dns, port: 53, protocol: UDP}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: db}, spec: {type: ExternalName, externalName: db.example.com}}
`;
const ingresses = `  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: shop}
    spec:
      ingressClassName: nginx
      rules:
      - host: shop.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
          - {path: /t, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
          - {path: /n, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
          - {path: /a, pathType: Prefix, backend: {service: {name: wbe, port: {number: 80}}}}
          - {path: /b, pathType: Prefix, backend: {service: {name: web, port: {number: 81}}}}
          - {path: /c, pathType: Prefix, backend: {service: {name: web, port: {name: htp}}}}
          - {path: /d, pathType: Prefix, backend: {service: {name: dns, port: {number: 53}}}}
          - {path: /e, pathType: Prefix, backend: {service: {name: db, port: {number: 5432}}}}
  - apiVersion: extensions/v1beta1
    kind: Ingress
    metadata: {name: old, annotations: {kubernetes.io/ingress.class: traefik}}
    spec:
      backend: {serviceName: nope, servicePort: 80}
  - apiVersion: networking.k8s.io/v1beta1
    kind: Ingress
    metadata: {name: again}
    spec:
      rules:
      - host: shop.example.com
        http:
          paths:
          - {path: /, backend: {serviceName: web, servicePort: 80}}
          - {path: /other, backend: {serviceName: web, servicePort: 80}}
`;

t.test('against the cluster: missing Service, missing port (number, name, targetPort), UDP, ExternalName, class, overlap', async (t) => {
  const file = writeScenario(`${head(1, '  dns: false')}manifests:\n${controller}${services}${ingresses}`);
  const v = await validateScenario(file);
  t.ok(v.model, v.problems.map(formatProblem).join('\n'));
  const problems = new Problems();
  reportIngressProblems(v.model!, problems);
  const lines = problems.list.map((p) => formatProblem(p).replace(`${dirname(file)}/`, ''));
  t.same(lines, [
    'scenario.yaml:32:68: Ingress default/shop names Service default/wbe, which does not exist; did you mean `web`?',
    'scenario.yaml:33:88: Service default/web has no port `81` (its ports: 80 (http)), named by Ingress default/shop',
    'scenario.yaml:34:86: Service default/web has no port `htp` (its ports: 80 (http)), named by Ingress default/shop; did you mean `http`?',
    'scenario.yaml:35:88: warning: Port `53` of Service default/dns is UDP: ingress-nginx proxies HTTP over TCP only, so requests for it get 503',
    "scenario.yaml:36:68: warning: Service default/db of Ingress default/shop is of type ExternalName: knetlab's ingress-nginx does not proxy to external names, so its requests get 503",
    "scenario.yaml:39:22: warning: Ingress default/old has class `traefik`: knetlab's ingress-nginx serves class nginx (and Ingresses without a class), so nothing serves it",
    'scenario.yaml:50:20: warning: Host shop.example.com path / (Prefix) of Ingress default/again is already routed by Ingress default/shop: ingress-nginx keeps the first',
  ]);
  t.same(
    servedIngresses(v.model!).map((i) => i.name),
    ['shop', 'again'],
    'the traefik one is not served',
  );
  const web = v.model!.services.find((s) => s.name === 'web')!;
  t.equal(resolveServicePort(web, 80)?.name, 'http');
  t.equal(resolveServicePort(web, 'http')?.port, 80);
  t.equal(resolveServicePort(web, 8080)?.port, 80, 'ingress-nginx also takes the targetPort');
  t.equal(resolveServicePort(web, 81), undefined);
  const shop = v.model!.objects.find((o): o is IngressObject => o.kind === 'Ingress' && o.meta.name === 'shop')!;
  t.equal(checkIngress(shop, v.model!).length, 5, 'one object alone');
  t.same(
    checkIngresses(v.model!, (o) => o.meta.name === 'shop').map((c) => c.object.meta.name),
    ['shop'],
    '`only` narrows the report',
  );
  const onlyAgain = new Problems();
  reportIngressProblems(v.model!, onlyAgain, (o) => o.meta.name === 'again');
  t.same(
    onlyAgain.list.map((p) => p.message),
    [lines[6]!.replace(/^.*warning: /, '')],
    'the overlap is still found against the earlier Ingress',
  );
});

t.test('no ingress-nginx pod: every served Ingress says nothing serves it', async (t) => {
  const model = await modelOf(
    `${head(1, '  dns: false')}manifests:\n${services}  - {apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: x}, spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}}\n`,
  );
  const all = checkIngresses(model).flatMap((c) => c.problems);
  t.same(all, [
    {
      code: 'not-served',
      severity: 'warning',
      path: ['metadata', 'name'],
      message: 'No pod runs an ingress controller (pod annotation knetlab.io/workload: ingress-nginx), so nothing serves Ingress default/x',
    },
  ]);
});

t.test('the scenario ingress-nginx.yaml has no Ingress problem', async (t) => {
  const v = await validateScenario('scenarios/ingress-nginx.yaml');
  t.ok(v.model);
  t.same(
    checkIngresses(v.model!).flatMap((c) => c.problems),
    [],
  );
  t.same(
    servedIngresses(v.model!).map((i) => `${i.namespace}/${i.name}`),
    ['default/test', 'ns-jo/business-user'],
  );
});
