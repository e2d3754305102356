import t from 'tap';
import { hello } from '../../src/util/hello.js';
t.test('hello', async (t) => { t.equal(hello(), 'hi'); t.ok(true); });
t.test('hello2', async (t) => { t.equal(hello(), 'hi'); });
