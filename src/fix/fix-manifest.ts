import { isDeepStrictEqual } from 'node:util';
import fjp, { type Operation } from 'fast-json-patch';
import { loadAll } from 'js-yaml';
import { LineCounter, visit, type Document } from 'yaml';
import type { Engine } from '../engine/mutate.js';
import type { EffectivePolicy } from '../engine/namespace-policy.js';
import { pointer } from '../engine/patch.js';
import { isObject } from '../engine/explicit.js';
import type { Diagnostic } from './fix-error.js';
import { byPosition, findingsFor, type Finding, type PolicyOrigin } from './findings.js';
import { fixObjects, type DocumentOp } from './fix-objects.js';
import { locateObjects } from './locate-objects.js';
import { documentDiagnostics, documents, helmTemplate, parseAll } from './parse-manifest.js';
import type { Source } from './pair-edits.js';
import type { Input } from './read-inputs.js';
import { walk } from './yaml-nodes.js';
import { applyTextEdits, CannotEdit, dominantNewline, textEdits, type TextEdit } from './text-edits.js';

/** What fixing needs besides the input: the engine, the policy in force and where its class policies came from. */
export interface FixContext {
  engine: Engine;
  policy: EffectivePolicy;
  origin?: PolicyOrigin;
}

/** One input after the engine has seen every object in it. */
export interface FixedManifest {
  input: Input;
  findings: Finding[];
  changed: boolean;
  /** The fixed text; the input itself, byte for byte, when nothing changed. */
  text: string;
  /** Container policies set and pod-level fields removed, for the `--write` summary. */
  policiesSet: number;
  straysRemoved: number;
}

/** Not fixed: diagnostics, or (`helmTemplate`) one note that the input is a Helm template to render first. */
export type FixOutcome = { ok: true; fixed: FixedManifest } | { ok: false; diagnostics: Diagnostic[]; helmTemplate?: true };

/** Puts `value` at `path` inside `root` (changed in place), returning the new root. */
export function placeAt(root: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) node = isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[segment] : undefined;
  const last = path[path.length - 1] as string;
  if (isObject(node) || Array.isArray(node)) (node as Record<string, unknown>)[last] = value;
  return root;
}

