// A small XML well-formedness check for the SVGs knetlab writes (no XML parser among the dependencies):
// one root element, tags nested and closed, attributes quoted and unique, every & an entity, every
// character one XML 1.0 allows. Returns the first problem, or undefined.
const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;
const BAD_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblem(s: string, at: number): string | undefined {
  const bad = BAD_CHAR.exec(s);
  if (bad) return `a character XML does not allow (U+${bad[0].charCodeAt(0).toString(16)}) at ${at + bad.index}`;
  for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) if (!ENTITY.test(s.slice(i))) return `a bare & at ${at + i}`;
  if (s.includes('<')) return `a bare < at ${at + s.indexOf('<')}`;
  return undefined;
}

export function xmlProblem(xml: string): string | undefined {
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    const p = textProblem(text, i);
    if (p) return p;
    if (text.includes(']]>')) return `]]> in text at ${i}`;
    if (stack.length === 0 && text.trim() !== '') return `text outside the root element at ${i}`;
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) return `a tag not closed at ${lt}`;
    let tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) return `</${name}> at ${lt} closes <${open ?? 'nothing'}>`;
    } else {
      const selfClosing = tag.endsWith('/');
      if (selfClosing) tag = tag.slice(0, -1);
      const name = NAME.exec(tag)?.[0];
      if (!name) return `a tag without a name at ${lt}`;
      let rest = tag.slice(name.length);
      const seen = new Set<string>();
      while (rest.trim() !== '') {
        const m = /^\s+([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(rest);
        if (!m) return `a malformed attribute in <${name}> at ${lt}: ${rest.slice(0, 40)}`;
        if (seen.has(m[1]!)) return `attribute ${m[1]} twice in <${name}> at ${lt}`;
        seen.add(m[1]!);
        const vp = textProblem(m[2] ?? m[3] ?? '', lt);
        if (vp) return `in attribute ${m[1]} of <${name}>: ${vp}`;
        rest = rest.slice(m[0].length);
      }
      if (stack.length === 0 && ++roots > 1) return `a second root element at ${lt}`;
      if (!selfClosing) stack.push(name);
    }
    i = gt + 1;
  }
  if (stack.length) return `<${stack.at(-1)}> never closed`;
  return roots === 1 ? undefined : 'no root element';
}
