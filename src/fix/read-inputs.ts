import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { decodeInput, DecodeError, type Encoding } from './decode.js';
import { FixError, type Diagnostic } from './fix-error.js';

/** One manifest source: a file, or standard input. */
export interface Input {
  /** How findings and errors name it: the path as given, or `<stdin>`. */
  name: string;
  /** Where it can be written back; absent for standard input. */
  path?: string;
  text: string;
  /** What the bytes were (UTF-8 unless told otherwise). */
  encoding?: Encoding;
}

export const STDIN_ARG = '-';
export const STDIN_NAME = '<stdin>';

const WHY: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
};

/** Why a file could not be read, in words (`no such file`), not an error code. */
export function whyUnreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return WHY[code] ?? (err as Error).message;
}

/**
 * Everything a stream carries, however large and however slowly it comes. A pipe from
 * kustomize, helm or kpt is non-blocking: reading it synchronously fails with EAGAIN as soon as
 * the writer is slower than the reader, so it is read as a stream, chunk by chunk.
 */
export async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Standard input decoded as an input named `<stdin>`: the one reading path of `fix` and `krm`. */
export async function readStdinInput(readStdin: () => Promise<Uint8Array>): Promise<Input> {
  return { name: STDIN_NAME, ...decodeInput(STDIN_NAME, await readStdin()) };
}

function readFile(file: string): Input {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new FixError(`${file}: cannot read: ${whyUnreadable(err)}`);
  }
  return { name: file, path: file, ...decodeInput(file, bytes) };
}

/** The inputs read, and a diagnostic for each whose bytes are not text. */
export interface ReadResult {
  inputs: Input[];
  diagnostics: Diagnostic[];
}

/**
 * Reads every input up front, so a missing file stops the command before anything is written.
 * Inputs that are not text are each named with their position, with the parse errors of the others.
 */
export async function readInputs(args: readonly string[], readStdin: () => Promise<Uint8Array>): Promise<ReadResult> {
  if (args.filter((a) => a === STDIN_ARG).length > 1) throw new FixError(`standard input (${STDIN_ARG}) can be read only once`);
  const inputs: Input[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const arg of args) {
    try {
      inputs.push(arg === STDIN_ARG ? await readStdinInput(readStdin) : readFile(arg));
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      diagnostics.push(err.diagnostic);
    }
  }
  return { inputs, diagnostics };
}
