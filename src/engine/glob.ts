// Image globs for `exemptImages`: `*` matches any run of characters (slashes included, so
// `localhost:5000/*` covers nested paths) and `?` one character; everything else is literal.
// "Character" is a UTF-16 unit, and neither wildcard matches a line break (\n, \r, U+2028,
// U+2029): that is what the RegExp these globs used to compile to meant, kept exactly.
//
// Matching does not use that RegExp: a backtracking engine takes time that grows as the
// image's length to the power of the number of stars (`*a*a*a*a*a*a*a*a*b` took 2.5 s against
// 40 characters and had not finished after 100 s against 65),
// and the config, the krm function config and `fix --config` all reach it. The matcher below
// is the classic two-pointer wildcard match, O(image length × glob length) at worst.

/** Compiles a glob into an anchored regular expression (for the CEL the policy generator writes; RE2 runs it there). */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?

function isLineBreak(unit: number): boolean {
  return unit === 0x0a || unit === 0x0d || unit === 0x2028 || unit === 0x2029;
}

/**
 * Whether `glob[gFrom, gTo)` matches all of `value[vFrom, vTo)`, where the value slice holds no
 * line break. The classic algorithm: on a mismatch, only the most recent `*` takes one more
 * character. Going back to an earlier star never helps, as the later one can absorb
 * whatever the earlier one would, so each value position is revisited at most once per star
 * and the cost is O(value × glob), with no backtracking stack.
 */
function matchPiece(glob: string, gFrom: number, gTo: number, value: string, vFrom: number, vTo: number): boolean {
  let g = gFrom;
  let v = vFrom;
  let star = -1; // glob position just after the last `*` seen
  let starV = 0; // value position that `*` has absorbed up to
  while (v < vTo) {
    const unit = g < gTo ? glob.charCodeAt(g) : -1;
    if (unit === STAR) {
      star = ++g;
      starV = v;
    } else if (unit !== -1 && (unit === QUESTION || unit === value.charCodeAt(v))) {
      g++;
      v++;
    } else if (star !== -1) {
      g = star;
      v = ++starV;
    } else {
      return false;
    }
  }
  while (g < gTo && glob.charCodeAt(g) === STAR) g++;
  return g === gTo;
}

/** Whether `glob` (`*` any run, `?` one unit, the rest literal) matches all of `value`, line breaks being ordinary characters. */
export function matchWildcards(glob: string, value: string): boolean {
  return matchPiece(glob, 0, glob.length, value, 0, value.length);
}

/**
 * Whether `glob` matches the whole of `value`. No wildcard matches a line break, so every line
 * break of the value must meet the same line break, literal, in the glob, in order: both are
 * cut there and the pieces matched pairwise, each without line breaks.
 */
export function matchGlob(glob: string, value: string): boolean {
  let g = 0;
  let v = 0;
  for (;;) {
    let gEnd = g;
    while (gEnd < glob.length && !isLineBreak(glob.charCodeAt(gEnd))) gEnd++;
    let vEnd = v;
    while (vEnd < value.length && !isLineBreak(value.charCodeAt(vEnd))) vEnd++;
    if (!matchPiece(glob, g, gEnd, value, v, vEnd)) return false;
    const gDone = gEnd === glob.length;
    const vDone = vEnd === value.length;
    if (gDone || vDone) return gDone && vDone;
    if (glob.charCodeAt(gEnd) !== value.charCodeAt(vEnd)) return false;
    g = gEnd + 1;
    v = vEnd + 1;
  }
}

/** The glob's literal start, up to its first wildcard or line break: every match begins with it. */
function literalPrefix(glob: string): string {
  let i = 0;
  while (i < glob.length) {
    const unit = glob.charCodeAt(i);
    if (unit === STAR || unit === QUESTION || isLineBreak(unit)) break;
    i++;
  }
  return glob.slice(0, i);
}

/** Answers kept per matcher: images repeat from review to review. */
const KEPT_ANSWERS = 1024;

/**
 * One matcher for a list of globs; an empty list matches nothing. A value that does not start
 * with a glob's literal prefix is rejected without matching, and the last KEPT_ANSWERS answers
 * are kept (a Map in insertion order: the oldest goes first when it is full).
 */
export function compileGlobs(globs: readonly string[]): (value: string) => boolean {
  if (globs.length === 0) return () => false;
  const list = globs.map((glob) => ({ glob, prefix: literalPrefix(glob) }));
  const kept = new Map<string, boolean>();
  return (value) => {
    const known = kept.get(value);
    if (known !== undefined) return known;
    const answer = list.some(({ glob, prefix }) => value.startsWith(prefix) && matchGlob(glob, value));
    if (kept.size >= KEPT_ANSWERS) kept.delete(kept.keys().next().value as string);
    kept.set(value, answer);
    return answer;
  };
}
