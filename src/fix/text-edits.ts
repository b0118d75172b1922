// Edits made to the source text itself, at the positions the parser gives each node, so that
// every byte around them (comments, blank lines, spacing, indentation, quoting, number and
// date spellings, directives) stays as written. Nothing is ever re-serialised: block and flow
// mappings, JSON included, get a value replaced, a pair inserted or a pair removed. A shape that
// allows none of these is a CannotEdit naming its position, never a silent rewrite.

import { isAlias, isMap, isScalar, Scalar, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { ENTRY_FIELDS, type ContainerList } from '../engine/types.js';
import { detachAliases } from './anchors.js';
import type { DocumentOp } from './fix-objects.js';
import { insertPair, removePair, type Source } from './pair-edits.js';
import { findPair, walk } from './yaml-nodes.js';

export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** A change the text cannot take without changing something else; `offset` is where, for the message. */
export class CannotEdit extends Error {
  constructor(
    readonly offset: number,
    message: string,
    /** What the user can do, when it is not "set the pull policies by hand". */
    readonly remedy?: string,
  ) {
    super(message);
  }
}

/** The line ending most lines of `source` use: one CRLF in a string does not make a file CRLF. */
export function dominantNewline(source: string): '\n' | '\r\n' {
  let crlf = 0;
  let lf = 0;
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) {
    if (source.charCodeAt(i - 1) === 13) crlf++;
    else lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/** A policy written in the style of the scalar it replaces: `"Always"` stays double-quoted. */
function render(value: string, node: Scalar, newline: string, source: string): string {
  switch (node.type) {
    case Scalar.QUOTE_DOUBLE:
      return JSON.stringify(value);
    case Scalar.QUOTE_SINGLE:
      return `'${value.replace(/'/g, "''")}'`;
    case Scalar.BLOCK_FOLDED:
    case Scalar.BLOCK_LITERAL: {
      // A block scalar's span runs to the end of its last line: the plain value ends the line instead.
      const end = node.range?.[1] ?? 0;
      return source[end - 1] === '\n' ? value + newline : value;
    }
    default:
      return value;
  }
}

const LISTS = Object.keys(ENTRY_FIELDS) as ContainerList[];

/**
 * The key a new field goes under in its mapping: `imagePullPolicy` right under `image`, an image
 * volume's `pullPolicy` right under `reference` (where readers and `kubectl explain` expect
 * them); undefined for anything else, which goes after the mapping's last pair.
 */
export function insertionAnchor(path: readonly string[]): string | undefined {
  for (let i = path.length - 2; i >= 0; i--) {
    const list = path[i] as ContainerList;
    if (!LISTS.includes(list) || !/^\d+$/.test(path[i + 1] ?? '')) continue;
    const { image, pullPolicy } = ENTRY_FIELDS[list];
    const rel = path.slice(i + 2);
    const sameParent = image.slice(0, -1).join('/') === pullPolicy.slice(0, -1).join('/');
    return sameParent && rel.join('/') === pullPolicy.join('/') ? image.at(-1) : undefined;
  }
  return undefined;
}

function describeAlias(alias: Node): string {
  return `*${(alias as unknown as { source: string }).source}`;
}

/**
 * The textual edits for one document's operations. Throws CannotEdit where the value to change
 * is shared with other places (an alias on the way, a key that only a merge key provides).
 */
export function textEdits(doc: Document.Parsed, src: Source, ops: readonly DocumentOp[]): TextEdit[] {
  const edits: TextEdit[] = [];
  const edited = new Set<Node>();
  const anchored: Scalar[] = [];
  const touch = (node: unknown): void => {
    if (!isScalar(node) && !isAlias(node)) return;
    edited.add(node);
    if (isScalar(node) && node.anchor) anchored.push(node);
  };
  for (const op of ops) {
    const key = op.path.at(-1);
    if (key === undefined) throw new CannotEdit(doc.range[0], 'cannot replace a whole document');
    const found = walk(doc, op.path.slice(0, -1));
    const parent = found.node;
    if (found.alias) {
      const at = found.alias.range?.[0] ?? doc.range[0];
      // A whole entry written as an alias (`- *app`): merging it keeps the anchor's other users as they are.
      if (isAlias(parent) && parent === found.alias && op.op !== 'remove' && typeof op.value === 'string' && found.alias.range) {
        const [start, end] = found.alias.range;
        edits.push({ start, end, text: `{<<: ${describeAlias(parent)}, ${key}: ${op.value}}` });
        continue;
      }
      throw new CannotEdit(at, `${op.path.join('.')} comes through the alias ${describeAlias(found.alias)}; changing it would change every copy`);
    }
    if (!isMap(parent) || !parent.range) throw new CannotEdit(doc.range[0], `${op.path.slice(0, -1).join('.')} is not a mapping`);
    const pair = findPair(parent, key) as Pair<Node, Node | null> | undefined;
    if (op.op === 'remove') {
      if (!pair) {
        throw new CannotEdit(parent.range[0], `${key} comes from a merge key (<<) shared with other mappings; remove it there by hand`);
      }
      touch(pair.value);
      edits.push(removePair(src, parent as YAMLMap<Node, Node | null>, pair));
      continue;
    }
    if ((op.op !== 'add' && op.op !== 'replace') || typeof op.value !== 'string') {
      throw new CannotEdit(parent.range[0], `unexpected change ${op.op} of ${op.path.join('.')}`);
    }
    const value = pair?.value;
    if (value && (isScalar(value) || isAlias(value)) && value.range) {
      touch(value);
      const text = isScalar(value) ? render(op.value, value, src.newline, src.text) : op.value;
      edits.push({ start: value.range[0], end: value.range[1], text });
      continue;
    }
    if (pair) throw new CannotEdit(parent.range[0], `${key} holds a collection, not a pull policy`);
    // Absent, or present only through a merge key: a pair of the mapping's own wins over merged ones.
    edits.push(insertPair(src, parent as YAMLMap<Node, Node | null>, insertionAnchor(op.path), key, op.value));
  }
  for (const node of anchored) {
    const detach = detachAliases(doc, src.text, node, edited);
    if (detach) edits.push(detach);
  }
  return edits;
}

/** Applies non-overlapping edits in one pass, in time linear in the text and the edits. */
export function applyTextEdits(source: string, edits: readonly TextEdit[]): string {
  if (edits.length === 0) return source;
  const sorted = edits.map((e, i) => ({ e, i })).sort((a, b) => a.e.start - b.e.start || a.e.end - b.e.end || a.i - b.i);
  const parts: string[] = [];
  let at = 0;
  for (const { e } of sorted) {
    if (e.start < at) throw new Error(`pullfix: overlapping edits at offset ${e.start}`);
    parts.push(source.slice(at, e.start), e.text);
    at = e.end;
  }
  parts.push(source.slice(at));
  return parts.join('');
}
