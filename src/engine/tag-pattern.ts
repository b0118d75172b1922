// Mutable-tag patterns (SPEC §3), matched in time linear in the tag's length. Whoever can
// annotate a namespace writes one, and it runs on every admission in that namespace: a
// backtracking engine (JavaScript's RegExp) takes exponential time on patterns such as
// `((a)+)+` or `(a|a)*`, so one annotation could stall the webhook for everyone. RE2JS is the
// JavaScript port of RE2: automata, no backtracking, and it refuses what cannot run in linear
// time (back-references, look-around).

import { RE2JS } from 're2js';

/** A compiled pattern; `test` answers whether the whole tag matches. */
export interface TagPattern {
  readonly source: string;
  test(tag: string): boolean;
}

// Tags repeat (latest, the same release across many containers): remember recent answers so
// the automaton runs once per distinct tag. Bounded, so a stream of distinct tags costs no memory.
const MEMO_LIMIT = 1024;

/**
 * Compiles a mutable-tag pattern, or explains why it cannot be used. The pattern must match the
 * whole tag whatever the author wrote, so `dev` matches `dev` and not `devops`.
 */
export function compileTagPattern(source: string): TagPattern | string {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (err) {
    const message = (err as Error).message.replace(/^error parsing regexp: /i, '');
    return `not an RE2 (linear-time) regular expression: ${message}`;
  }
  const memo = new Map<string, boolean>();
  return {
    source,
    test(tag: string): boolean {
      let answer = memo.get(tag);
      if (answer === undefined) {
        answer = compiled.matches(tag);
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(tag, answer);
      }
      return answer;
    },
  };
}
