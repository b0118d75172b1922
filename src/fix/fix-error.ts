import { UserError } from '../util/user-error.js';

/**
 * A problem with the fix command's input or arguments that the user can act on. The message
 * is printed alone; the command layer turns it into its usage error with the same exit code.
 */
export class FixError extends UserError {
  override readonly name = 'FixError';
}

/** A position in an input, printed `FILE:LINE:COL: message` so editors can jump to it. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.message}`;
}
