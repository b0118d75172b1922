import { UserError } from '../util/user-error.js';

/** Wrong arguments or flags. */
export class UsageError extends UserError {
  override readonly name = 'UsageError';
}

/** The one place that maps errors to exit codes. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UserError ? err.exitCode : 2;
}

export function reportError(err: unknown): void {
  if (err instanceof UserError) {
    process.stderr.write(`pullfix: ${err.message}\n`);
  } else {
    process.stderr.write(`pullfix: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}
