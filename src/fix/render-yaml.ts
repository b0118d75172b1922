import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, type ToStringOptions } from 'yaml';
import type { DocumentOp } from './fix-objects.js';
import { applyNodeEdits } from './node-edits.js';
import type { Manifest } from './parse-manifest.js';
import { applyTextEdits, textEdits, type TextEdit } from './text-edits.js';

/** Serialising options that look like the source: its indentation and sequence style, no folding. */
export function yamlStyle(source: string): ToStringOptions {
  const indents = [...source.matchAll(/^( +)[^\s#-]/gm)].map((m) => m[1]?.length ?? 0);
  // `containers:` followed by `- name:` at the same column: kubectl's style, sequences not indented.
  const flushSequences = /^( *)[^\s#-][^\n]*:[ \t]*\r?\n\1- /m.test(source);
  return { indent: indents.length > 0 ? Math.min(...indents) : 2, indentSeq: !flushSequences, lineWidth: 0 };
}

/**
 * Replaces one document's text with the document re-serialised after node edits: the fallback
 * for shapes textual edits do not handle. The span runs from the end of the previous document,
 * so a comment before the first document (which the document re-emits) is not doubled.
 */
function reserialise(manifest: Manifest, index: number, ops: readonly DocumentOp[]): TextEdit {
  const { docs, input } = manifest;
  const doc = docs[index];
  if (!doc) throw new Error(`pullfix fix: no document ${index} in ${input.name}`);
  const copy = doc.clone();
  applyNodeEdits(copy, ops);
  const start = index === 0 ? 0 : (docs[index - 1]?.range[2] ?? doc.range[0]);
  const end = index === docs.length - 1 ? input.text.length : doc.range[2];
  return { start, end, text: copy.toString(yamlStyle(input.text)) };
}

/** True when `text` parses to exactly the expected documents: the edits did what the patch says. */
function matches(text: string, expected: readonly unknown[]): boolean {
  const docs = Array.from(parseAllDocuments(text));
  return (
    docs.length === expected.length &&
    docs.every((doc, i) => doc.errors.length === 0 && isDeepStrictEqual(doc.toJS(), expected[i]))
  );
}

/**
 * The YAML text with the operations applied: edited in place where possible, each changed
 * document re-serialised otherwise, untouched documents always byte-for-byte. The result is
 * checked against `expected` (the engine's objects); a mismatch is a bug, never written.
 */
export function renderYaml(manifest: Manifest, opsByDoc: ReadonlyMap<number, DocumentOp[]>, expected: readonly unknown[]): string {
  const source = manifest.input.text;
  const edits: TextEdit[] = [];
  for (const [index, ops] of opsByDoc) {
    const doc = manifest.docs[index];
    const inPlace = doc ? textEdits(doc, source, ops) : undefined;
    edits.push(...(inPlace ?? [reserialise(manifest, index, ops)]));
  }
  const edited = applyTextEdits(source, edits);
  if (matches(edited, expected)) return edited;
  const rewritten = applyTextEdits(source, [...opsByDoc].map(([index, ops]) => reserialise(manifest, index, ops)));
  if (matches(rewritten, expected)) return rewritten;
  throw new Error(`pullfix fix: could not apply the changes to ${manifest.input.name} faithfully; please fix it by hand`);
}
