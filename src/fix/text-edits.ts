// Edits made to the source text itself, so that everything around them (comments, blank lines,
// spacing, indentation, quoting) stays byte-for-byte as written. In block style a value is
// replaced, a line inserted or a line removed; a flow collection (`[{name: a, image: b}]`) is
// re-serialised alone. A shape neither handles returns undefined and the caller re-serialises
// the whole document instead.

import { Document, isMap, isScalar, Scalar, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { PULL_POLICIES } from '../engine/types.js';
import type { DocumentOp } from './fix-objects.js';
import { applyNodeEdits } from './node-edits.js';
import { findPair, outermostFlow } from './yaml-nodes.js';

export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

function lineStart(source: string, offset: number): number {
  return source.lastIndexOf('\n', offset - 1) + 1;
}

function afterLine(source: string, offset: number): number {
  const nl = source.indexOf('\n', offset);
  return nl < 0 ? source.length : nl + 1;
}

/** A value in the style of the scalar it replaces: `"Always"` stays double-quoted. */
function render(value: string, type: Scalar.Type | undefined): string | undefined {
  switch (type) {
    case Scalar.QUOTE_DOUBLE:
      return JSON.stringify(value);
    case Scalar.QUOTE_SINGLE:
      return `'${value.replace(/'/g, "''")}'`;
    case Scalar.PLAIN:
    case undefined:
      return (PULL_POLICIES as readonly string[]).includes(value) ? value : JSON.stringify(value);
    default:
      return undefined; // block scalars: not worth a textual edit
  }
}

/** A flow scalar on one line, with its key at the start of that line (after `- ` at most). */
function oneLinePair(source: string, pair: Pair, allowDash: boolean): { key: Scalar; value: Scalar; start: number } | undefined {
  const { key, value } = pair;
  if (!isScalar(key) || !key.range || !isScalar(value) || !value.range) return undefined;
  const start = lineStart(source, key.range[0]);
  const lead = source.slice(start, key.range[0]);
  if (!(allowDash ? /^[ -]*$/ : /^ *$/).test(lead)) return undefined;
  if (source.slice(key.range[0], value.range[1]).includes('\n')) return undefined;
  return { key, value, start };
}

function replaceValue(pair: Pair, value: string): TextEdit | undefined {
  const node = pair.value;
  // An anchored value may be shared through aliases; changing its text would change them too.
  if (!isScalar(node) || !node.range || node.range[1] <= node.range[0] || node.anchor) return undefined;
  const text = render(value, node.type);
  return text === undefined ? undefined : { start: node.range[0], end: node.range[1], text };
}

/** Removes the pair's whole line, its own trailing comment included; comment lines above stay. */
function removeLine(source: string, pair: Pair): TextEdit | undefined {
  const line = oneLinePair(source, pair, false);
  if (!line?.value.range) return undefined;
  return { start: line.start, end: afterLine(source, line.value.range[1]), text: '' };
}

/** A new `key: value` line right after `anchor`'s line, at the anchor key's indentation. */
function insertAfter(source: string, anchor: Pair, key: string, value: string, newline: string): TextEdit | undefined {
  const line = oneLinePair(source, anchor, true);
  const text = render(value, Scalar.PLAIN);
  if (!line?.key.range || !line.value.range || text === undefined || !/^[A-Za-z][A-Za-z0-9]*$/.test(key)) return undefined;
  const indent = ' '.repeat(line.key.range[0] - line.start);
  const at = afterLine(source, line.value.range[1]);
  const added = `${indent}${key}: ${text}`;
  return at === source.length && !source.endsWith('\n')
    ? { start: at, end: at, text: newline + added }
    : { start: at, end: at, text: added + newline };
}

function editFor(doc: Document.Parsed, source: string, op: DocumentOp, newline: string): TextEdit | undefined {
  const key = op.path.at(-1);
  const parent: unknown = doc.getIn(op.path.slice(0, -1), true);
  if (key === undefined || !isMap(parent) || parent.flow) return undefined;
  const pair = findPair(parent, key);
  if (op.op === 'remove') return pair ? removeLine(source, pair) : undefined;
  if ((op.op !== 'add' && op.op !== 'replace') || typeof op.value !== 'string') return undefined;
  if (pair) return replaceValue(pair, op.value);
  // A new imagePullPolicy goes right under image, where readers (and `kubectl explain`) expect it.
  const image = findPair(parent, 'image');
  return image ? insertAfter(source, image, key, op.value, newline) : undefined;
}

/** A flow collection re-serialised with its operations applied (paths relative to it), in its own padding style. */
function rewriteFlow(source: string, node: YAMLMap | YAMLSeq, ops: readonly DocumentOp[]): TextEdit | undefined {
  if (!node.range || node.anchor) return undefined;
  const clone = node.clone();
  // Comments around the collection lie outside the replaced span; only its inside is rewritten.
  clone.commentBefore = clone.comment = null;
  clone.spaceBefore = false;
  const copy = new Document(clone);
  applyNodeEdits(copy, ops);
  const padded = /^[{[][ \t]/.test(source.slice(node.range[0]));
  const text = copy.toString({ flowCollectionPadding: padded, lineWidth: 0 }).replace(/\r?\n$/, '');
  return { start: node.range[0], end: node.range[1], text };
}

/** The textual edits for one document's operations, or undefined if one of them needs re-serialising. */
export function textEdits(doc: Document.Parsed, source: string, ops: readonly DocumentOp[]): TextEdit[] | undefined {
  const newline = source.includes('\r\n') ? '\r\n' : '\n';
  const edits: TextEdit[] = [];
  // Operations inside one flow collection are applied together: one collection, one edit.
  const flows = new Map<YAMLMap | YAMLSeq, DocumentOp[]>();
  for (const op of ops) {
    const flow = outermostFlow(doc, op.path);
    if (flow) {
      flows.set(flow.node, [...(flows.get(flow.node) ?? []), { ...op, path: op.path.slice(flow.depth) }]);
      continue;
    }
    const edit = editFor(doc, source, op, newline);
    if (!edit) return undefined;
    edits.push(edit);
  }
  for (const [node, group] of flows) {
    const edit = rewriteFlow(source, node, group);
    if (!edit) return undefined;
    edits.push(edit);
  }
  return edits;
}

/** Applies non-overlapping edits, last first so earlier offsets stay valid. */
export function applyTextEdits(source: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = source;
  for (const edit of sorted) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}
