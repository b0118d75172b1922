import { UserError } from './user-error.js';

/** A configuration problem: names the file, the field and what is wrong. */
export class ConfigError extends UserError {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: ${field}: ${problem}`);
  }
}
