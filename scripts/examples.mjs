#!/usr/bin/env node
// Validates every example scenario under scenarios/ and prints each one's plan: every address
// it will use. (Building and running them for real comes with `knetlab run`.)
import { $, glob } from 'zx';

$.verbose = false;
const cli = ['node', 'dist/cli/main.js'];
await $({ stdio: 'inherit' })`${cli} validate scenarios`;
const files = (await glob('scenarios/*.yaml')).sort();
for (const file of files) {
  const out = await $`${cli} plan ${file}`;
  process.stdout.write(`\n${out.stdout}`);
}
process.stdout.write(`\n${files.length} example scenarios validated and planned\n`);
