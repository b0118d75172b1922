// `fix --exclude GLOB`: which files and directories a directory walk leaves out. The syntax is
// a small, .gitignore-like subset, matched against paths relative to the directory given,
// with `/` between segments:
//   *    any run of characters within one segment (not `/`)
//   ?    one character, not `/`
//   **   a whole segment: any number of segments, none included (`charts/**/templates`)
//   a glob with no `/` matches a name at any depth (`templates`, `*.json`)
//   a glob with a `/` matches from the directory given (`charts/*/templates`)
// Everything else is literal. A matching directory is not descended into. Node's
// path.matchesGlob would do, but it arrived in Node 20.17 and pullfix runs on 20.9.
//
import { matchWildcards } from '../engine/glob.js';

// Matching takes time proportional to the glob's length times the path's, in the worst case:
// a segment's stars are matched by the two-pointer method (no backtracking), and `**` by
// a table of (glob segment, path segment) pairs already answered.

/** Whether `glob` (one segment, `*` and `?`) matches all of `name`: the engine's two-pointer match. */
export const matchSegment = matchWildcards;

function segmentsOf(p: string): string[] {
  return p.split('/').filter((s, i, all) => s !== '' && !(s === '.' && i < all.length - 1));
}

/** A matcher for one glob, for `/`-separated relative paths. */
export function compilePathGlob(glob: string): (relPath: string) => boolean {
  const trimmed = glob.replace(/^\.\//, '').replace(/\/+$/, '');
  const anchored = trimmed.includes('/');
  const pattern = [...(anchored ? [] : ['**']), ...segmentsOf(trimmed)];
  return (relPath) => {
    const parts = segmentsOf(relPath);
    const known = new Map<number, boolean>();
    const match = (i: number, j: number): boolean => {
      const key = i * (parts.length + 1) + j;
      const seen = known.get(key);
      if (seen !== undefined) return seen;
      let answer: boolean;
      if (i === pattern.length) answer = j === parts.length;
      else if (pattern[i] === '**') answer = match(i + 1, j) || (j < parts.length && match(i, j + 1));
      else answer = j < parts.length && matchSegment(pattern[i] as string, parts[j] as string) && match(i + 1, j + 1);
      known.set(key, answer);
      return answer;
    };
    return pattern.length > 0 && match(0, 0);
  };
}

/** One matcher for several globs (`--exclude` is repeatable); none matches nothing. */
export function compileExcludes(globs: readonly string[]): (relPath: string) => boolean {
  const matchers = globs.map(compilePathGlob);
  return (relPath) => matchers.some((m) => m(relPath));
}
