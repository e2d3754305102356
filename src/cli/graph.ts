// `knetlab graph [FILE]`: the topology of a scenario (or of the held one) as SVG or Mermaid. Builds the
// model as `plan` does, without root; the drawing is src/report/graph-*.ts.
import { writeFileSync } from 'node:fs';
import { KnetlabError } from '../errors.js';
import { graphMermaid } from '../report/graph-mermaid.js';
import { graphOf } from '../report/graph-model.js';
import { graphSvg } from '../report/graph-svg.js';
import { findHeld, listHeld } from '../run/hold.js';
import { loadModel, type ValidateOptions } from '../validate.js';
import type { Problem } from '../errors.js';

export const graphFormats = ['svg', 'mermaid'] as const;
export type GraphFormat = (typeof graphFormats)[number];

export interface GraphFlags {
  output: string;
  out?: string;
  scenario?: string;
}

/** The drawing of a scenario file, or of the held scenario's file; warnings go to `warn`. */
export async function graphCommand(file: string | undefined, flags: GraphFlags, validation: ValidateOptions, warn: (p: readonly Problem[]) => void): Promise<number> {
  if (!(graphFormats as readonly string[]).includes(flags.output)) throw new KnetlabError('EUSAGE', `--output must be one of ${graphFormats.join(', ')}, got ${flags.output}`);
  if (file !== undefined && flags.scenario !== undefined) throw new KnetlabError('EUSAGE', 'name a scenario FILE or a held scenario (--scenario), not both');
  if (file === undefined && listHeld().length === 0) throw new KnetlabError('EUSAGE', 'name a scenario FILE (no scenario is held by `knetlab up` to draw instead)');
  // Without a file: the held scenario, as `up` built it from its file (a held scenario runs no steps).
  const v = await loadModel(file ?? findHeld(flags.scenario).file, validation);
  warn(v.problems);
  const g = graphOf(v.model);
  const text = (flags.output as GraphFormat) === 'mermaid' ? graphMermaid(g) : graphSvg(g);
  if (flags.out) writeDrawing(flags.out, text, '--out');
  else process.stdout.write(text);
  return 0;
}

/** Writes a drawing to the file a user named; a file that cannot be written is a usage error naming it. */
export function writeDrawing(path: string, text: string, option: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw new KnetlabError('EUSAGE', `${option} ${path}: cannot write it (${err instanceof Error ? err.message : String(err)})`);
  }
}
