// Mutable-tag patterns as the API server will run them. The webhook matches patterns with RE2
// semantics (src/engine/tag-pattern.ts); the policy hands them to CEL's `matches`, which is
// RE2 too, so both take the same patterns and agree on what they match.

import { UserError } from '../util/user-error.js';

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
