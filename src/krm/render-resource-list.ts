// Writes the ResourceList back with only what changed re-written: fixed items are edited in
// place at their nodes' positions (block or JSON alike, never re-serialised) and the results are
// appended, so every other byte of the input, unrelated items included, comes out as it came in.

import { isDeepStrictEqual } from 'node:util';
import { load } from 'js-yaml';
import { Document, isMap, isScalar, parseDocument, type Node, type Pair, type ToStringOptions } from 'yaml';
import { applyOps, NOT_PLAIN } from '../fix/fix-manifest.js';
import type { DocumentOp } from '../fix/fix-objects.js';
import type { Source } from '../fix/pair-edits.js';
import { PARSE_OPTIONS } from '../fix/parse-manifest.js';
import { applyTextEdits, CannotEdit, dominantNewline, textEdits, type TextEdit } from '../fix/text-edits.js';
import { KrmError } from './krm-error.js';
import type { ResourceList } from './resource-list.js';
import type { KrmResult } from './results.js';

/** One fixed item: the engine's operations re-rooted at the document, and the item as fixed. */
export interface ItemEdit {
  index: number;
  ops: DocumentOp[];
  mutated: unknown;
}

/** Serialising options for the results block that look like the source: its indentation and sequence style. */
export function yamlStyle(source: string): ToStringOptions {
  // The smallest indentation in use; a loop, not Math.min(...all), which overflows the stack
  // on a ResourceList of a million lines.
  let indent = Number.POSITIVE_INFINITY;
  for (const m of source.matchAll(/^( +)[^\s#-]/gm)) indent = Math.min(indent, m[1]?.length ?? 0);
  // `items:` followed by `- name:` at the same column: kubectl's style, sequences not indented.
  const flushSequences = /^( *)[^\s#-][^\n]*:[ \t]*\r?\n\1- /m.test(source);
  return { indent: Number.isFinite(indent) ? indent : 2, indentSeq: !flushSequences, lineWidth: 0 };
}

function pairOf(list: ResourceList, key: string): Pair | undefined {
  const root = list.doc.contents;
  return isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
}

/** One item's edits, at the positions of its nodes, block or flow (JSON) alike. */
function itemEdits(list: ResourceList, src: Source, edit: ItemEdit): TextEdit[] {
  try {
    return textEdits(list.doc, src, edit.ops);
  } catch (err) {
    if (!(err instanceof CannotEdit)) throw err;
    const line = list.lineCounter.linePos(err.offset).line;
    throw new KrmError(`ResourceList items[${edit.index}] (line ${line}): cannot fix faithfully: ${err.message}; ${err.remedy ?? 'set the pull policies by hand'}`);
  }
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
  const newline = dominantNewline(source);
  const block = new Document({ results }, { aliasDuplicateObjects: false }).toString(yamlStyle(source)).replace(/\n/g, newline);
  const key = existing?.key as Node | undefined;
  const value = existing?.value as Node | undefined;
  if (key?.range && value?.range) return { start: key.range[0], end: value.range[1], text: block.replace(/\r?\n$/, '') };
  const at = root.range[1];
  const lead = at > 0 && source[at - 1] !== '\n' ? newline : '';
  return { start: at, end: at, text: lead + block };
}

/**
 * The fast check for a plain ResourceList (no anchors, aliases, tags, merge keys or directives):
 * js-yaml reads it before and after the edits, and the operations applied to the first, with
 * the results put in, must give the second. Only a "yes" is trusted (see editsHoldPlain in
 * src/fix/fix-manifest.ts); a "no" goes to the full check with the yaml library.
 */
export function matchesPlain(list: ResourceList, edited: string, edits: readonly ItemEdit[], results: readonly unknown[] | undefined): boolean {
  if (NOT_PLAIN.test(list.source)) return false;
  try {
    const before = load(list.source) as Record<string, unknown>;
    const after = load(edited);
    for (const edit of edits) applyOps(before, edit.ops);
    if (results) before.results = results;
    return isDeepStrictEqual(before, after);
  } catch {
    return false;
  }
}

function matches(text: string, expected: unknown): boolean {
  const doc = parseDocument(text, PARSE_OPTIONS);
  return doc.errors.length === 0 && isDeepStrictEqual(doc.toJS(), expected);
}

/**
 * The ResourceList with the edits applied and `results` appended to any it already had. The
 * output is checked against the expected data: a miss is a bug, never written.
 */
export function renderResourceList(list: ResourceList, edits: readonly ItemEdit[], results: readonly KrmResult[]): string {
  if (edits.length === 0 && results.length === 0) return list.source;
  const previous = Array.isArray(list.value.results) ? (list.value.results as unknown[]) : [];
  const merged = [...previous, ...results];
  const expected = (): unknown => {
    const all = structuredClone(list.value);
    const items = all.items as unknown[];
    for (const edit of edits) items[edit.index] = edit.mutated;
    if (results.length > 0) all.results = merged;
    return all;
  };

  const src: Source = { text: list.source, newline: dominantNewline(list.source) };
  const textual = edits.flatMap((edit) => itemEdits(list, src, edit));
  if (results.length > 0) {
    const found = resultsEdit(list, merged);
    if (!found) throw new KrmError('cannot append results: the ResourceList is not a mapping');
    textual.push(found);
  }
  const edited = applyTextEdits(list.source, textual);
  if (matchesPlain(list, edited, edits, results.length > 0 ? merged : undefined) || matches(edited, expected())) return edited;
  throw new Error('pullfix krm: could not write the fixed ResourceList faithfully (a bug: please report it with the input)');
}
