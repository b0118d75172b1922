// Registry credentials as the kubelet finds them: Docker config files (`config.json`'s `auths`,
// the `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`, the older
// `kubernetes.io/dockercfg` Secret's `.dockercfg`), each key matched against an image by
// registry host — `*` globs one DNS label, the port must be equal, a key's path must prefix the
// repository — the most specific key first (pkg/credentialprovider keyring.go).

export interface Credential {
  username: string;
  password: string;
  /** Where it came from, for messages: `secret shop/regcred`, `--registry-config FILE`. Never the secret itself. */
  source: string;
}

interface Entry {
  host: string;
  port: string;
  path: string;
  credential: Credential;
}

/** Docker Hub's names for itself: a key for any of them serves docker.io images. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

function canonicalHost(host: string): string {
  return DOCKER_HUB.has(host) ? 'docker.io' : host;
}

/** `https://index.docker.io/v1/`, `reg.example:5000/team`, `*.gcr.io` → host, port, path. */
function parseKey(key: string): Omit<Entry, 'credential'> | undefined {
  let rest = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  rest = rest.replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const hostPort = slash >= 0 ? rest.slice(0, slash) : rest;
  let path = slash >= 0 ? rest.slice(slash + 1) : '';
  const colon = hostPort.lastIndexOf(':');
  const host = (colon >= 0 ? hostPort.slice(0, colon) : hostPort).toLowerCase();
  const port = colon >= 0 ? hostPort.slice(colon + 1) : '';
  if (!host) return undefined;
  // Docker Hub's legacy key carries its API version as a path: it is not a repository prefix.
  if (DOCKER_HUB.has(host) && /^v[12]$/.test(path)) path = '';
  return { host: canonicalHost(host), port, path };
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.split('.');
  const h = host.split('.');
  if (p.length !== h.length) return false;
  return p.every((label, i) => label === h[i] || (label.includes('*') && new RegExp(`^${label.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`).test(h[i] as string)));
}

function decodeAuth(auth: string): { username: string; password: string } | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon > 0 ? { username: text.slice(0, colon), password: text.slice(colon + 1) } : undefined;
}

export class Keyring {
  private readonly entries: Entry[] = [];

  /**
   * Adds the entries of a Docker config: `{auths: {KEY: {auth | username+password}}}` or, with
   * `legacy` (dockercfg), `{KEY: {...}}`. Entries without usable credentials are skipped;
   * returns how many were added.
   */
  add(config: unknown, source: string, legacy = false): number {
    const auths = legacy ? config : (config as { auths?: unknown } | null)?.auths;
    if (typeof auths !== 'object' || auths === null) return 0;
    let added = 0;
    for (const [key, value] of Object.entries(auths as Record<string, unknown>)) {
      if (typeof value !== 'object' || value === null) continue;
      const v = value as Record<string, unknown>;
      const pair = typeof v.auth === 'string' && v.auth !== ''
        ? decodeAuth(v.auth)
        : typeof v.username === 'string' && typeof v.password === 'string' ? { username: v.username, password: v.password } : undefined;
      const parsed = parseKey(key);
      if (!pair || !parsed) continue;
      this.entries.push({ ...parsed, credential: { ...pair, source } });
      added++;
    }
    return added;
  }

  /**
   * The credentials whose key matches `domain/path` (an image's registry host[:port] and
   * repository), most specific first: a longer path prefix, then a host without globs.
   */
  lookup(domain: string, path: string): Credential[] {
    const colon = domain.lastIndexOf(':');
    const host = canonicalHost((colon >= 0 ? domain.slice(0, colon) : domain).toLowerCase());
    const port = colon >= 0 ? domain.slice(colon + 1) : '';
    return this.entries
      .filter((e) => e.port === port && hostMatches(e.host, host) && (e.path === '' || path === e.path || path.startsWith(`${e.path}/`)))
      .sort((a, b) => b.path.length - a.path.length || Number(a.host.includes('*')) - Number(b.host.includes('*')))
      .map((e) => e.credential);
  }

  get size(): number {
    return this.entries.length;
  }
}
