#!/usr/bin/env node
// Runs every example scenario under scenarios/ for real (each in its own sandbox), as
// `knetlab run scenarios` does; without root, it runs them rootless where the kernel allows it.
import { $ } from 'zx';

$.verbose = false;
const r = await $({ stdio: 'inherit', nothrow: true })`node dist/cli/main.js run --jobs 2 scenarios`;
process.exit(r.exitCode ?? 1);
