/**
 * The indentation a JSON text uses: what precedes the first member on the line after the opening
 * bracket (spaces or a tab). Undefined for JSON written on one line, which is written back compact.
 */
export function detectJsonIndent(source: string): string | undefined {
  const match = /^\uFEFF?\s*[{[][ \t]*\r?\n([ \t]+)\S/.exec(source);
  return match?.[1];
}

/** Writes a value back as JSON shaped like `source`: same indentation, line endings and final newline. */
export function renderJson(source: string, value: unknown): string {
  let text = JSON.stringify(value, null, detectJsonIndent(source));
  if (source.includes('\r\n')) text = text.replace(/\n/g, '\r\n');
  const end = /\r?\n$/.exec(source)?.[0] ?? '';
  return text + end;
}
