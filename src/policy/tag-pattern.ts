// Mutable-tag patterns as the API server will run them. The webhook compiles patterns with
// JavaScript's engine after refusing nested quantifiers (src/engine/config.ts); the policy
// hands them to CEL's `matches`, which is RE2. The refusal rule is repeated here in RE2 so that
// a namespace annotation the webhook ignores is ignored by the policy too.

import { UserError } from '../util/user-error.js';

/** The engine's refusal rule (config.ts NESTED_QUANTIFIER), as RE2 source. */
export const NESTED_QUANTIFIER_PATTERN =
  '\\((?:[^()\\\\]|\\\\.)*(?:[+*]|\\{\\d+,\\d*\\})(?:[^()\\\\]|\\\\.)*\\)(?:[+*]|\\{\\d+,\\d*\\})';

// JavaScript constructs RE2 does not have; a config pattern using one cannot be handed to CEL.
const NOT_IN_RE2: readonly [RegExp, string][] = [
  [/\(\?<?[=!]/, 'lookaround assertions ((?=, (?!, (?<=, (?<!)'],
  [/\\[1-9]|\\k</, 'backreferences'],
  [/\\u|\\c[A-Za-z]/, 'the escapes \\u and \\c'],
];

export class PolicyConfigError extends UserError {
  override readonly name = 'PolicyConfigError';
}

/** Refuses a config pattern the API server's RE2 would reject at evaluation time. */
export function checkRe2Compatible(pattern: string, where: string): void {
  for (const [construct, words] of NOT_IN_RE2) {
    if (construct.test(pattern)) {
      throw new PolicyConfigError(`${where}: uses ${words}, which CEL's RE2 regular expressions do not support; rewrite the pattern without them`);
    }
  }
}

/** The pattern anchored at both ends, as the engine anchors it. */
export function anchored(pattern: string): string {
  return `^(?:${pattern})$`;
}
