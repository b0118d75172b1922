import { FixError, formatDiagnostic, type Diagnostic } from './fix-error.js';

/** How an input's bytes became text, so `--write` can turn the text back into the same kind of bytes. */
export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/**
 * Bytes that cannot be read as text, at a position as parse errors give theirs
 * (`FILE:LINE:COL: …`, printed alike), so the input is named in one form whatever is wrong with it.
 */
export class DecodeError extends FixError {
  constructor(readonly diagnostic: Diagnostic) {
    super(formatDiagnostic(diagnostic));
  }
}

/**
 * The line and column (1-based) of a byte offset. The column counts characters, as the parser's
 * do, of the line's text before the offset (read leniently: only what follows may be invalid).
 */
function positionAt(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: new TextDecoder('utf-8').decode(bytes.subarray(start, offset)).length + 1 };
}

/** The offset of the first byte that does not belong to valid UTF-8, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0 || i + need >= bytes.length) return i;
    for (let k = 1; k <= need; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * The text of an input. UTF-8 (with or without a byte-order mark) is the manifest encoding;
 * UTF-16 with a byte-order mark is decoded. Anything else is refused with a message naming the
 * file, line and byte: decoding it as something else would alter bytes silently, and reading it
 * as UTF-8 would hide the manifest from the parser.
 */
export function decodeInput(name: string, bytes: Uint8Array): { text: string; encoding: Encoding } {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), encoding: 'utf-16le' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), encoding: 'utf-16be' };
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new DecodeError({
      file: name,
      ...positionAt(bytes, nul),
      message: 'contains NUL bytes: UTF-16 without a byte-order mark, or not text; save it as UTF-8',
    });
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // The validating decoder only says no; the scan says where (overlong forms aside, at the byte itself).
    const bad = Math.max(firstInvalidUtf8(bytes), 0);
    const hex = (bytes[bad] as number).toString(16).toUpperCase().padStart(2, '0');
    throw new DecodeError({
      file: name,
      ...positionAt(bytes, bad),
      message: `not UTF-8 (byte 0x${hex}); convert it first, e.g. iconv -f latin1 -t utf-8 (manifests are UTF-8)`,
    });
  }
  // TextDecoder would drop a UTF-8 byte-order mark; Buffer keeps it, so the text round-trips byte for byte.
  return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), encoding: 'utf-8' };
}

/** The text as bytes in the encoding it was read in (UTF-16 with its byte-order mark). */
export function encodeOutput(text: string, encoding: Encoding): Buffer {
  if (encoding === 'utf-8') return Buffer.from(text, 'utf8');
  const le = Buffer.from(`\uFEFF${text}`, 'utf16le');
  return encoding === 'utf-16le' ? le : le.swap16();
}
