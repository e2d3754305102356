// @ts-check
// The same library from node:test (types checked through JSDoc by `npm run typecheck`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withLab } from 'knetlab';

const scenario = new URL('../scenarios/source-ip.yaml', import.meta.url).pathname;

test('a pod reaches its Service by ClusterIP, and a port nobody serves is refused', async () => {
  await withLab(scenario, async (lab) => {
    const ok = await lab.tcp({ from: 'node/node-2', to: 'service/web:80' }, { expect: { connect: true } });
    assert.equal(ok.status, 'passed', ok.seen);
    const refused = await lab.tcp({ from: 'node/node-2', to: 'pod/web:81' }, { expect: { connect: false } });
    assert.equal(refused.status, 'passed', refused.seen);
  });
});
