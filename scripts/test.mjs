#!/usr/bin/env node
// Runs the whole test suite with tap, then counts every assertion tap recorded
// (.tap/test-results holds each file's raw TAP) and prints one plain closing line
// `N passed, N failed, N skipped`, which CI reads.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from 'tap-parser';

const resultsDir = '.tap/test-results';
rmSync(resultsDir, { recursive: true, force: true });

const tap = spawnSync('npx', ['tap', ...process.argv.slice(2)], { stdio: 'inherit' });

function* tapFiles(dir) {
  let names = [];
  try { names = readdirSync(dir); } catch { return; }
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
    parser.on('child', (child) => { childPending = true; failsBefore = counts.fail; walk(child); });
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
  total.pass += c.pass; total.fail += c.fail; total.skip += c.skip;
}
if (tap.status !== 0 && total.fail === 0) total.fail = 1; // tap failed outside any assertion
if (files === 0) { console.log('0 passed, 1 failed'); process.exit(1); }
console.log(`${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`);
process.exit(tap.status ?? 1);
