// Mutable-tag patterns (SPEC §3), matched in time linear in the tag's length. Whoever can
// annotate a namespace writes one, and it runs on every admission in that namespace: a
// backtracking engine (JavaScript's RegExp) takes exponential time on patterns such as
// `((a)+)+` or `(a|a)*`, so one annotation could stall the webhook for everyone. RE2JS is the
// JavaScript port of RE2: automata, no backtracking, and it refuses what cannot run in linear
// time (back-references, look-around).
//
// Linear in the tag is not enough: the constant is the size of the compiled program, and RE2
// expands counted repetitions, so `(?:[a-z]?){1000}` is 2,002 instructions from 16 characters.
// A 1.7 KB annotation of a hundred of those compiled in 0.2–0.7 s and took 0.9–4.7 s per
// 128-character tag (0.49 s and 0.9–2.6 s here), past the webhook's 5 s timeout for every
// namespace. So a pattern is also
// bounded in size, checked where it is read (config file, namespace annotation):
//   - at most MAX_PATTERN_LENGTH characters, and
//   - at most MAX_PATTERN_INSTRUCTIONS RE2 instructions once counted repetitions are expanded.
// A pattern is estimated from its text first (expandedSize, below), so a hostile one is refused
// without being compiled at all; what passes is compiled and its real program size checked.
//
// Matching goes through RE2JS's Matcher, which runs the one-pass engine or a bit-state
// backtracker that visits each (instruction, position) pair at most once: at most 192 × 129
// steps for the largest pattern on the longest tag (128 characters), with no state kept
// between tags. (RE2JS's boolean `matches` takes its lazy DFA instead, whose per-pattern cache
// can hold 8 MB and whose states cost O(program) to build on each new tag.) Measured worst
// case for the largest accepted patterns on a 128-character tag (`node dist/bench/patterns.js`,
// 14 hostile shapes, 2 shared cores at load average 6–7): 0.50 ms fastest, 0.56 ms median per
// match, for `(?:(?:[\w.-]*)*[\w.-]?){31}!`; a 1,024-character pattern compiles in 0.8 ms.

import { RE2JS } from 're2js';

/** The longest pattern accepted, in characters (UTF-16 units). */
export const MAX_PATTERN_LENGTH = 1024;

/**
 * The largest compiled program accepted, in RE2 instructions, counted repetitions expanded
 * (RE2JS's `programSize`). 192 admits a 20-word alternation (138), a commit hash of 7 to 40
 * digits (`^(?:sha-)?[0-9a-f]{7,40}$`, 82) and a sha256 (`^[0-9a-f]{64}$`, 68), and keeps the
 * slowest match found on a 128-character tag at about half the 1 ms target on 2 busy shared
 * cores (0.56 ms median); at 256 instructions the same shape took 0.67 ms alone and
 * 1.0–1.2 ms median under that load, no margin at all.
 */
export const MAX_PATTERN_INSTRUCTIONS = 192;

// A pattern whose estimate is this many times over the bound is refused without compiling:
// the estimate is an upper bound that can overshoot (RE2 merges `a|b` into `[ab]`, factors
// common prefixes), so nearer the bound the compiled program decides. Compiling up to this
// size (768 instructions) took under a millisecond here, once per distinct pattern.
const ESTIMATE_SLACK = 4;

/** A compiled pattern; `test` answers whether the whole tag matches. */
export interface TagPattern {
  readonly source: string;
  test(tag: string): boolean;
}

// Tags repeat (latest, the same release across many containers): remember recent answers so
// the automaton runs once per distinct tag. Bounded, so a stream of distinct tags costs no memory.
const MEMO_LIMIT = 1024;

interface Frame {
  /** Sizes of the finished alternatives, summed. */
  done: number;
  branches: number;
  /** Whether every finished alternative is one character (RE2 merges those into a class). */
  singles: boolean;
  /** The alternative being read: its size, atom count, and whether it is one character. */
  seq: number;
  atoms: number;
  single: boolean;
  /** Size of the last atom, which a repetition applies to (-1 when there is none), and whether it is one character. */
  last: number;
  lastSingle: boolean;
  capture: boolean;
}

