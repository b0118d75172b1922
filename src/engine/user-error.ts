/**
 * An error the user can act on: its message is printed alone, without a stack, and the
 * process exits with `exitCode`. Each command's own error class extends it, so the CLI maps
 * all of them in one place (src/cli/errors.ts).
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
