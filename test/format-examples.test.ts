// The YAML examples of SCENARIO_FORMAT.md, made into complete scenarios under
// test/fixtures/format/, must stay valid, and must keep the document's step lines verbatim: the
// contract says everything written there works exactly as written.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { formatProblem } from '../src/errors.js';
import { scenarioFiles, validateScenario } from '../src/validate.js';

const fixtureDir = 'test/fixtures/format';
const fixture = `${fixtureDir}/nodeport-local.yaml`;
/** The contract as this repository keeps it (test/docs.test.ts checks it against the original). */
const repoDoc = 'docs/SCENARIO_FORMAT.md';
/** The original contract, beside the checkout in CI and for the developers (not for Vagrant users). */
const sharedDoc = '../shared/SCENARIO_FORMAT.md';

/** The first ```yaml block after the heading `## TITLE`, as lines. */
function yamlBlock(doc: string, title: string): string[] {
  const at = doc.indexOf(`\n## ${title}\n`);
  if (at < 0) throw new Error(`no section "## ${title}"`);
  const m = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at));
  if (!m) throw new Error(`no yaml block in section "## ${title}"`);
  return m[1]!.split('\n').filter((l) => l.trim() !== '');
}

/** The apply step's object is `...` in the document: the fixture must fill it in, keeping the rest of the line. */
const isApplyPlaceholder = (line: string) => line.startsWith('- apply:') && line.includes('...');

/** Lines of block that are not, verbatim, lines of text; a placeholder line must be there with its `...` filled in. */
function missingLines(block: readonly string[], text: string): string[] {
  const lines = new Set(text.split('\n'));
  return block.filter((line) => {
    if (!isApplyPlaceholder(line)) return !lines.has(line);
    const [before, after] = [line.slice(0, line.indexOf('...')), line.slice(line.indexOf('...') + 3)];
    return ![...lines].some((l) => l.startsWith(before) && l.endsWith(after) && l.length > before.length + after.length && !l.includes('...'));
  });
}

/**
 * Where the fixture must differ from the "Whole file" example, and why: the example's own lines
 * that are not in the fixture (in document order), each with the line that stands in its place.
 */
const wholeFileChanges: Record<string, { replacedBy: string; why: string }> = {
  '    spec: {selector: {app: nginx}, ports: [{port: 80}]}': {
    replacedBy: '    spec: {type: NodePort, selector: {app: nginx}, ports: [{port: 80}]}',
    why: 'the steps reach nodeport/nginx@node-2 and patch externalTrafficPolicy, which a ClusterIP Service has neither of',
  },
  '  - ...': { replacedBy: "- http:                            # curl, run in the source's namespace", why: 'the placeholder is filled with the steps of "## Steps"' },
};

const text = readFileSync(fixture, 'utf8');

t.test('every fixture made from the format document is a valid scenario', async (t) => {
  const files = await scenarioFiles([fixtureDir]);
  t.ok(files.includes(fixture), `${fixture} is among them`);
  for (const file of files) {
    const v = await validateScenario(file);
    t.same(v.problems.filter((p) => p.severity === 'error').map(formatProblem), [], `${file}: no errors`);
    t.same(v.problems.map(formatProblem), [], `${file}: no warnings`);
    t.ok(v.model, `${file}: the cluster resolves`);
    t.equal(
      v.scenario?.steps.length,
      yamlBlock(readFileSync(repoDoc, 'utf8'), 'Steps').filter((l) => l.startsWith('- ')).length,
      `${file}: every step of the document is a step here`,
    );
  }
});

t.test(`every line of the steps block of ${repoDoc} is in the fixture verbatim`, async (t) => {
  const steps = yamlBlock(readFileSync(repoDoc, 'utf8'), 'Steps');
  t.ok(steps.length >= 20, `the steps block has ${steps.length} lines`);
  t.ok(steps.some(isApplyPlaceholder), 'the apply step is the one placeholder');
  t.same(missingLines(steps, text), [], 'no line of the steps block is missing or changed');
});

t.test(`the "Whole file" example of ${repoDoc} is in the fixture, but for the listed changes`, async (t) => {
  const whole = yamlBlock(readFileSync(repoDoc, 'utf8'), 'Whole file');
  const missing = missingLines(whole, text);
  t.same(missing, Object.keys(wholeFileChanges), 'only the lines that had to change are not there verbatim');
  for (const [line, change] of Object.entries(wholeFileChanges)) {
    t.ok(whole.includes(line), `the document still has \`${line.trim()}\``);
    t.ok(
      text.split('\n').some((l) => l.startsWith(change.replacedBy)),
      `in its place: \`${change.replacedBy.trim()}\` (${change.why})`,
    );
  }
});

const sharedMissing = existsSync(sharedDoc)
  ? undefined
  : `${sharedDoc} is not beside this checkout (CI and the developers have it, Vagrant users do not), so the fixture cannot be compared with the original`;

t.test(`the steps block re-extracted from ${sharedDoc} is still in the fixture`, { skip: sharedMissing ?? false }, async (t) => {
  const original = readFileSync(sharedDoc, 'utf8');
  const steps = yamlBlock(original, 'Steps');
  t.same(missingLines(steps, text), [], 'the fixture has not drifted from the contract');
  t.same(yamlBlock(readFileSync(repoDoc, 'utf8'), 'Steps'), steps, `${repoDoc} has the contract's steps block`);
  const whole = yamlBlock(original, 'Whole file');
  t.same(missingLines(whole, text), Object.keys(wholeFileChanges), 'nor from its "Whole file" example');
});
