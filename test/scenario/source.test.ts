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
