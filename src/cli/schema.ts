// `knetlab schema [--out FILE]`: the scenario format as a JSON Schema, for editors (src/scenario/json-schema.ts).
import { writeFileSync } from 'node:fs';
import { KnetlabError } from '../errors.js';
import { scenarioJsonSchema } from '../scenario/json-schema.js';

/** The schema as `knetlab schema` prints it (and as schema/scenario.schema.json holds it). */
export const schemaText = (): string => `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;

export function schemaCommand(flags: { out?: string }): number {
  const text = schemaText();
  if (flags.out === undefined) {
    process.stdout.write(text);
    return 0;
  }
  try {
    writeFileSync(flags.out, text);
  } catch (err) {
    throw new KnetlabError('EUSAGE', `--out ${flags.out}: cannot write it (${err instanceof Error ? err.message : String(err)})`);
  }
  return 0;
}
