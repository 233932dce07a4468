/**
 * Split a model reply into prose, `<execute>` blocks and the `<solution>`,
 * for display. It follows the server's parser (codeact_lab/agent/parser.py)
 * closely enough that the n-th non-empty `<execute>` block is the action of
 * index n of that turn, and it tolerates a reply still streaming in.
 */

export type Segment =
  | { kind: 'text'; text: string }
  | {
      kind: 'execute';
      code: string;
      /** The action index of this block in its turn (empty blocks get none). */
      index: number | null;
      closed: boolean;
    }
  | { kind: 'solution'; text: string; closed: boolean };

const TAG = /<(\/?)(execute|solution)>/gi;

/**
 * The code of an `<execute>` block as the server runs it: blank edges trimmed
 * and a ``` fence inside the tags dropped.
 */
export function cleanCode(code: string): string {
  let lines = code
    .replace(/\r\n/g, '\n')
    .replace(/^\n+|\n+$/g, '')
    .split('\n');
  if (lines.length && lines[0].trim().startsWith('```')) {
    lines = lines.slice(1);
    if (lines.length && lines[lines.length - 1].trim() === '```') {
      lines = lines.slice(0, -1);
    }
  }
  return lines.join('\n').replace(/\s+$/, '');
}

/**
 * While a reply streams, hide a tag cut in the middle (`<exec`), which
 * would otherwise flash as text.
 */
function dropPartialTag(text: string): string {
  const m = /<\/?[a-z]*$/i.exec(text);
  if (!m) {
    return text;
  }
  const partial = m[0].toLowerCase();
  const tags = ['<execute>', '</execute>', '<solution>', '</solution>'];
  return tags.some(t => t.startsWith(partial)) ? text.slice(0, m.index) : text;
}

/**
 * A `<solution>` never closed, around a whole `<execute>` block, is small
 * models' reasoning with the action in it: the action runs, so it shows as one
 * (the same rule as the server's parser.py). The tag alone is dropped.
 */
function withoutSolutionAroundAction(text: string): string {
  const open = /<solution>/i.exec(text);
  if (!open) {
    return text;
  }
  const rest = text.slice(open.index + open[0].length);
  if (
    /<\/solution>/i.test(rest) ||
    !/<execute>[\s\S]*?<\/execute>/i.test(rest)
  ) {
    return text;
  }
  return text.slice(0, open.index) + rest;
}

export function splitReply(text: string, streaming = false): Segment[] {
  const source = withoutSolutionAroundAction(
    streaming ? dropPartialTag(text) : text
  );
  const segments: Segment[] = [];
  let pos = 0;
  let actionIndex = 0;
  let open: { kind: 'execute' | 'solution'; start: number } | null = null;
  const pushText = (end: number) => {
    const chunk = source.slice(pos, end);
    if (chunk.trim()) {
      segments.push({ kind: 'text', text: chunk });
    }
  };
  const pushBlock = (
    kind: 'execute' | 'solution',
    body: string,
    closed: boolean
  ) => {
    if (kind === 'solution') {
      segments.push({ kind, text: body.trim(), closed });
      return;
    }
    const code = cleanCode(body);
    const index = code.trim() ? actionIndex++ : null;
    segments.push({ kind, code, index, closed });
  };

  TAG.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TAG.exec(source)) !== null) {
    const closing = m[1] === '/';
    const kind = m[2].toLowerCase() as 'execute' | 'solution';
    if (open === null) {
      if (closing) {
        continue; // a stray close tag: leave it in the prose
      }
      pushText(m.index);
      open = { kind, start: m.index + m[0].length };
      pos = open.start;
    } else if (closing && kind === open.kind) {
      pushBlock(open.kind, source.slice(open.start, m.index), true);
      open = null;
      pos = m.index + m[0].length;
    } else if (!closing && kind === 'execute' && open.kind === 'execute') {
      // A second <execute> before the close: the first was never closed.
      pushBlock('execute', source.slice(open.start, m.index), false);
      open = { kind, start: m.index + m[0].length };
      pos = open.start;
    }
  }
  if (open !== null) {
    pushBlock(open.kind, source.slice(open.start), false);
  } else {
    pushText(source.length);
  }
  return segments;
}
