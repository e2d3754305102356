// Helper of ingress-nginx.test.ts, run inside `unshare --net --mount --pid --fork --mount-proc`:
// builds a flat pod network (one bridge), runs echo backends and the compiled IngressNginx (dist/)
// in the controller pod's namespace, curls it with Host headers from a client namespace, reloads
// it with changed models, and prints one JSON object of what it saw. Plain .mjs because tap's
// TypeScript loader is not there. Another nginx plays the host's (its pid file at /run/nginx.pid).
import { execFile as execFileCb, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

if (process.pid !== 1) {
  console.error('ingress-nginx-sandbox.mjs must run as pid 1 under unshare --net --mount --pid --fork --mount-proc');
  process.exit(2);
}

const dist = (p) => new URL(`../../dist/${p}`, import.meta.url);
const { validateScenario } = await import(dist('validate.js'));
const { IngressNginx } = await import(dist('workloads/ingress-nginx.js'));
const { EchoServer } = await import(dist('workloads/echo.js'));
const { podNetns } = await import(dist('dataplane/names.js'));

const sh = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8' });
const CLIENT_IP = '10.244.200.100';

// A private /run: `ip netns` state, the scratch folder and the "host" nginx's pid file live there only.
sh('mount', '-t', 'tmpfs', 'knetlab-test', '/run');
mkdirSync('/run/netns');
const scratch = '/run/knetlab-scratch';
mkdirSync(scratch);
sh('ip', 'link', 'set', 'lo', 'up');

const out = {};
const etcNginx = () => {
  try {
    return sh('ls', '-laR', '--time-style=full-iso', '/etc/nginx');
  } catch {
    return 'none';
  }
};
const etcBefore = etcNginx();

// The "host's" nginx: Debian's binary with its own configuration, its pid file where Debian's goes.
const hostPrefix = '/run/host-nginx';
mkdirSync(hostPrefix);
writeFileSync(
  `${hostPrefix}/nginx.conf`,
  `daemon off; worker_processes 1; pid /run/nginx.pid; error_log ${hostPrefix}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${hostPrefix}/b; proxy_temp_path ${hostPrefix}/p; fastcgi_temp_path ${hostPrefix}/f; uwsgi_temp_path ${hostPrefix}/u; scgi_temp_path ${hostPrefix}/s;
  server { listen 127.0.0.1:80; location / { return 200 "host nginx\\n"; } }
}
`,
);
const hostNginx = spawn('/usr/sbin/nginx', ['-c', `${hostPrefix}/nginx.conf`, '-p', `${hostPrefix}/`], { stdio: 'ignore' });
const waitFor = async (check, what, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
await waitFor(() => {
  try {
    return readFileSync('/run/nginx.pid', 'utf8').trim() === String(hostNginx.pid);
  } catch {
    return false;
  }
}, 'the host nginx');

// The cluster: one node, so every pod is in 10.244.0.0/24.
const controller = `apiVersion: apps/v1
    kind: Deployment
    metadata: {name: nginx-ingress-controller, namespace: ingress-nginx}
    spec:
      selector: {matchLabels: {app: ingress-nginx}}
      template:
        metadata: {labels: {app: ingress-nginx}, annotations: {knetlab.io/workload: ingress-nginx}}
        spec: {containers: [{name: controller, ports: [{name: http, containerPort: 80}, {name: https, containerPort: 443}]}]}`;
const base = `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: ingress-sandbox}
cluster: {dns: false}
nodes:
  - name: node-1
manifests:
  - {apiVersion: v1, kind: Namespace, metadata: {name: ingress-nginx}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: ns-jo}}
  - ${controller}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: business-user, namespace: ns-jo}, spec: {selector: {matchLabels: {app: bu}}, template: {metadata: {labels: {app: bu}}, spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: business-user, namespace: ns-jo}, spec: {selector: {app: bu}, ports: [{name: http, port: 80, targetPort: http}]}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: headers}, spec: {selector: {matchLabels: {app: headers}}, template: {metadata: {labels: {app: headers}}, spec: {containers: [{name: c, ports: [{containerPort: 8000}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: headers}, spec: {selector: {app: headers}, ports: [{port: 80, targetPort: 8000}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: nobody}, spec: {selector: {app: nobody}, ports: [{port: 80}]}}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: test}
    spec:
      ingressClassName: nginx
      rules:
      - host: test.nginx.com
        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - apiVersion: extensions/v1beta1
    kind: Ingress
    metadata: {name: business-user, namespace: ns-jo, annotations: {kubernetes.io/ingress.class: nginx}}
    spec:
      rules:
      - host: business-user.ns-jo
        http: {paths: [{path: /, backend: {serviceName: business-user, servicePort: 80}}]}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: headers}
    spec:
      rules:
      - host: headers.example.com
        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: headers, port: {number: 80}}}}]}
`;
// The change: a new path for test.nginx.com from another namespace's Ingress, and a host whose Service has no endpoints.
const changed = `${base}  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: jo-api, namespace: ns-jo}
    spec:
      ingressClassName: nginx
      rules:
      - host: test.nginx.com
        http: {paths: [{path: /jo, pathType: Prefix, backend: {service: {name: business-user, port: {name: http}}}}]}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: empty}
    spec:
      rules:
      - host: empty.example.com
        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: nobody, port: {number: 80}}}}]}
`;
const modelOf = async (text, name) => {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, text);
  const v = await validateScenario(file);
  const errors = v.problems.filter((p) => p.severity === 'error');
  if (errors.length || !v.model) throw new Error(`${name}: ${errors.map((p) => p.message).join('; ')}`);
  return v.model;
};
const model1 = await modelOf(base, 'base');
const model2 = await modelOf(changed, 'changed');
const pod = (m, name) => m.pods.find((p) => p.name === name);
const ctl = pod(model1, 'nginx-ingress-controller-0');
for (const p of model2.pods) if (pod(model1, p.name)?.ip !== p.ip) throw new Error(`pod ${p.name} moved: the models must agree`);
out.addresses = Object.fromEntries(model1.pods.filter((p) => p.workload !== 'dns').map((p) => [p.name, p.ip]));

// A flat pod network: every pod and the client on one bridge, /16 neighbours.
sh('ip', 'netns', 'add', 'lan');
sh('ip', '-n', 'lan', 'link', 'add', 'br0', 'type', 'bridge');
sh('ip', '-n', 'lan', 'link', 'set', 'br0', 'up');
const plug = (ns, ip, i) => {
  sh('ip', 'netns', 'add', ns);
  sh('ip', '-n', 'lan', 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  sh('ip', '-n', 'lan', 'link', 'set', `p${i}`, 'master', 'br0', 'up');
  sh('ip', '-n', ns, 'addr', 'add', `${ip}/16`, 'dev', 'eth0');
  sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
  sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
};
const pods = model1.pods.filter((p) => p.workload !== 'dns');
pods.forEach((p, i) => plug(podNetns(p), p.ip, i));
plug('client', CLIENT_IP, 99);

// Backends: the echo server in the web and business-user pods, a headers echo in the headers pod.
const echo = await EchoServer.start({ logFile: join(scratch, 'echo.jsonl') });
const identity = (p) => ({ server: `pod/${p.name}.${p.namespace}`, pod: p.name, namespace: p.namespace, node: p.node, podIP: p.ip });
await echo.listen([
  ...['web-0', 'web-1'].map((n) => ({ netns: podNetns(pod(model1, n)), port: 80, protocol: 'TCP', identity: identity(pod(model1, n)) })),
  { netns: podNetns(pod(model1, 'business-user-0')), port: 8080, protocol: 'TCP', identity: identity(pod(model1, 'business-user-0')) },
]);
const headersScript = `
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({'client': self.client_address[0], 'path': self.path, 'headers': dict(self.headers.items())}).encode()
        self.send_response(200); self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('0.0.0.0', 8000), H).serve_forever()
`;
const headersServer = spawn('ip', ['netns', 'exec', podNetns(pod(model1, 'headers-0')), 'python3', '-c', headersScript], { stdio: 'ignore' });

const curl = async (host, path = '/', port = 80, extra = []) => {
  try {
    const r = await execFile(
      'ip',
      [
        'netns',
        'exec',
        'client',
        'curl',
        '-s',
        '-m',
        '5',
        '-o',
        '-',
        '-w',
        '\n%{http_code}',
        ...(host === null ? [] : ['-H', `Host: ${host}`]),
        ...extra,
        `http://${ctl.ip}:${port}${path}`,
      ],
      { encoding: 'utf8' },
    );
    const i = r.stdout.lastIndexOf('\n');
    const body = r.stdout.slice(0, i);
    let json = null;
    try {
      json = JSON.parse(body);
    } catch {}
    return { status: Number(r.stdout.slice(i + 1)), json, body: json ? undefined : body.slice(0, 200) };
  } catch (e) {
    return { status: 0, error: String(e.stderr || e.message) };
  }
};
const many = async (n, host, path) => {
  const seen = {};
  for (let i = 0; i < n; i++) {
    const r = await curl(host, path);
    const key = r.status === 200 ? r.json?.pod : `status ${r.status}`;
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
};
// The headers server is up when it answers on its own address.
for (let i = 0; ; i++) {
  try {
    await execFile('ip', ['netns', 'exec', 'client', 'curl', '-s', '-m', '1', `http://${pod(model1, 'headers-0').ip}:8000/`]);
    break;
  } catch {
    if (i > 100) throw new Error('the headers server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const nginxProcs = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx'
          ? [
              {
                pid: Number(pid),
                cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(),
                ppid: Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]),
              },
            ]
          : [];
      } catch {
        return [];
      }
    });
const ours = (master) => nginxProcs().filter((p) => p.pid === master || p.ppid === master);

// Debian's nginx behind a wrapper whose `nginx -t` rejects any configuration naming reject.example.com.
const wrapper = '/run/nginx-wrapper';
writeFileSync(
  wrapper,
  `#!/bin/sh
if [ "$1" = "-t" ] && grep -q reject.example.com "$4"; then echo 'nginx: [emerg] rejected by the test wrapper' >&2; exit 1; fi
exec /usr/sbin/nginx "$@"
`,
  { mode: 0o755 },
);
const ingress = new IngressNginx({ nginx: wrapper });
try {
  const t0 = performance.now();
  await ingress.start(model1, ctl, podNetns(ctl), scratch);
  out.startMs = Math.round(performance.now() - t0);
  const master = ingress.pid;
  out.prefix = ingress.prefix;
  out.masterNetnsIsPod = readFileSync(`/proc/${master}/net/fib_trie`, 'utf8').includes(ctl.ip);
  out.processes = ours(master).map((p) => p.cmd);

  out.test = await many(20, 'test.nginx.com', '/');
  out.testOne = await curl('test.nginx.com', '/some/where?x=1');
  out.businessUser = await curl('business-user.ns-jo', '/api/v1/product/list');
  out.unknown = await curl('unknown.example.com', '/');
  out.byAddress = await curl(null, '/');
  out.port443 = await curl('test.nginx.com', '/tls', 443);
  out.headers = await curl('headers.example.com', '/h', 80, ['-H', 'X-Forwarded-For: 203.0.113.9']);
  out.jobBefore = await curl('test.nginx.com', '/jo/x');
  out.emptyBefore = await curl('empty.example.com', '/');

  // Unchanged model: no reload.
  out.sameReload = await ingress.reload(model1);
  const workersBefore = ours(master)
    .filter((p) => p.pid !== master)
    .map((p) => p.pid);
  const t1 = performance.now();
  out.changedReload = await ingress.reload(model2);
  out.reloadMs = Math.round(performance.now() - t1);
  out.sameMaster = ingress.pid === master && ours(master).some((p) => p.pid === master);
  const workersAfter = ours(master)
    .filter((p) => p.pid !== master && !p.cmd.includes('shutting down'))
    .map((p) => p.pid);
  out.newWorkers = workersAfter.length > 0 && workersAfter.every((w) => !workersBefore.includes(w));
  out.jo = await curl('test.nginx.com', '/jo/x');
  out.joExact = await curl('test.nginx.com', '/jo');
  out.job = await curl('test.nginx.com', '/job');
  out.root = await curl('test.nginx.com', '/');
  out.empty = await curl('empty.example.com', '/');

  // Endpoints change: web-1 not ready any more.
  const model3 = {
    ...model2,
    endpointSlices: model2.endpointSlices.map((s) => ({ ...s, endpoints: s.endpoints.map((e) => (e.pod?.name === 'web-1' ? { ...e, ready: false } : e)) })),
  };
  out.endpointReload = await ingress.reload(model3);
  out.afterScale = await many(10, 'test.nginx.com', '/');
  // A configuration nginx -t rejects: thrown, kept aside, and the running one goes on serving.
  const empty = model3.objects.find((o) => o.kind === 'Ingress' && o.meta.name === 'empty');
  const reject = { ...empty, meta: { ...empty.meta, name: 'reject' }, spec: { rules: [{ host: 'reject.example.com', http: empty.spec.rules[0].http }] } };
  try {
    await ingress.reload({ ...model3, objects: [...model3.objects, reject] });
    out.rejected = { thrown: false };
  } catch (e) {
    out.rejected = { thrown: true, code: e.code, message: e.message, kept: readFileSync(join(ingress.prefix, 'nginx.conf.rejected'), 'utf8').includes('reject.example.com') };
  }
  out.afterRejected = await curl('test.nginx.com', '/jo/x');
  out.runningIsOld = !ingress.config.includes('reject.example.com') && !readFileSync(join(ingress.prefix, 'nginx.conf'), 'utf8').includes('reject.example.com');
  out.reloads = ingress.reloads;

  // A second controller in the same pod cannot bind its ports: start fails with nginx's own words.
  const second = new IngressNginx();
  try {
    await second.start(model3, ctl, podNetns(ctl), join(scratch, 'second'));
    out.conflict = { thrown: false };
  } catch (e) {
    out.conflict = { thrown: true, code: e.code, message: e.message, failure: second.failure?.message ?? null };
  }
  second.stop();
  await second.stopped();
  out.accessLog = readFileSync(join(ingress.prefix, 'access.log'), 'utf8').trim().split('\n').length;
  out.failureWhileRunning = ingress.failure?.message ?? null;

  out.runningBeforeStop = ours(master).length;
  ingress.stop();
  await ingress.stopped();
  await waitFor(() => ours(master).length === 0, 'the ingress nginx to end');
  out.afterStop = ours(master).map((p) => p.cmd);
  out.failureAfterStop = ingress.failure?.message ?? null;
  out.hostNginx = {
    pidFile: readFileSync('/run/nginx.pid', 'utf8').trim() === String(hostNginx.pid),
    answers: sh('curl', '-s', '-m', '2', 'http://127.0.0.1:80/').trim(),
  };
  out.etcNginxUnchanged = etcNginx() === etcBefore;
} catch (e) {
  out.error = { message: e.message, stack: e.stack };
  ingress.stop();
} finally {
  headersServer.kill();
  await echo.stop();
  hostNginx.kill('SIGQUIT');
  await waitFor(() => nginxProcs().length === 0, 'every nginx to end').catch(() => {});
  out.nginxLeft = nginxProcs().map((p) => p.cmd);
}
console.log(JSON.stringify(out));
process.exit(0); // as pid 1, nothing may keep us waiting: the kernel ends whatever is left
