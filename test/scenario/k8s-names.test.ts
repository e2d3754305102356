import t from 'tap';
import { annotationMap, labelValueOk, qualifiedNameProblem } from '../../src/scenario/k8s-names.js';

t.test('label and annotation keys: [DNS subdomain prefix /] name of at most 63', async (t) => {
  for (const k of ['app', 'app.kubernetes.io/name', 'kubernetes.io/hostname', 'A_b-c.D', 'x/y', 'a'.repeat(63)]) t.equal(qualifiedNameProblem(k), undefined, k);
  t.match(qualifiedNameProblem('a/b/c'), /one \/ at most/);
  t.match(qualifiedNameProblem('/name'), /prefix/);
  t.match(qualifiedNameProblem('Example.com/x'), /prefix/);
  t.match(qualifiedNameProblem(`${'p'.repeat(254)}/x`), /prefix/);
  for (const k of ['', '-a', 'a-', '_a', 'a b', '__proto__', 'a'.repeat(64), 'x/']) t.match(qualifiedNameProblem(k), /name must be/, JSON.stringify(k));
});

t.test('label values: empty, or at most 63 of letters, digits, -, _ and ., alphanumeric at the ends', async (t) => {
  for (const v of ['', 'a', 'v1.2_3-x', 'A'.repeat(63)]) t.ok(labelValueOk(v), JSON.stringify(v));
  for (const v of ['-a', 'a.', 'a b', 'a/b', 'A'.repeat(64), 'é']) t.notOk(labelValueOk(v), JSON.stringify(v));
});

t.test("annotations: qualified keys, any values, at most 256 KB together (the API server's limit)", async (t) => {
  t.ok(annotationMap.safeParse({ 'example.com/note': 'anything at all: / " \n' }).success);
  t.notOk(annotationMap.safeParse({ 'a b': 'x' }).success);
  const big = annotationMap.safeParse({ a: 'x'.repeat(256 * 1024) });
  t.notOk(big.success);
  t.match(big.error?.issues[0]?.message, /at most 256 KB together/);
});