/** Where the alias an error names (`Unresolved alias …: name`) is written. */
function aliasOffset(doc: Document.Parsed, err: unknown): number | undefined {
  const name = /: (\S+)$/.exec((err as Error).message)?.[1];
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.source !== name || !node.range) return undefined;
      offset = node.range[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function diagnosticAt(input: Input, lineCounter: LineCounter, offset: number, message: string): Diagnostic {
  const pos = lineCounter.linePos(offset);
  return { file: input.name, line: pos.line, col: pos.col, message };
}

/**
 * The engine's operations applied to plain data (changed in place) by fast-json-patch, as the
 * API server would apply them; undefined when one does not apply (a path that is not there).
 */
export function applyOps(value: unknown, ops: readonly DocumentOp[]): unknown {
  try {
    const patch = ops.map((op) => ({ ...op, path: pointer(op.path) }) as Operation);
    return fjp.applyPatch(value, patch, true, true).newDocument;
  } catch {
    return undefined;
  }
}

/**
 * Anchors, aliases, tags, merge keys and directives: where a second parser could resolve the
 * text differently, or an edit could reach more than one place. Conservative: `&`, `*`, `!` and
 * `%` inside a string count too, and only cost the fast check.
 */
export const NOT_PLAIN = /[&*!%]|<</;

/**
 * The fast check, for plain documents: js-yaml (several times faster than the yaml library,
 * which must keep comments and positions for the edits) reads the document before and after
 * the edits, and the engine's operations applied to the first must give the second. Only a
 * "yes" is trusted; anything else goes to the full check, so the answer never changes, only
 * how fast most documents get it.
 */
export function editsHoldPlain(before: string, after: string, ops: readonly DocumentOp[]): boolean {
  if (NOT_PLAIN.test(before)) return false;
  try {
    const a = loadAll(before).at(-1);
    const b = loadAll(after).at(-1);
    return a !== undefined && isDeepStrictEqual(applyOps(a, ops), b);
  } catch {
    return false;
  }
}

/**
 * The document's text from the end of the one before (directives and `---` included) with the
 * edits applied reads as `expected`: the edits did what the engine's patch says, nothing else.
 */
function editsHold(source: string, from: number, doc: Document.Parsed, edits: readonly TextEdit[], ops: readonly DocumentOp[], expected: unknown): boolean {
  const to = doc.range[2];
  const before = source.slice(from, to);
  const span = applyTextEdits(
    before,
    edits.map((e) => ({ ...e, start: e.start - from, end: e.end - from })),
  );
  if (editsHoldPlain(before, span, ops)) return true;
  const docs = parseAll(span);
  const last = docs.at(-1);
  return docs.every((d) => d.errors.length === 0) && last !== undefined && isDeepStrictEqual(last.toJS(), expected);
}

/**
 * Fixes one input document by document (a stream of any length is held one document at a
 * time), editing the source text at the positions of the nodes that change. Parse errors and
 * changes that cannot be made faithfully are diagnostics; nothing is re-serialised.
 */
export function fixInput(input: Input, context: FixContext): FixOutcome {
  const source = input.text;
  const src: Source = { text: source, newline: dominantNewline(source) };
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const findings: Finding[] = [];
  const edits: TextEdit[] = [];
  let policiesSet = 0;
  let straysRemoved = 0;
  let previousEnd = 0;
  for (const doc of documents(source, lineCounter)) {
    const from = previousEnd;
    previousEnd = doc.range[2];
    if (doc.errors.length > 0) {
      diagnostics.push(...documentDiagnostics(input, doc, lineCounter));
      continue;
    }
    if (diagnostics.length > 0) continue;
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (err) {
      // An alias with no anchor before it, or alias expansion beyond the parser's limit: at the alias.
      diagnostics.push(diagnosticAt(input, lineCounter, aliasOffset(doc, err) ?? doc.range[0], `invalid YAML: ${(err as Error).message}`));
      continue;
    }
    const fixes = fixObjects(context.engine, context.policy, locateObjects([value]));
    findings.push(...findingsFor(input.name, doc, lineCounter, fixes, context.origin));
    const changed = fixes.filter((f) => f.ops.length > 0);
    if (changed.length === 0) continue;
    const ops: DocumentOp[] = [];
    let expected = value;
    for (const fix of changed) {
      ops.push(...fix.ops);
      expected = placeAt(expected, fix.object.path, fix.result.mutated);
      policiesSet += fix.result.changes.length;
      if (fix.result.strayRemoved) straysRemoved++;
    }
    try {
      const docEdits = textEdits(doc, src, ops);
      if (!editsHold(source, from, doc, docEdits, ops, expected)) {
        const first = ops[0] ? walk(doc, ops[0].path.slice(0, -1)).node : undefined;
        const at = (first as { range?: [number, number, number] } | undefined)?.range?.[0] ?? doc.range[0];
        throw new CannotEdit(at, 'anchors, aliases or merge keys share the values pullfix would change');
      }
      edits.push(...docEdits);
    } catch (err) {
      if (!(err instanceof CannotEdit)) throw err;
      diagnostics.push(diagnosticAt(input, lineCounter, err.offset, `cannot fix faithfully: ${err.message}; ${err.remedy ?? 'set the pull policies here by hand'}`));
    }
  }
  if (diagnostics.length > 0) {
    const helm = helmTemplate(input, lineCounter, diagnostics.filter((d) => d.message.startsWith('invalid YAML')));
    return helm ? { ok: false, diagnostics: [helm], helmTemplate: true } : { ok: false, diagnostics };
  }
  findings.sort(byPosition);
  const changed = edits.length > 0;
  const text = changed ? applyTextEdits(source, edits) : source;
  return { ok: true, fixed: { input, findings, changed, text, policiesSet, straysRemoved } };
}
