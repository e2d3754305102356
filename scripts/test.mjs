#!/usr/bin/env node
// Runs the whole test suite with tap, then counts every assertion tap recorded
// (.tap/test-results holds each file's raw TAP) and prints one plain closing line
// `N passed, N failed, N skipped`, which CI reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'tap-parser';
import { hostState, hostStateChanges } from '../test/host-state.mjs';
import { reexecAsRoot } from './as-root.mjs';

// The tests that build namespaces need root: through sudo when not root and sudo is there.
await reexecAsRoot('npm test');

const resultsDir = '.tap/test-results';
rmSync(resultsDir, { recursive: true, force: true });

// The suite must leave the host as it found it: its network, /run/netns, /run, /tmp, /etc/netns.
const before = hostState();
// knetlab's own state (held scenarios, the feature cache) for the suite alone, removed after it.
const stateDir = mkdtempSync(join(tmpdir(), 'knetlab-test-state-'));
const env = { ...process.env, KNETLAB_STATE_DIR: stateDir, DISABLE_V8_COMPILE_CACHE: '1' }; // ts-node's cache would stay in /tmp
const tap = spawnSync('npx', ['tap', ...process.argv.slice(2)], { stdio: 'inherit', env });
rmSync(stateDir, { recursive: true, force: true });
const changes = hostStateChanges(before, hostState());

function* tapFiles(dir) {
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* tapFiles(path);
    else if (name.endsWith('.tap')) yield path;
  }
}

// Leaf assertions only: a subtest's own summary point is not counted again,
// unless the subtest failed with no failing assertion inside (a throw, a timeout).
function countLeaves(text) {
  const counts = { pass: 0, fail: 0, skip: 0 };
  const walk = (parser) => {
    let failsBefore = 0;
    let childPending = false;
    parser.on('child', (child) => {
      childPending = true;
      failsBefore = counts.fail;
      walk(child);
    });
    parser.on('assert', (res) => {
      if (childPending) {
        childPending = false;
        if (!res.ok && !res.todo && !res.skip && counts.fail === failsBefore) counts.fail++;
        return;
      }
      if (res.skip || res.todo) counts.skip++;
      else if (res.ok) counts.pass++;
      else counts.fail++;
    });
  };
  const parser = new Parser();
  walk(parser);
  parser.end(text);
  return counts;
}

const total = { pass: 0, fail: 0, skip: 0 };
let files = 0;
for (const file of tapFiles(resultsDir)) {
  files++;
  const c = countLeaves(readFileSync(file, 'utf8'));
  total.pass += c.pass;
  total.fail += c.fail;
  total.skip += c.skip;
}
if (tap.status !== 0 && total.fail === 0) total.fail = 1; // tap failed outside any assertion
// The host check counts as one assertion per aspect.
const aspects = Object.keys(before).length;
console.log(
  changes.length
    ? `not ok - the suite left the host as it found it:\n${changes.map((c) => `  # ${c}`).join('\n')}`
    : `ok - the suite left the host as it found it (${Object.keys(before).join(', ')})`,
);
total.fail += changes.length;
total.pass += aspects - changes.length;
if (files === 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
console.log(`${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`);
process.exit(changes.length ? 1 : (tap.status ?? 1));
