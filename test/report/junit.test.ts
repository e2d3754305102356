import t from 'tap';
import { passed, results, skipped } from './samples.js';
import { formatJunit, xmlAttr, xmlText } from '../../src/report/junit.js';
import { createReporter } from '../../src/report/reporter.js';
import type { ScenarioResult } from '../../src/run/types.js';

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
const decode = (s: string) =>
  s.replace(entity, (e) =>
    e === '&amp;'
      ? '&'
      : e === '&lt;'
        ? '<'
        : e === '&gt;'
          ? '>'
          : e === '&quot;'
            ? '"'
            : e === '&apos;'
              ? "'"
              : String.fromCodePoint(Number(e.startsWith('&#x') ? `0x${e.slice(3, -1)}` : e.slice(2, -1))),
  );

/** A small strict XML reader: balanced tags, quoted attributes, no raw `<` or bare `&` anywhere. */
function parseXml(xml: string): Element {
  const decl = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (!xml.startsWith(decl)) throw new Error('no XML declaration');
  const root: Element = { name: '#document', attrs: {}, children: [], text: '' };
  const stack = [root];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  const body = xml.slice(decl.length);
  let m: RegExpExecArray | null;
  let at = 0;
  token.lastIndex = 0;
  while (at < body.length) {
    m = token.exec(body);
    if (!m) throw new Error(`not well-formed at ${at}: ${body.slice(at, at + 40)}`);
    at = token.lastIndex;
    const top = stack.at(-1)!;
    if (m[5] !== undefined) {
      if (m[5].replace(entity, '').includes('&')) throw new Error(`bare & in text: ${m[5]}`);
      if (m[5].includes('>')) throw new Error(`raw > in text: ${m[5]}`);
      top.text += decode(m[5]);
      continue;
    }
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (a[2]!.replace(entity, '').includes('&')) throw new Error(`bare & in attribute ${a[1]}`);
      if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
      attrs[a[1]!] = decode(a[2]!);
    }
    const el: Element = { name: name!, attrs, children: [], text: '' };
    top.children.push(el);
    if (!selfClose) stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (root.children.length !== 1) throw new Error('not exactly one root element');
  return root.children[0]!;
}

const kids = (e: Element | undefined, name: string) => (e?.children ?? []).filter((c) => c.name === name);

t.test('junit: one testsuite per scenario, one testcase per step', async (t) => {
  const doc = parseXml(formatJunit(results));
  t.equal(doc.name, 'testsuites');
  t.match(doc.attrs, { tests: '5', failures: '1', skipped: '2', errors: '0', time: '3.737' });
  const suites = kids(doc, 'testsuite');
  t.equal(suites.length, 3);
  const [p, f, s] = suites;

  t.strictSame(p?.attrs, { name: 'clusterip', file: 'scenarios/clusterip.yaml', tests: '2', failures: '0', errors: '0', skipped: '0', time: '1.234' });
  t.same(
    kids(p, 'testcase').map((c) => [c.attrs.name, c.attrs.classname, c.attrs.time, c.children.length]),
    [
      ['http pod/client -> service/nginx', 'clusterip', '0.045', 0],
      ['dns pod/client nginx.default', 'clusterip', '0.012', 0],
    ],
  );

  t.match(f?.attrs, { name: 'nodeport-local', file: 'scenarios/nodeport-local.yaml', tests: '2', failures: '1', skipped: '1', time: '2.500' });
  const [bad, notRun] = kids(f, 'testcase');
  t.equal(bad?.attrs.name, 'keeps the client IP <&"x"> #1');
  const failure = kids(bad, 'failure')[0];
  t.ok(failure, 'the failed step has a <failure>');
  t.match(failure?.attrs.message, /^expected status 200, sourceIp host\/client \(192\.168\.8\.100\); seen status 200, sourceIp 10\.244\.1\.1/);
  t.equal(
    failure?.text,
    [
      'expected: status 200, sourceIp host/client (192.168.8.100)',
      'seen: status 200, sourceIp 10.244.1.1 (node/node-2@cni0) & "<masqueraded>"',
      'diagnostics: /tmp/knetlab/nodeport-local/step-1',
    ].join('\n'),
  );
  t.equal(kids(notRun, 'skipped').length, 1, 'a step not run is skipped');

  t.match(s?.attrs, { name: 'ipvs-nodeport', file: 'scenarios/ipvs.yaml', tests: '1', failures: '0', skipped: '1' });
  const skippedCase = kids(s, 'testcase')[0];
  t.equal(kids(skippedCase, 'skipped')[0]?.attrs.message, 'kernel lacks ip_vs (modprobe ip_vs: Module ip_vs not found)');
  t.equal(kids(skippedCase, 'failure').length, 0);
});

