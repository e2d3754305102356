// The one table of step kinds: a kind is its module in this folder and its line here. The compiler
// checks that every name of stepKindNames (src/scenario/schema.ts) has a module with every part.
import type { StepKindName } from '../../scenario/schema.js';
import type { Step } from '../../scenario/steps.js';
import type { StepKindDef } from '../kind.js';
import { apply } from './apply.js';
import { del } from './delete.js';
import { dns } from './dns.js';
import { exec } from './exec.js';
import { flows } from './flows.js';
import { http } from './http.js';
import { link } from './link.js';
import { patch } from './patch.js';
import { ping } from './ping.js';
import { reboot } from './reboot.js';
import { restart } from './restart.js';
import { resync } from './resync.js';
import { scale } from './scale.js';
import { sleep } from './sleep.js';
import { tcp } from './tcp.js';
import { udp } from './udp.js';

export const stepKinds = {
  http,
  tcp,
  udp,
  ping,
  dns,
  apply,
  patch,
  delete: del,
  scale,
  link,
  exec,
  sleep,
  resync,
  flows,
  restart,
  reboot,
  // biome-ignore lint/suspicious/noExplicitAny: each kind's own result and context types (checked in its module) are wildcards here
} satisfies { [K in StepKindName]: StepKindDef<K, unknown, any, any> };

/** A step's kind module, for the callers every kind shares (a step has its kind's fields, as read). */
export function kindOf(step: Step): StepKindDef<StepKindName, unknown> {
  return stepKinds[step.kind] as StepKindDef<StepKindName, unknown>;
}

/** A step's name in reports: its own, or what it does. */
export function stepName(step: Step): string {
  return step.name || kindOf(step).describe(step);
}
