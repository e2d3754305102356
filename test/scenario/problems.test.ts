import t from 'tap';
import { Problems, quote, safeMessage, shape, show } from '../../src/scenario/problems.js';

t.test('messages are one line: control characters written as escapes', async (t) => {
  t.equal(safeMessage('a\nb\r\tc\u0000d\u2028e'), 'a\\nb\\r\\tc\\u0000d\\u2028e');
  t.equal(safeMessage('x'.repeat(5000)).length, 1001, 'and bounded');
});

t.test('a quoted value is cut short; a shape never shows the value', async (t) => {
  t.equal(quote('short'), '`short`');
  t.equal(quote('y'.repeat(500)), `\`${'y'.repeat(80)}…\``);
  t.equal(show('z'.repeat(500)), `\`${'z'.repeat(80)}…\``);
  t.equal(shape('secret'), 'text');
  t.equal(shape(42), 'a number');
  t.equal(shape([1]), 'a list');
  t.equal(shape({ a: 1 }), 'a mapping');
  t.equal(shape(null), 'nothing');
});

t.test('Problems counts errors as they come', async (t) => {
  const p = new Problems();
  p.error('bad-format', { file: 'f', line: 1, col: 1 }, 'one');
  p.warn('ignored-field', { file: 'f', line: 2, col: 1 }, 'two');
  p.push({ code: 'yaml-syntax', severity: 'error', message: 'three\nlines' });
  t.equal(p.errorCount, 2);
  t.equal(p.list[2]!.message, 'three\\nlines');
});
