// Small builders for CEL source text. Every value from the config reaches CEL through
// `celString`, never by pasting, so a quote or backslash in a pattern cannot change the program.

/** A CEL string literal holding exactly `value`. */
export function celString(value: string): string {
  let out = "'";
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return `${out}'`;
}

/** A CEL list literal of strings. */
export function celStringList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

// CEL identifiers that cannot follow a dot (the language's reserved words).
const RESERVED = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if',
  'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while',
]);

/**
 * Optional-chained field access: `object.?spec.?template` for the segments given. Field names
 * that are not CEL identifiers (custom resources may use any key) are indexed instead.
 */
export function optionalPath(root: string, segments: readonly string[]): string {
  let expr = root;
  for (const segment of segments) {
    expr += /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment) && !RESERVED.has(segment) ? `.?${segment}` : `[?${celString(segment)}]`;
  }
  return expr;
}

/** A JSON pointer (RFC 6901) for path segments. */
export function jsonPointer(segments: readonly string[]): string {
  return segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * Binds `value` to `name` inside `body`. The CEL environment of admission policies has no
 * `cel.bind`, so a one-element list is mapped instead: the value is computed once.
 */
export function bind(name: string, value: string, body: string): string {
  return `[${value}].map(${name}, ${body})[0]`;
}