function frame(capture: boolean): Frame {
  return { done: 0, branches: 0, singles: true, seq: 0, atoms: 0, single: false, last: -1, lastSingle: false, capture };
}

/** Where the escape starting at `at` (a backslash) ends, exclusive; `\Q…\E` is handled by the caller. */
function escapeEnd(source: string, at: number): number {
  const c = source[at + 1];
  if ((c === 'p' || c === 'P' || c === 'x') && source[at + 2] === '{') {
    const close = source.indexOf('}', at + 3);
    return close < 0 ? source.length : close + 1;
  }
  if (c === 'p' || c === 'P') return Math.min(at + 3, source.length);
  if (c === 'x') return Math.min(at + 4, source.length);
  return Math.min(at + 2, source.length);
}

/** Where the character class opening at `at` ends, exclusive. */
function classEnd(source: string, at: number): number {
  let i = at + 1;
  if (source[i] === '^') i++;
  if (source[i] === ']') i++; // a leading `]` is literal
  while (i < source.length && source[i] !== ']') {
    if (source[i] === '\\') i = escapeEnd(source, i);
    else if (source.startsWith('[:', i)) {
      const close = source.indexOf(':]', i + 2);
      i = close < 0 ? i + 1 : close + 2;
    } else i++;
  }
  return Math.min(i + 1, source.length);
}

const REPEAT = /\{(\d+)(,(\d*))?\}/y;

/** The counted repetition `{n}`, `{n,}` or `{n,m}` at `at`, if there is one (else `{` is literal). */
function repeatAt(source: string, at: number): RegExpExecArray | null {
  REPEAT.lastIndex = at;
  return REPEAT.exec(source);
}

// After `(`: flags and a colon or a closing parenthesis (group 1), or a group name (group 2).
const GROUP_HEAD = /\(\?(?:([imsU-]*[:)])|P?<([A-Za-z0-9_]+)>)/y;

function groupHeadAt(source: string, at: number): RegExpExecArray | null {
  GROUP_HEAD.lastIndex = at;
  return GROUP_HEAD.exec(source);
}

// `\b`, `\B`, `\A`, `\z` match no character: they are not merged into a class.
const EMPTY_WIDTH_ESCAPES = ['b', 'B', 'A', 'z'];

/**
 * An estimate, from the text alone, of the RE2 program a pattern compiles to, counted
 * repetitions expanded: one instruction per character or class, one per `+`, `?` and per
 * alternative, one or two per `*`, two per capturing group, `x{n,m}` as m copies of x plus m−n. It matches
 * RE2JS's `programSize` on plain patterns and is above it where RE2 simplifies (merged or
 * factored alternatives), so it can refuse a pattern before compiling it. Linear in the text.
 */
