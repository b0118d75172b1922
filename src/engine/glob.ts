// Image globs for `exemptImages`: `*` matches any run of characters (slashes included, so
// `localhost:5000/*` covers nested paths) and `?` one character; everything else is literal.

/** Compiles a glob into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** One matcher for a list of globs; an empty list matches nothing. */
export function compileGlobs(globs: readonly string[]): (value: string) => boolean {
  if (globs.length === 0) return () => false;
  const combined = new RegExp(globs.map((g) => `(?:${globToRegExp(g).source})`).join('|'));
  return (value) => combined.test(value);
}
