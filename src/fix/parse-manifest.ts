import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { Diagnostic } from './fix-error.js';
import type { Input } from './read-inputs.js';

export type Format = 'yaml' | 'json';

/** One input parsed into documents, with what is needed to map offsets to lines. */
export interface Manifest {
  input: Input;
  format: Format;
  docs: Document.Parsed[];
  /** Each document as plain JavaScript (what the engine reads), in order. */
  values: unknown[];
  lineCounter: LineCounter;
}

export type ParseResult = { ok: true; manifest: Manifest } | { ok: false; diagnostics: Diagnostic[] };

/** The first line of a yaml error, without the position the diagnostic already carries. */
function shortMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

/** JSON when it opens like JSON and JSON.parse agrees; `{a: 1}` is a YAML flow mapping. */
function isJson(text: string): boolean {
  if (!/^\uFEFF?\s*[{[]/.test(text)) return false;
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses YAML (JSON is YAML too, so one parser gives positions for both). Every error is
 * reported with its position; the caller writes nothing when there is one.
 */
export function parseManifest(input: Input): ParseResult {
  const lineCounter = new LineCounter();
  const docs = Array.from(parseAllDocuments(input.text, { lineCounter, prettyErrors: true }));
  const diagnostics: Diagnostic[] = docs.flatMap((doc) =>
    doc.errors.map((e) => ({
      file: input.name,
      line: e.linePos?.[0].line ?? 1,
      col: e.linePos?.[0].col ?? 1,
      message: shortMessage(e.message),
    })),
  );
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  const values: unknown[] = [];
  for (const doc of docs) {
    try {
      values.push(doc.toJS());
    } catch (err) {
      // Alias expansion beyond the parser's limit, or an unresolvable alias.
      const pos = lineCounter.linePos(doc.range[0]);
      return { ok: false, diagnostics: [{ file: input.name, line: pos.line, col: pos.col, message: (err as Error).message }] };
    }
  }
  return { ok: true, manifest: { input, format: isJson(input.text) ? 'json' : 'yaml', docs, values, lineCounter } };
}
