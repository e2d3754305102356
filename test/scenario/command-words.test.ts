import t from 'tap';
import { formatWord, parseCommandRef, parseWord } from '../../src/scenario/command-words.js';

t.test('a word without references is itself', async (t) => {
  t.same(parseWord('iptables-save'), { ok: true, value: ['iptables-save'] });
  t.same(parseWord(''), { ok: true, value: [''] });
  t.same(parseWord('a}}b'), { ok: true, value: ['a}}b'] }, 'a }} alone is text');
});

t.test('references among text, several in a word, spaces trimmed', async (t) => {
  t.same(parseWord('http://{{service/web:http}}/x'), {
    ok: true,
    value: ['http://', { ref: { form: 'target', ref: { kind: 'service', name: 'web', port: 'http' } }, written: 'service/web:http' }, '/x'],
  });
  t.same(parseWord('{{ pod/web-0.shop }}-{{node/node-1@cni0}}'), {
    ok: true,
    value: [
      { ref: { form: 'address', ref: { kind: 'pod', name: 'web-0', namespace: 'shop' } }, written: 'pod/web-0.shop' },
      '-',
      { ref: { form: 'address', ref: { kind: 'node', name: 'node-1', device: 'cni0' } }, written: 'node/node-1@cni0' },
    ],
  });
});

t.test('the forms: an address alone, a place, or a target with its port', async (t) => {
  t.same(parseCommandRef('service/web'), { ok: true, value: { form: 'address', ref: { kind: 'service', name: 'web' } } });
  t.same(parseCommandRef('host/client'), { ok: true, value: { form: 'address', ref: { kind: 'host', name: 'client' } } });
  t.same(parseCommandRef('deployment/web.shop'), { ok: true, value: { form: 'place', ref: { kind: 'deployment', name: 'web', namespace: 'shop' } } });
  t.same(parseCommandRef('nodeport/web@node-2'), { ok: true, value: { form: 'target', ref: { kind: 'nodeport', name: 'web', node: 'node-2' } } });
  t.same(parseCommandRef('loadbalancer/web'), { ok: true, value: { form: 'target', ref: { kind: 'loadbalancer', name: 'web' } } });
  t.same(parseCommandRef('externalip/web:443'), { ok: true, value: { form: 'target', ref: { kind: 'externalip', name: 'web', port: 443 } } });
  t.same(parseCommandRef('pod/web-0:8080'), { ok: true, value: { form: 'target', ref: { kind: 'pod', name: 'web-0', port: 8080 } } });
  t.same(parseCommandRef('node/node-1:10250'), { ok: true, value: { form: 'target', ref: { kind: 'node', name: 'node-1', port: 10250 } } });
  for (const bad of ['web', 'svc/web', 'service/', '10.0.0.1', 'http://web/', 'nodeport/web', 'node/n1:http', 'service/web:0']) t.equal(parseCommandRef(bad).ok, false, bad);
});

t.test('a {{ that opens no reference is reported, with how to write a literal one', async (t) => {
  t.match(parseWord('{{service/web'), { ok: false, code: 'bad-format', reason: /`\{\{` has no `\}\}` after it; a literal `\{\{` is written `\\\{\{`/ });
  t.match(parseWord('go-template={{.metadata.name}}'), {
    ok: false,
    code: 'bad-address',
    reason: /^`\{\{\.metadata\.name\}\}` is not a reference: expected it to be one of host\/NAME/,
  });
  t.match(parseWord('{{nodeport/web}}'), { ok: false, code: 'bad-address', reason: /to name the node/ });
});

t.test('\\{{ is a literal {{; in a run of braces the last two open the reference', async (t) => {
  t.same(parseWord('go-template=\\{{.metadata.name}}'), { ok: true, value: ['go-template={{.metadata.name}}'] });
  t.same(parseWord('\\{{service/web}}={{service/web}}'), {
    ok: true,
    value: ['{{service/web}}=', { ref: { form: 'address', ref: { kind: 'service', name: 'web' } }, written: 'service/web' }],
  });
  t.same(parseWord('{{{pod/a}}}'), { ok: true, value: ['{', { ref: { form: 'address', ref: { kind: 'pod', name: 'a' } }, written: 'pod/a' }, '}'] });
  t.same(parseWord('a\\b'), { ok: true, value: ['a\\b'] }, 'other backslashes stay');
  for (const w of ['http://{{service/web:http}}/', '\\{{x}} {{pod/a}}', 'plain']) {
    const p = parseWord(w);
    t.equal(p.ok && formatWord(p.value), w, `${w} formats back`);
  }
});