export function expandedSize(source: string): number {
  const stack: Frame[] = [];
  let f = frame(false);
  const atom = (size: number, single: boolean): void => {
    f.seq += size;
    f.atoms++;
    f.single = f.atoms === 1 && single;
    f.last = size;
    f.lastSingle = single;
  };
  const repeat = (size: number): void => {
    if (f.last < 0) return; // nothing to repeat: RE2 refuses it
    f.seq += size - f.last;
    f.last = size;
    f.lastSingle = false;
    f.single = false;
  };
  // `x*` is x and a loop; RE2 adds one more where x may match empty, which only a group can.
  const star = (): number => f.last + (f.lastSingle ? 1 : 2);
  const endBranch = (): void => {
    f.done += Math.max(f.seq, 1); // an empty alternative is one no-op
    f.branches++;
    f.singles &&= f.single;
    f.seq = 0;
    f.atoms = 0;
    f.single = false;
    f.last = -1;
    f.lastSingle = false;
  };
  const close = (): { size: number; single: boolean } => {
    endBranch();
    const merged = f.branches > 1 && f.singles;
    const body = merged ? 1 : f.done + f.branches - 1;
    return { size: body + (f.capture ? 2 : 0), single: !f.capture && (merged || (f.branches === 1 && f.singles)) };
  };

  let i = 0;
  let counted: RegExpExecArray | null;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\' && source[i + 1] === 'Q') {
      const end = source.indexOf('\\E', i + 2);
      const stop = end < 0 ? source.length : end;
      for (let j = i + 2; j < stop; j++) atom(1, true);
      i = end < 0 ? source.length : end + 2;
    } else if (c === '\\') {
      atom(1, !EMPTY_WIDTH_ESCAPES.includes(source[i + 1] ?? ''));
      i = escapeEnd(source, i);
    } else if (c === '[') {
      atom(1, true);
      i = classEnd(source, i);
    } else if (c === '(') {
      // `(`, `(?:`, `(?i:`, `(?P<name>`, `(?<name>`; `(?i)` sets flags and opens nothing.
      // Anything else after `(?` is an error RE2 reports; counted as a group, to stay an upper bound.
      const head = source[i + 1] === '?' ? groupHeadAt(source, i) : null;
      if (head?.[1]?.endsWith(')')) {
        i += head[0].length;
        continue;
      }
      stack.push(f);
      f = frame(head ? head[2] !== undefined : source[i + 1] !== '?');
      i += head ? head[0].length : source[i + 1] === '?' ? 2 : 1;
    } else if (c === ')') {
      const parent = stack.pop();
      if (parent) {
        const group = close();
        f = parent;
        atom(group.size, group.single);
      }
      i++;
    } else if (c === '|') {
      endBranch();
      i++;
    } else if (c === '*' || c === '+' || c === '?') {
      repeat(c === '*' ? star() : f.last + 1);
      i += source[i + 1] === '?' ? 2 : 1; // `*?`: the same size, non-greedy
    } else if (c === '{' && (counted = repeatAt(source, i))) {
      const m = counted;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
      const size = max === undefined ? (min === 0 ? star() : min * f.last + 1) : Math.max(max * f.last + (max - min), 1);
      repeat(size);
      i += m[0].length;
      if (source[i] === '?') i++;
    } else {
      atom(1, c !== '^' && c !== '$');
      i++;
    }
  }
  while (stack.length > 0) {
    const group = close();
    f = stack.pop() as Frame;
    atom(group.size, group.single);
  }
  return close().size + 2;
}

/** Why a pattern is too big to run on the request path, or undefined when it is within the bounds. */
export function sizeProblem(source: string): string | undefined {
  if (source.length > MAX_PATTERN_LENGTH) return `too long (${source.length} characters, at most ${MAX_PATTERN_LENGTH})`;
  const estimate = expandedSize(source);
  if (estimate > ESTIMATE_SLACK * MAX_PATTERN_INSTRUCTIONS) {
    return `too large (~${estimate} RE2 instructions, at most ${MAX_PATTERN_INSTRUCTIONS})`;
  }
  return undefined;
}

/**
 * Compiles a mutable-tag pattern, or explains why it cannot be used. The pattern must match the
 * whole tag whatever the author wrote, so `dev` matches `dev` and not `devops`.
 */
export function compileTagPattern(source: string): TagPattern | string {
  const tooBig = sizeProblem(source);
  if (tooBig) return tooBig;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (err) {
    const message = (err as Error).message.replace(/^error parsing regexp: /i, '');
    return `not an RE2 (linear-time) regular expression: ${message}`;
  }
  const size = compiled.programSize();
  if (size > MAX_PATTERN_INSTRUCTIONS) return `too large (${size} RE2 instructions, at most ${MAX_PATTERN_INSTRUCTIONS})`;
  const memo = new Map<string, boolean>();
  return {
    source,
    test(tag: string): boolean {
      let answer = memo.get(tag);
      if (answer === undefined) {
        // Full match through the Matcher: one-pass or bit-state engine, O(program × tag).
        answer = compiled.matcher(tag).matches();
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(tag, answer);
      }
      return answer;
    },
  };
}

// Compiled patterns by source, shared by the config and every namespace, so each distinct
// pattern is compiled (or refused) once. Bounded; the oldest entry goes first, and a hit
// makes an entry the newest, so the patterns in use stay.
const cache = new Map<string, TagPattern | string>();
const CACHE_LIMIT = 512;

/** compileTagPattern, once per distinct source. */
export function tagPatternFor(source: string): TagPattern | string {
  let compiled = cache.get(source);
  if (compiled !== undefined) {
    cache.delete(source);
  } else {
    compiled = compileTagPattern(source);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  }
  cache.set(source, compiled);
  return compiled;
}
