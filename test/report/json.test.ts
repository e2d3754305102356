import t from 'tap';
import { passed, results } from './samples.js';
import { createReporter } from '../../src/report/reporter.js';
import { formatJson } from '../../src/report/json.js';
import type { ScenarioResult } from '../../src/run/types.js';

const golden = `{
  "scenarios": [
    {
      "file": "scenarios/clusterip.yaml",
      "name": "clusterip",
      "status": "passed",
      "reason": null,
      "durationMs": 1234,
      "steps": [
        {
          "name": "http pod/client -> service/nginx",
          "status": "passed",
          "expected": "status 200",
          "seen": "status 200 from pod/nginx-0",
          "diagnostics": null,
          "index": 0,
          "kind": "http",
          "variant": null,
          "skip": null,
          "tries": [
            {
              "ok": true,
              "status": 200,
              "source": "10.244.1.2",
              "server": "pod/nginx-0.default"
            }
          ]
        },
        {
          "name": "dns pod/client nginx.default",
          "status": "passed",
          "expected": "address service/nginx (10.96.0.20)",
          "seen": "address 10.96.0.20",
          "diagnostics": null,
          "index": 1,
          "kind": "dns",
          "variant": null,
          "skip": null,
          "tries": [
            {
              "ok": true,
              "dns": {
                "status": "NOERROR",
                "question": "nginx.default.svc.cluster.local",
                "answers": [
                  {
                    "name": "nginx.default.svc.cluster.local",
                    "type": "A",
                    "data": "10.96.0.20"
                  }
                ]
              }
            }
          ]
        }
      ]
    },
    {
      "file": "scenarios/nodeport-local.yaml",
      "name": "nodeport-local",
      "status": "failed",
      "reason": "step \`keeps the client IP\` failed",
      "durationMs": 2500,
      "steps": [
        {
          "name": "keeps the client IP <&\\"x\\"> #1",
          "status": "failed",
          "expected": "status 200, sourceIp host/client (192.168.8.100)",
          "seen": "status 200, sourceIp 10.244.1.1 (node/node-2@cni0) & \\"<masqueraded>\\"",
          "diagnostics": "/tmp/knetlab/nodeport-local/step-1",
          "index": 0,
          "kind": "http",
          "variant": "ipvs",
          "skip": null,
          "tries": [
            {
              "ok": true,
              "status": 200,
              "source": "10.244.1.1",
              "server": "pod/web.default"
            }
          ]
        },
        {
          "name": "drops on node-2",
          "status": "skipped",
          "expected": "fail: timeout",
          "seen": "",
          "diagnostics": null,
          "index": 1,
          "kind": "http",
          "variant": null,
          "skip": {
            "because": "earlier-step-failed"
          },
          "tries": []
        }
      ]
    },
    {
      "file": "scenarios/ipvs.yaml",
      "name": "ipvs-nodeport",
      "status": "skipped",
      "reason": "kernel lacks ip_vs (modprobe ip_vs: Module ip_vs not found)",
      "durationMs": 3,
      "steps": []
    }
  ]
}
`;

t.test("json: the keys of the contract, in order, with nulls; knetlab's additions after them", async (t) => {
  const text = formatJson(results);
  const doc = JSON.parse(text) as { scenarios: Record<string, unknown>[] };
  t.strictSame(Object.keys(doc), ['scenarios']);
  t.equal(doc.scenarios.length, 3);
  for (const s of doc.scenarios) {
    t.strictSame(Object.keys(s), ['file', 'name', 'status', 'reason', 'durationMs', 'steps']);
    t.ok(['passed', 'failed', 'skipped'].includes(s.status as string));
    t.type(s.durationMs, 'number');
    for (const step of s.steps as Record<string, unknown>[]) {
      t.strictSame(Object.keys(step), ['name', 'status', 'expected', 'seen', 'diagnostics', 'index', 'kind', 'variant', 'skip', 'tries']);
    }
  }
  const [p, f, s] = doc.scenarios as unknown as {
    status: string;
    reason: string | null;
    steps: { status: string; diagnostics: string | null }[];
  }[];
  t.equal(p?.status, 'passed');
  t.equal(p?.reason, null);
  t.same(
    p?.steps.map((x) => x.diagnostics),
    [null, null],
  );
  t.equal(f?.status, 'failed');
  t.equal(f?.steps[0]?.diagnostics, '/tmp/knetlab/nodeport-local/step-1');
  t.equal(f?.steps[1]?.diagnostics, null);
  t.equal(s?.status, 'skipped');
  t.match(s?.reason, /ip_vs/);
  t.same(s?.steps, []);
});

t.test('json: the full text, two-space indented, against the golden text', async (t) => {
  t.equal(formatJson(results), golden);
  t.equal(formatJson([]), '{\n  "scenarios": []\n}\n');
});

t.test('json: nothing extra leaks in (phases, step durations, unknown fields)', async (t) => {
  const extra = { ...passed, extra: 1, steps: passed.steps.map((s) => ({ ...s, extra: 2 })) } as ScenarioResult;
  const doc = JSON.parse(formatJson([extra])) as { scenarios: Record<string, unknown>[] };
  t.notOk('phases' in doc.scenarios[0]!);
  t.notOk('extra' in doc.scenarios[0]!);
  t.notOk(JSON.stringify(doc).includes('"extra"'));
  t.notOk(JSON.stringify(doc).includes('"durationMs":45'));
});

t.test('json reporter: nothing live, the report at the end', async (t) => {
  const written: string[] = [];
  const stream = { write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WritableStream;
  const r = createReporter('json', { stream, color: true, live: true });
  r.event({ type: 'scenario-start', file: passed.file, name: passed.name });
  r.event({ type: 'step-end', file: passed.file, index: 0, result: passed.steps[0]! });
  r.event({ type: 'scenario-end', result: passed });
  t.same(written, []);
  t.equal(r.finish(results), golden);
});

t.test("json: a traced step gains its trace lines, after knetlab's other additions", async (t) => {
  const trace = ['a traced try: dropped in node/node-2 by filter KUBE-EXTERNAL-SERVICES "default/web has no local endpoints"', 'path: host/client > node/node-2'];
  const traced = { ...passed, steps: passed.steps.map((s, i) => (i === 0 ? { ...s, trace } : s)) } as ScenarioResult;
  const doc = JSON.parse(formatJson([traced])) as { scenarios: { steps: Record<string, unknown>[] }[] };
  const [first, second] = doc.scenarios[0]!.steps;
  t.strictSame(Object.keys(first!).slice(-2), ['tries', 'trace']);
  t.strictSame(first!.trace, trace);
  t.notOk('trace' in second!, 'a step that was not traced has no trace key');
});
