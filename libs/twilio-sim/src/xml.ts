/** A parsed XML element: just what TwiML needs (no namespaces, no DTDs). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside this element, entities decoded, trimmed. */
  text: string;
}

export class XmlError extends Error {
  override name = "XmlError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(s: string, at: number): string {
  return s.replace(/&([^;&\s]*);?/g, (m, name: string, off: number) => {
    if (!m.endsWith(";")) throw new XmlError("unescaped '&' (write &amp;)", at + off);
    if (name.startsWith("#x")) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(parseInt(name.slice(1), 10));
    const e = entities[name];
    if (e === undefined) throw new XmlError(`unknown entity &${name};`, at + off);
    return e;
  });
}

/**
 * Strict, tiny XML parser: one root element, well-formed nesting, quoted attributes, the five
 * predefined entities and character references. A raw `&` is an error, as in any XML parser
 * (the classic TwiML bug: `?a=1&b=2` in a Stream url).
 */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  while (i < src.length) {
    if (src.startsWith("<?", i)) {
      const end = src.indexOf("?>", i);
      if (end < 0) throw new XmlError("unterminated processing instruction", i);
      i = end + 2;
    } else if (src.startsWith("<!--", i)) {
      const end = src.indexOf("-->", i);
      if (end < 0) throw new XmlError("unterminated comment", i);
      i = end + 3;
    } else if (src.startsWith("<![CDATA[", i)) {
      const end = src.indexOf("]]>", i);
      if (end < 0 || !stack.length) throw new XmlError("bad CDATA section", i);
      stack[stack.length - 1]!.text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith("<!", i)) {
      throw new XmlError("DOCTYPE not allowed", i);
    } else if (src.startsWith("</", i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(src.slice(i));
      const top = stack.pop();
      if (!m || !top || top.name !== m[1]) throw new XmlError(`mismatched closing tag ${m?.[1] ?? ""}`, i);
      top.text = top.text.trim();
      i += m[0].length;
    } else if (src[i] === "<") {
      const m = /^<([A-Za-z_][\w.:-]*)/.exec(src.slice(i));
      if (!m) throw new XmlError("bad tag", i);
      if (root && !stack.length) throw new XmlError("more than one root element", i);
      const el: XmlElement = { name: m[1]!, attrs: {}, children: [], text: "" };
      i += m[0].length;
      const parent = stack[stack.length - 1];
      for (;;) {
        skipWs();
        if (src.startsWith("/>", i)) {
          i += 2;
          break;
        }
        if (src[i] === ">") {
          i++;
          stack.push(el);
          break;
        }
        const a = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(src.slice(i));
        if (!a) throw new XmlError(`bad attribute in <${el.name}>`, i);
        el.attrs[a[1]!] = decode(a[3] ?? a[4] ?? "", i);
        i += a[0].length;
      }
      parent?.children.push(el);
      if (!root) root = el;
    } else {
      const next = src.indexOf("<", i);
      const end = next < 0 ? src.length : next;
      const chunk = src.slice(i, end);
      if (!stack.length) {
        if (chunk.trim()) throw new XmlError("text outside the root element", i);
      } else stack[stack.length - 1]!.text += decode(chunk, i);
      i = end;
    }
  }
  if (stack.length) throw new XmlError(`unclosed <${stack[stack.length - 1]!.name}>`, src.length);
  if (!root) throw new XmlError("no root element", 0);
  return root;
}
