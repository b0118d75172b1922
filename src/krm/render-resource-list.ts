// Writes the ResourceList back with only what changed re-written: fixed items are edited in
// place (or, when their shape defeats a textual edit, re-serialised alone) and the results are
// appended, so every other byte of the input, unrelated items included, comes out as it came in.

import { isDeepStrictEqual } from 'node:util';
import { Document, isCollection, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import type { DocumentOp } from '../fix/fix-objects.js';
import { applyNodeEdits } from '../fix/node-edits.js';
import { yamlStyle } from '../fix/render-yaml.js';
import { applyTextEdits, textEdits, type TextEdit } from '../fix/text-edits.js';
import type { ResourceList } from './resource-list.js';
import type { KrmResult } from './results.js';

/** One fixed item: the engine's operations re-rooted at the document, and the item as fixed. */
export interface ItemEdit {
  index: number;
  ops: DocumentOp[];
  mutated: unknown;
}

function pairOf(list: ResourceList, key: string): Pair | undefined {
  const root = list.doc.contents;
  return isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
}

function isFlowContext(list: ResourceList, node: Node): boolean {
  const root = list.doc.contents;
  const items: unknown = list.doc.get('items', true);
  return (isCollection(root) && root.flow === true) || (isSeq(items) && items.flow === true) || (isCollection(node) && node.flow === true);
}

/** The item alone, serialised in the input's style and indented to where it starts. */
function reserialiseItem(list: ResourceList, node: Node, ops: readonly DocumentOp[]): TextEdit | undefined {
  if (!node.range || !isCollection(node)) return undefined;
  const clone = node.clone();
  clone.commentBefore = null;
  clone.comment = null;
  const copy = new Document(clone);
  applyNodeEdits(
    copy,
    ops.map((op) => ({ ...op, path: op.path.slice(2) })),
  );
  const { source } = list;
  const start = node.range[0];
  const column = start - (source.lastIndexOf('\n', start - 1) + 1);
  const lines = copy.toString(yamlStyle(source)).replace(/\r?\n$/, '').split('\n');
  const newline = source.includes('\r\n') ? '\r\n' : '\n';
  const text = lines.map((line, i) => (i === 0 || line === '' ? line : ' '.repeat(column) + line)).join(newline);
  return { start, end: node.range[1], text };
}

function itemEdits(list: ResourceList, edit: ItemEdit): TextEdit[] | undefined {
  const item = list.items[edit.index];
  if (!item?.node.range) return undefined;
  // JSON (or any flow collection) input: the fixed item as compact JSON is valid in place and
  // leaves the text around it alone, where re-writing the enclosing collection would not.
  if (isFlowContext(list, item.node)) return [{ start: item.node.range[0], end: item.node.range[1], text: JSON.stringify(edit.mutated) }];
  const inPlace = textEdits(list.doc, list.source, edit.ops);
  if (inPlace) return inPlace;
  const whole = reserialiseItem(list, item.node, edit.ops);
  return whole ? [whole] : undefined;
}

function resultsEdit(list: ResourceList, results: readonly unknown[]): TextEdit | undefined {
  const root = list.doc.contents;
  if (!isMap(root) || !root.range) return undefined;
  const { source } = list;
  const existing = pairOf(list, 'results');
  if (root.flow) {
    const json = JSON.stringify(results);
    const value = existing?.value as Node | undefined;
    if (value?.range) return { start: value.range[0], end: value.range[1], text: json };
    const close = source.lastIndexOf('}', root.range[1]);
    return close < 0 ? undefined : { start: close, end: close, text: `,"results":${json}` };
  }
  const newline = source.includes('\r\n') ? '\r\n' : '\n';
  const block = new Document({ results }, { aliasDuplicateObjects: false }).toString(yamlStyle(source)).replace(/\n/g, newline);
  const key = existing?.key as Node | undefined;
  const value = existing?.value as Node | undefined;
  if (key?.range && value?.range) return { start: key.range[0], end: value.range[1], text: block.replace(/\r?\n$/, '') };
  const at = root.range[1];
  const lead = at > 0 && source[at - 1] !== '\n' ? newline : '';
  return { start: at, end: at, text: lead + block };
}

function matches(text: string, expected: unknown): boolean {
  const doc = parseDocument(text);
  return doc.errors.length === 0 && isDeepStrictEqual(doc.toJS(), expected);
}

/**
 * The ResourceList with the edits applied and `results` appended to any it already had. The
 * output is checked against the expected data; should the in-place edits ever miss, the whole
 * document is re-serialised instead (still correct, less faithful), and a second miss is a bug.
 */
export function renderResourceList(list: ResourceList, edits: readonly ItemEdit[], results: readonly KrmResult[]): string {
  if (edits.length === 0 && results.length === 0) return list.source;
  const expected = structuredClone(list.value);
  const expectedItems = expected.items as unknown[];
  for (const edit of edits) expectedItems[edit.index] = edit.mutated;
  const previous = Array.isArray(list.value.results) ? (list.value.results as unknown[]) : [];
  const merged = [...previous, ...results];
  if (results.length > 0) expected.results = merged;

  const textual: TextEdit[] = [];
  let complete = true;
  for (const edit of edits) {
    const found = itemEdits(list, edit);
    if (found) textual.push(...found);
    else complete = false;
  }
  if (results.length > 0) {
    const found = resultsEdit(list, merged);
    if (found) textual.push(found);
    else complete = false;
  }
  if (complete) {
    const edited = applyTextEdits(list.source, textual);
    if (matches(edited, expected)) return edited;
  }

  const copy = list.doc.clone();
  for (const edit of edits) copy.setIn(['items', edit.index], copy.createNode(edit.mutated, { aliasDuplicateObjects: false }));
  if (results.length > 0) copy.set('results', copy.createNode(merged, { aliasDuplicateObjects: false }));
  const rewritten = copy.toString(yamlStyle(list.source));
  if (matches(rewritten, expected)) return rewritten;
  throw new Error('pullfix krm: could not write the fixed ResourceList faithfully (a bug: please report it with the input)');
}
