import t from 'tap';
import { parseYaml } from '../../src/scenario/source.js';

const text = `a:
  b: 1
  list:
    - x: hello
    - {y: 2}
c:
d: "text"
`;

t.test('every value and key is found again by its path (1-based line and column)', async (t) => {
  const { docs, problems } = parseYaml('f.yaml', text);
  t.same(problems, []);
  const doc = docs[0]!;
  t.same(doc.locate(['a', 'b']), { file: 'f.yaml', line: 2, col: 6 });
  t.same(doc.locate(['a', 'b'], { key: true }), { file: 'f.yaml', line: 2, col: 3 });
  t.same(doc.locate(['a', 'list', 0, 'x']), { file: 'f.yaml', line: 4, col: 10 });
  t.same(doc.locate(['a', 'list', 1, 'y']), { file: 'f.yaml', line: 5, col: 11 });
  t.same(doc.locate(['c']), { file: 'f.yaml', line: 6, col: 1 }, 'a key without a value points at the key');
  t.same(doc.locate(['a', 'list', 7, 'z']), { file: 'f.yaml', line: 4, col: 5 }, 'a missing path points at the nearest parent');
  t.same(doc.value(), { a: { b: 1, list: [{ x: 'hello' }, { y: 2 }] }, c: null, d: 'text' });
});

t.test('syntax errors and duplicate keys are problems at their place; documents are split', async (t) => {
  const dup = parseYaml('g.yaml', 'a: 1\na: 2\n');
  t.equal(dup.problems.length, 1);
  t.equal(dup.problems[0]!.message, 'YAML: the key `a` appears twice in one mapping');
  t.same(dup.problems[0]!.location, { file: 'g.yaml', line: 2, col: 1 });
  const bad = parseYaml('h.yaml', 'a: [1, 2\nb: 3\n');
  t.ok(bad.problems.length >= 1);
  t.equal(bad.problems[0]!.location?.file, 'h.yaml');
  const multi = parseYaml('m.yaml', 'a: 1\n---\nb: 2\n---\n');
  t.equal(multi.docs.length, 2, 'an empty last document is passed over');
  t.same(multi.docs[1]!.locate(['b']), { file: 'm.yaml', line: 3, col: 4 });
});

t.test('a document over the limits is refused at its place, before the parser spends time on it', async (t) => {
  const deep = parseYaml('d.yaml', `a: 1\nb: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
  t.same(deep.docs, []);
  t.same(
    deep.problems.map((p) => [p.message, p.location?.line, p.location?.col]),
    [['YAML: lists and mappings are nested more than 64 deep', 2, 68]],
  );
  const block = parseYaml('b.yaml', `x:\n${Array.from({ length: 100 }, (_, i) => `${' '.repeat(i + 1)}- \n`).join('')}`);
  t.match(block.problems[0]?.message, /nested more than 64 deep/, 'block nesting is bounded too');
  const docs = parseYaml('m.yaml', 'a: 1\n---\n'.repeat(1001));
  t.match(docs.problems[0], { message: 'YAML: the file holds more than 1000 documents', location: { line: 2000 } });
  const budget = { left: 20 };
  const many = parseYaml('k.yaml', 'a: 1\nb: 2\nc: 3\nd: 4\n', budget);
  t.match(many.problems[0], { message: /more than 60000 YAML tokens/, location: { line: 3 } });
  t.ok(budget.left < 0, 'the budget is spent');
});

t.test('aliases are bounded: a billion laughs is a problem at its first alias, not a crash', async (t) => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((x, i) => `${x}: &${x} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');
  const r = parseYaml('bomb.yaml', bomb);
  t.same(r.docs, []);
  t.same(
    r.problems.map((p) => [p.message, p.location?.line, p.location?.col]),
    [['YAML: aliases repeat anchored values more than 100 times (an alias bomb?); write the values out', 2, 8]],
  );
  t.same(parseYaml('ok.yaml', 'a: &a {x: 1}\nb: *a\n').docs[0]!.value(), { a: { x: 1 }, b: { x: 1 } }, 'a few aliases are fine');
});

t.test('a __proto__ key is reported at its place, never dropped silently', async (t) => {
  const r = parseYaml('p.yaml', 'labels:\n  app: web\n  __proto__: x\n');
  t.same(
    r.problems.map((p) => [p.message, p.location?.line, p.location?.col]),
    [['The key `__proto__` is not allowed: no field, label, annotation or header may be named so (JavaScript would drop it)', 3, 3]],
  );
});

t.test('duplicate keys are found in linear time', async (t) => {
  const keys = (n: number) => `${Array.from({ length: n }, (_, i) => `k${i}: x\n`).join('')}k0: again\n`;
  const small = performance.now();
  parseYaml('s.yaml', keys(1000), { left: 1e9 });
  const smallMs = performance.now() - small;
  const big = performance.now();
  const r = parseYaml('b.yaml', keys(8000), { left: 1e9 });
  const bigMs = performance.now() - big;
  t.same(
    r.problems.map((p) => [p.message, p.location?.line]),
    [['YAML: the key `k0` appears twice in one mapping', 8001]],
  );
  // 8 times the keys: about 8 times the time when linear, 64 when quadratic (yaml's uniqueKeys was).
  t.ok(bigMs < 25 * smallMs + 200, `8000 keys took ${Math.round(bigMs)} ms, 1000 keys ${Math.round(smallMs)} ms`);
});
