import { Composer, LineCounter, Parser, parseAllDocuments, type Document } from 'yaml';
import { TEMPLATE_ACTION } from './chart-templates.js';
import type { Diagnostic } from './fix-error.js';
import type { Input } from './read-inputs.js';

/**
 * How manifests are read: merge keys (`<<: *base`) resolved, as kubectl's YAML decoder
 * resolves them, so the engine sees the containers the API server would get.
 */
export const PARSE_OPTIONS = { merge: true } as const;

/** The first line of a yaml error, without the position the diagnostic already carries. */
function shortMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * The documents of an input one at a time, so a stream of any length is held one document
 * at a time; `lineCounter` maps offsets to lines for all of them.
 */
export function* documents(text: string, lineCounter: LineCounter): Generator<Document.Parsed> {
  const parser = new Parser(lineCounter.addNewLine);
  const composer = new Composer(PARSE_OPTIONS);
  yield* composer.compose(parser.parse(text), true, text.length) as Generator<Document.Parsed>;
}

/** A document's parse errors, each with its position. */
export function documentDiagnostics(input: Input, doc: Document.Parsed, lineCounter: LineCounter): Diagnostic[] {
  return doc.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return { file: input.name, line: pos.line, col: pos.col, message: `invalid YAML: ${shortMessage(e.message)}` };
  });
}

/**
 * Helm chart templates (`{{ .Values.image }}`) are not YAML until rendered: one clear message
 * instead of one per place the template syntax trips the parser.
 */
export function helmTemplate(input: Input, lineCounter: LineCounter, errors: readonly Diagnostic[]): Diagnostic | undefined {
  // Only when the parser tripped on a line with template syntax: `{{ }}` in a string (an
  // alerting template in a ConfigMap) is valid YAML, and an error elsewhere is an error.
  const lineText = (line: number): string => {
    const starts = lineCounter.lineStarts;
    return input.text.slice(starts[line - 1] ?? 0, starts[line] ?? input.text.length);
  };
  if (!errors.some((d) => /\{\{/.test(lineText(d.line)))) return undefined;
  const at = input.text.search(TEMPLATE_ACTION);
  if (at < 0) return undefined;
  const pos = lineCounter.linePos(at);
  return {
    file: input.name,
    line: pos.line,
    col: pos.col,
    message: 'looks like a Helm template: render it first (helm template … | pullfix fix -)',
  };
}

/** Parses a text alone (a document after edits), as the manifests are parsed. */
export function parseAll(text: string): Document.Parsed[] {
  return Array.from(parseAllDocuments(text, PARSE_OPTIONS));
}