t.test('junit: <, &, " and friends are escaped in attributes and text', async (t) => {
  const text = formatJunit(results);
  t.match(text, 'name="keeps the client IP &lt;&amp;&quot;x&quot;&gt; #1"');
  t.match(text, '\nseen: status 200, sourceIp 10.244.1.1 (node/node-2@cni0) &amp; "&lt;masqueraded&gt;"\n', 'text content: & and < escaped');
  t.match(
    text,
    'message="expected status 200, sourceIp host/client (192.168.8.100); seen status 200, sourceIp 10.244.1.1 (node/node-2@cni0) &amp; &quot;&lt;masqueraded&gt;&quot;"',
  );
  t.notMatch(text, /<&"x">/);
  t.notMatch(text, /& "<masq/);

  t.equal(xmlText('a < b && c > d ]]>'), 'a &lt; b &amp;&amp; c &gt; d ]]&gt;');
  t.equal(xmlAttr(`say "hi" & 'bye'\n<now>\t`), 'say &quot;hi&quot; &amp; &apos;bye&apos;&#10;&lt;now&gt;&#9;');
  t.equal(xmlText('bell\u0007 nul\u0000 ok\ttab\nnl'), 'bell\uFFFD nul\uFFFD ok\ttab\nnl', 'characters XML forbids are replaced');
  t.equal(xmlText('lone \uD800 pair \uD83D\uDE00'), 'lone \uFFFD pair \uD83D\uDE00');
});

t.test('junit: hostile names and reasons still make a well-formed document', async (t) => {
  const hostile: ScenarioResult = {
    file: 'x/"quoted" & <odd>.yaml',
    name: '</testsuite><evil attr="1">',
    status: 'failed',
    reason: 'topology: <bridge> & "cni0"\nexists\u0001',
    durationMs: 5,
    steps: [],
    phases: [],
  };
  const doc = parseXml(formatJunit([hostile, { ...skipped, reason: null }]));
  const [suite, skip] = kids(doc, 'testsuite');
  t.equal(suite?.attrs.name, '</testsuite><evil attr="1">');
  t.equal(suite?.attrs.file, 'x/"quoted" & <odd>.yaml');
  const testcase = kids(suite, 'testcase');
  t.equal(testcase.length, 1, 'a scenario that failed outside its steps gets one failing testcase');
  t.equal(kids(testcase[0], 'failure')[0]?.attrs.message, 'topology: <bridge> & "cni0"\nexists\uFFFD', 'newlines survive in attributes');
  t.equal(suite?.attrs.failures, '1');
  t.equal(kids(kids(skip, 'testcase')[0], 'skipped').length, 1);
  t.equal(doc.attrs.tests, '2');
});

t.test('junit: no scenarios is an empty testsuites element', async (t) => {
  const doc = parseXml(formatJunit([]));
  t.same(doc.attrs, { name: 'knetlab', tests: '0', failures: '0', errors: '0', skipped: '0', time: '0.000' });
  t.equal(doc.children.length, 0);
});

t.test('junit reporter: nothing live, the document at the end', async (t) => {
  const written: string[] = [];
  const stream = { write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WritableStream;
  const r = createReporter('junit', { stream, color: true, live: true });
  r.event({ type: 'scenario-start', file: passed.file, name: passed.name });
  r.event({ type: 'scenario-end', result: passed });
  t.same(written, []);
  t.equal(r.finish(results), formatJunit(results));
  t.throws(() => parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<a x="1 & 2"/>'), 'the reader rejects a bare &');
  t.throws(() => parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<a><b></a>'), 'and unbalanced tags');
});
