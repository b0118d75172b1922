import { readFileSync } from 'node:fs';
import { FixError } from './fix-error.js';

/** One manifest source: a file, or standard input. */
export interface Input {
  /** How findings and errors name it: the path as given, or `<stdin>`. */
  name: string;
  /** Where it can be written back; absent for standard input. */
  path?: string;
  text: string;
}

export const STDIN_ARG = '-';
export const STDIN_NAME = '<stdin>';

const WHY: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
};

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new FixError(`${file}: cannot read: ${WHY[code] ?? (err as Error).message}`);
  }
}

/** Reads every input up front, so a missing file stops the command before anything is written. */
export function readInputs(args: readonly string[], readStdin: () => string): Input[] {
  if (args.filter((a) => a === STDIN_ARG).length > 1) throw new FixError(`standard input (${STDIN_ARG}) can be read only once`);
  return args.map((arg) => (arg === STDIN_ARG ? { name: STDIN_NAME, text: readStdin() } : { name: arg, path: arg, text: readFile(arg) }));
}
