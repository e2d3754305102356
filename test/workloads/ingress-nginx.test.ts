import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import type { Model, Pod } from '../../src/cluster/types.js';
import { IngressNginx } from '../../src/workloads/ingress-nginx.js';

// The kernel part runs in ingress-nginx-sandbox.mjs under unshare (own network, mount and PID
// namespaces), against the compiled dist/ since tap's TypeScript loader is not there.
const helper = 'test/workloads/ingress-nginx-sandbox.mjs';
const compiled = ['dist/workloads/ingress-nginx.js', 'dist/dataplane/nginx-conf.js', 'dist/workloads/echo.js', 'dist/workloads/echo-server.py'];
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip =
  process.getuid?.() !== 0
    ? 'needs root: it creates network namespaces (in a private sandbox)'
    : !existsSync('/usr/sbin/nginx')
      ? '/usr/sbin/nginx is missing (apt-get install nginx-light)'
      : !['unshare', 'ip', 'curl', 'python3'].every(has)
        ? 'needs unshare, ip, curl and python3'
        : false;

const hostNetns = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

t.test('misuse is refused before anything runs', async (t) => {
  const nginx = new IngressNginx({ nginx: '/nonexistent/nginx' });
  await t.rejects(nginx.reload({} as Model), { code: 'EINTERNAL', message: 'ingress-nginx is not started' });
  const pod = { namespace: 'ingress-nginx', name: 'c-0', containers: [] } as unknown as Pod;
  await t.rejects(nginx.start({} as Model, pod, 'c-0.ingress-nginx', '/nonexistent'), { code: 'EINTERNAL', message: /has no address yet/ });
  nginx.stop(); // a no-op when nothing runs
  t.equal(nginx.pid, undefined);
  t.equal(nginx.failure, undefined);
});

t.test('ingress-nginx in real network namespaces', { skip }, async (t) => {
  for (const file of compiled) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  }
  const before = hostNetns();
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // the helper is plain JavaScript: no TypeScript loader
  const run = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--', process.execPath, helper], { encoding: 'utf8', env, timeout: 120_000 });
  t.equal(run.status, 0, `sandbox helper exit status; stderr: ${run.stderr}`);
  t.equal(hostNetns(), before, '`ip netns list` on the host is unchanged');
  if (run.status !== 0) return;
  const out = JSON.parse(run.stdout);
  t.equal(out.error, undefined, out.error?.stack);
  t.comment(`nginx start ${out.startMs} ms, a reload ${out.reloadMs} ms`);
  const ctl = out.addresses['nginx-ingress-controller-0'];

  t.test('nginx runs in the controller pod, under its own prefix', async (t) => {
    t.ok(out.masterNetnsIsPod, "nginx's master is in the pod's network namespace");
    t.match(out.processes, [
      /^nginx: master process .* -c \/run\/knetlab-scratch\/ingress-nginx\/nginx-ingress-controller-0\.ingress-nginx\/nginx\.conf -p /,
      'nginx: worker process',
    ]);
    t.equal(out.processes.length, 2, 'worker_processes 1');
  });

  t.test('routing by host and path, to the endpoints, from the controller pod', async (t) => {
    t.same(out.test, { 'web-0': 10, 'web-1': 10 }, 'test.nginx.com: both web pods, round robin');
    t.match(
      out.testOne,
      { status: 200, json: { clientIP: ctl, host: 'test.nginx.com', path: '/some/where', serverPort: 80 } },
      'the pod sees the controller, the Host and the path',
    );
    t.match(
      out.businessUser,
      { status: 200, json: { pod: 'business-user-0', namespace: 'ns-jo', serverPort: 8080, clientIP: ctl, path: '/api/v1/product/list' } },
      'a v1beta1 Ingress, class by annotation, a named targetPort',
    );
    t.match(out.unknown, { status: 404, body: /404 Not Found/ }, 'an unknown host: the default backend');
    t.match(out.byAddress, { status: 404 }, 'the Host of an address: the default backend');
    t.match(out.port443, { status: 200, json: { path: '/tls' } }, 'port 443 serves plain HTTP');
    t.match(out.jobBefore, { json: { pod: /^web-/ } });
    t.match(out.emptyBefore, { status: 404 }, 'a host no Ingress names yet');
  });

  t.test('the headers ingress-nginx sets', async (t) => {
    const h = out.headers.json;
    t.equal(h.client, ctl, 'the backend sees the controller pod');
    t.match(h.headers, {
      Host: 'headers.example.com',
      'X-Real-IP': '10.244.200.100',
      'X-Forwarded-For': '10.244.200.100', // the client's own X-Forwarded-For is not trusted (no use-forwarded-headers)
      'X-Original-Forwarded-For': '203.0.113.9',
      'X-Forwarded-Host': 'headers.example.com',
      'X-Forwarded-Port': '80',
      'X-Forwarded-Proto': 'http',
      'X-Request-ID': /^[0-9a-f]{32}$/,
    });
  });

  t.test('reload: only on a change, graceful, and the new paths are routed', async (t) => {
    t.equal(out.sameReload, false, 'the same model: no reload');
    t.equal(out.changedReload, true);
    t.ok(out.sameMaster, 'the same master process (nginx -s reload, not a restart)');
    t.ok(out.newWorkers, 'new workers serve');
    t.match(out.jo, { status: 200, json: { pod: 'business-user-0', path: '/jo/x' } }, 'the new Prefix path /jo, from an Ingress of another namespace');
    t.match(out.joExact, { status: 200, json: { pod: 'business-user-0', path: '/jo' } }, '/jo itself');
    t.match(out.job, { status: 200, json: { pod: /^web-/, path: '/job' } }, '/job is not under the Prefix /jo');
    t.match(out.root, { status: 200, json: { pod: /^web-/ } });
    t.match(out.empty, { status: 503 }, 'a Service without endpoints: 503');
    t.equal(out.endpointReload, true, 'an endpoint that is no longer ready is a change');
    t.same(out.afterScale, { 'web-0': 10 }, 'only the ready endpoint answers');
  });

  t.test('a configuration nginx -t rejects is not loaded; the old one keeps serving', async (t) => {
    t.match(out.rejected, {
      thrown: true,
      code: 'ECOMMAND',
      message: /^nginx -t rejected the configuration of ingress controller pod ingress-nginx\/nginx-ingress-controller-0 .*rejected by the test wrapper/,
      kept: true,
    });
    t.match(out.afterRejected, { status: 200, json: { pod: 'business-user-0' } });
    t.ok(out.runningIsOld);
    t.equal(out.reloads, 2, 'two reloads sent: the change and the endpoint');
    t.equal(out.failureWhileRunning, null);
  });

  t.test("a start that cannot bind fails with nginx's words", async (t) => {
    t.match(out.conflict, { thrown: true, code: 'ECOMMAND', message: /exited unexpectedly \(code 1\): .*bind\(\) to 0\.0\.0\.0:80 failed \(98: Address already in use\)/ });
  });

  t.test('stop leaves no nginx; the host nginx and /etc/nginx are untouched', async (t) => {
    t.equal(out.runningBeforeStop, 2);
    t.same(out.afterStop, [], 'no process of ours after stop');
    t.equal(out.failureAfterStop, null, 'a stop is not a failure');
    t.same(out.hostNginx, { pidFile: true, answers: 'host nginx' }, '/run/nginx.pid still names the other nginx, which still serves');
    t.ok(out.etcNginxUnchanged, '/etc/nginx unchanged');
    t.same(out.nginxLeft, [], 'no nginx at all at the end');
    t.ok(out.accessLog > 0, 'requests are logged under the prefix');
  });
});
