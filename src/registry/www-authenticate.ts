// The `WWW-Authenticate` challenge of a registry's 401 (RFC 7235, as distribution's token auth
// uses it): `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:pull"`
// or `Basic realm="Registry Realm"`.

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const PARAM = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/y;

/** The first challenge of the header, scheme lower-cased; undefined when there is none to read. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][\w-]*)\s*/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  let i = m[0].length;
  for (;;) {
    PARAM.lastIndex = i;
    const p = PARAM.exec(header);
    if (!p) break;
    params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    i = PARAM.lastIndex;
    const comma = /^\s*,\s*/.exec(header.slice(i));
    if (!comma) break;
    i += comma[0].length;
  }
  return { scheme: (m[1] as string).toLowerCase(), params };
}
