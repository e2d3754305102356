#!/usr/bin/env node
// Runs every example scenario under scenarios/ for real (each in its own sandbox), as
// `knetlab run scenarios` does: as root (through sudo when not root and sudo is there); otherwise
// rootless where the kernel allows it.
import { $ } from 'zx';
import { reexecAsRoot } from './as-root.mjs';

await reexecAsRoot('npm run examples');
$.verbose = false;
const r = await $({ stdio: 'inherit', nothrow: true })`${process.execPath} dist/cli/main.js run --jobs 2 scenarios`;
process.exit(r.exitCode ?? 1);
