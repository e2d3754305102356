// The sample results every reporter test renders: a passed, a failed and a skipped scenario.
import type { ScenarioResult } from '../../src/run/types.js';

export const passed: ScenarioResult = {
  file: 'scenarios/clusterip.yaml',
  name: 'clusterip',
  status: 'passed',
  reason: null,
  durationMs: 1234.4,
  steps: [
    {
      name: 'http pod/client -> service/nginx',
      index: 0,
      kind: 'http',
      status: 'passed',
      expected: 'status 200',
      seen: 'status 200 from pod/nginx-0',
      diagnostics: null,
      durationMs: 45,
      tries: [{ ok: true, status: 200, source: '10.244.1.2', server: 'pod/nginx-0.default' }],
      skip: null,
      variant: null,
    },
    {
      name: 'dns pod/client nginx.default',
      index: 1,
      kind: 'dns',
      status: 'passed',
      expected: 'address service/nginx (10.96.0.20)',
      seen: 'address 10.96.0.20',
      diagnostics: null,
      durationMs: 12,
      tries: [
        {
          ok: true,
          dns: { status: 'NOERROR', question: 'nginx.default.svc.cluster.local', answers: [{ name: 'nginx.default.svc.cluster.local', type: 'A', data: '10.96.0.20' }] },
        },
      ],
      skip: null,
      variant: null,
    },
  ],
  phases: [
    { name: 'topology', durationMs: 312 },
    { name: 'steps', durationMs: 57 },
  ],
};

export const failed: ScenarioResult = {
  file: 'scenarios/nodeport-local.yaml',
  name: 'nodeport-local',
  status: 'failed',
  reason: 'step `keeps the client IP` failed',
  durationMs: 2500,
  steps: [
    {
      name: 'keeps the client IP <&"x"> #1',
      status: 'failed',
      expected: 'status 200, sourceIp host/client (192.168.8.100)',
      seen: 'status 200, sourceIp 10.244.1.1 (node/node-2@cni0) & "<masqueraded>"',
      diagnostics: '/tmp/knetlab/nodeport-local/step-1',
      durationMs: 2001,
      index: 0,
      kind: 'http',
      tries: [{ ok: true, status: 200, source: '10.244.1.1', server: 'pod/web.default' }],
      skip: null,
      variant: 'ipvs',
    },
    {
      name: 'drops on node-2',
      index: 1,
      kind: 'http',
      status: 'skipped',
      expected: 'fail: timeout',
      seen: '',
      diagnostics: null,
      durationMs: 0,
      tries: [],
      skip: { because: 'earlier-step-failed' },
      variant: null,
    },
  ],
  phases: [{ name: 'topology', durationMs: 400 }],
};

export const skipped: ScenarioResult = {
  file: 'scenarios/ipvs.yaml',
  name: 'ipvs-nodeport',
  status: 'skipped',
  reason: 'kernel lacks ip_vs (modprobe ip_vs: Module ip_vs not found)',
  durationMs: 3,
  steps: [],
  phases: [],
};

export const results = [passed, failed, skipped];
