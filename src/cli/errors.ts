import { ConfigError } from '../engine/errors.js';
import { CertificateError } from '../server/certificate-source.js';
import { NamespaceFileError } from '../cluster/namespace-file-source.js';

/** An error the user can act on; its message is printed alone, without a stack. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** The one place that maps errors to exit codes. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return err.exitCode;
  if (err instanceof ConfigError) return 2;
  return 2;
}

export function reportError(err: unknown): void {
  if (err instanceof UsageError || err instanceof ConfigError || err instanceof CertificateError || err instanceof NamespaceFileError) {
    process.stderr.write(`pullfix: ${err.message}\n`);
  } else {
    process.stderr.write(`pullfix: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}
