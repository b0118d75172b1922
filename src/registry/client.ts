// A small distribution-spec v2 client for one question: which digest does a tag point to now,
// and what is in a manifest? `HEAD /v2/<name>/manifests/<tag>` with the four manifest media
// types accepted; `GET` where HEAD is refused (405) or carries no `Docker-Content-Digest`, the
// body's sha256 checked. Anonymous, Basic, and the Bearer token flow of `WWW-Authenticate`
// (the host's challenge learnt once per run from `GET /v2/`; tokens cached until they expire). One request per distinct reference per run, each manifest
// read by digest at most once, bounded concurrency, a timeout per request and a deadline per
// run; a 429 is reported with its Retry-After, and that registry is not asked again in the run.
//
// No npm package does HEAD with all four media types, token caching and 429 handling (see
// docs/audit.md); this is built on Node's fetch.

import { createHash } from 'node:crypto';
import type { Credential } from './credentials.js';
import { MANIFEST_ACCEPT, bareMediaType, isIndex } from './media-types.js';
import { type Challenge, parseChallenge } from './www-authenticate.js';

export type UncheckedReason = 'unreachable' | 'timeout' | 'unauthorized' | 'rate-limited' | 'not-found' | 'protocol';

/** A reference that could not be resolved: why, in words that carry no credential. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly reason: UncheckedReason,
    message: string,
    /** Seconds the registry asked us to wait (429 Retry-After), when it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface IndexEntry {
  digest: string;
  mediaType?: string;
  platform?: Platform;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  /** An index's (or manifest list's) entries. */
  manifests?: IndexEntry[];
  /** An image manifest's config digest. */
  configDigest?: string;
}

export interface TagResolution {
  digest: string;
  mediaType: string;
  /** The index body, read when the tag is an index (one GET), for the platform choice. */
  index?: Manifest;
}

/** What `fetch` needs from us; tests pass the real fetch, a registry double serves it. */
export type Fetch = typeof fetch;

export interface RegistryClientOptions {
  /** Hosts (host or host:port) spoken to over plain HTTP; every other host is HTTPS. */
  insecureHosts?: Iterable<string>;
  /** Per request, default 5 s. */
  timeoutMs?: number;
  /** Epoch milliseconds after which no request starts (the run's deadline). */
  deadline?: number;
  /** Requests in flight at once, default 8. */
  concurrency?: number;
  fetch?: Fetch;
  userAgent?: string;
  now?: () => number;
}

interface CachedToken {
  token: string;
  expires: number;
}

/** Docker Hub's API host; `docker.io` names it in references only. */
export function apiHost(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

function retryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function parseManifest(digest: string, mediaType: string | undefined, body: Buffer): Manifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new RegistryError('protocol', `manifest ${digest} is not JSON`);
  }
  const type = mediaType ?? (typeof json.mediaType === 'string' ? json.mediaType : '');
  const out: Manifest = { digest, mediaType: type };
  if (isIndex(type) || Array.isArray(json.manifests)) {
    out.manifests = ((json.manifests ?? []) as Record<string, any>[])
      .filter((m) => typeof m?.digest === 'string')
      .map((m) => ({
        digest: m.digest as string,
        ...(typeof m.mediaType === 'string' ? { mediaType: m.mediaType } : {}),
        ...(m.platform && typeof m.platform.os === 'string' && typeof m.platform.architecture === 'string'
          ? { platform: { os: m.platform.os, architecture: m.platform.architecture, ...(typeof m.platform.variant === 'string' ? { variant: m.platform.variant } : {}) } }
          : {}),
      }));
  } else {
    const config = (json.config as { digest?: unknown } | undefined)?.digest;
    if (typeof config === 'string') out.configDigest = config;
  }
  return out;
}

/** A counting semaphore: at most `limit` callers inside at once. */
class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

export class RegistryClient {
  private readonly insecure: Set<string>;
  private readonly timeoutMs: number;
  private readonly deadline: number;
  private readonly fetch: Fetch;
  private readonly userAgent: string;
  private readonly now: () => number;
  private readonly limiter: Limiter;
  private readonly tags = new Map<string, Promise<TagResolution>>();
  private readonly manifests = new Map<string, Promise<Manifest>>();
  private readonly tokens = new Map<string, CachedToken>();
  /** Registries that answered 429: not asked again this run. */
  private readonly limited = new Map<string, RegistryError>();
  /** Each host's challenge from its `GET /v2/`, asked once per run. */
  private readonly challenges = new Map<string, Promise<Challenge | undefined>>();
  /** Requests sent, by kind, for the run's summary: manifest HEADs and GETs, tokens, version checks. */
  readonly sent = { head: 0, get: 0, token: 0, ping: 0 };

  constructor(opts: RegistryClientOptions = {}) {
    this.insecure = new Set(opts.insecureHosts ?? []);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.deadline = opts.deadline ?? Number.POSITIVE_INFINITY;
    this.fetch = opts.fetch ?? fetch;
    this.userAgent = opts.userAgent ?? 'pullfix';
    this.now = opts.now ?? Date.now;
    this.limiter = new Limiter(opts.concurrency ?? 8);
  }

  private base(domain: string): string {
    const host = apiHost(domain);
    return `${this.insecure.has(host) || this.insecure.has(domain) ? 'http' : 'https'}://${host}`;
  }

  /**
   * The digest `domain/path:tag` points to now (and, for an index, its body). Memoised per
   * reference and credential: many pods of one image cost one request.
   */
  resolveTag(domain: string, path: string, tag: string, credential?: Credential): Promise<TagResolution> {
    const key = `${domain}/${path}:${tag}\0${credential?.username ?? ''}`;
    let pending = this.tags.get(key);
    if (!pending) {
      pending = this.headTag(domain, path, tag, credential);
      this.tags.set(key, pending);
    }
    return pending;
  }

  /** The manifest `digest` of `domain/path`, read once per run (its sha256 checked). */
  manifest(domain: string, path: string, digest: string, credential?: Credential): Promise<Manifest> {
    const key = `${domain}/${path}@${digest}`;
    let pending = this.manifests.get(key);
    if (!pending) {
      pending = this.getManifest(domain, path, digest, credential);
      this.manifests.set(key, pending);
    }
    return pending;
  }

  private async headTag(domain: string, path: string, tag: string, credential?: Credential): Promise<TagResolution> {
    const url = `${this.base(domain)}/v2/${path}/manifests/${encodeURIComponent(tag)}`;
    const head = await this.send('HEAD', url, domain, path, credential);
    const headType = bareMediaType(head.headers.get('content-type'));
    const headDigest = head.headers.get('docker-content-digest');
    if (head.status === 200 && headDigest) {
      const resolution: TagResolution = { digest: headDigest, mediaType: headType ?? '' };
      if (isIndex(headType)) resolution.index = await this.manifest(domain, path, headDigest, credential);
      return resolution;
    }
    if (head.status !== 200 && head.status !== 405) throw this.failure(head.status, `${domain}/${path}:${tag}`, head.headers);
    // HEAD refused, or no digest header: GET the tag, and the digest is the body's.
    const got = await this.send('GET', url, domain, path, credential);
    if (got.status !== 200) throw this.failure(got.status, `${domain}/${path}:${tag}`, got.headers);
    const body = Buffer.from(await got.arrayBuffer());
    const digest = sha256(body);
    const claimed = got.headers.get('docker-content-digest');
    if (claimed && claimed.startsWith('sha256:') && claimed !== digest) throw new RegistryError('protocol', `${domain}/${path}:${tag}: the body's digest ${digest} is not the Docker-Content-Digest ${claimed}`);
    const mediaType = bareMediaType(got.headers.get('content-type')) ?? '';
    const manifest = parseManifest(digest, mediaType, body);
    this.manifests.set(`${domain}/${path}@${digest}`, Promise.resolve(manifest));
    return { digest, mediaType, ...(manifest.manifests ? { index: manifest } : {}) };
  }

  private async getManifest(domain: string, path: string, digest: string, credential?: Credential): Promise<Manifest> {
    const url = `${this.base(domain)}/v2/${path}/manifests/${digest}`;
    const got = await this.send('GET', url, domain, path, credential);
    if (got.status !== 200) throw this.failure(got.status, `${domain}/${path}@${digest}`, got.headers);
    const body = Buffer.from(await got.arrayBuffer());
    if (digest.startsWith('sha256:') && sha256(body) !== digest) throw new RegistryError('protocol', `${domain}/${path}@${digest}: the body does not hash to its digest`);
    return parseManifest(digest, bareMediaType(got.headers.get('content-type')), body);
  }

  private failure(status: number, what: string, headers: Headers): RegistryError {
    if (status === 401 || status === 403) return new RegistryError('unauthorized', `${what}: HTTP ${status} (credentials missing or refused)`);
    if (status === 404) return new RegistryError('not-found', `${what}: HTTP 404 (no such repository or tag)`);
    if (status === 429) {
      const after = retryAfter(headers.get('retry-after'), this.now());
      return new RegistryError('rate-limited', `${what}: HTTP 429 (rate limited${after !== undefined ? `, retry after ${after} s` : ''})`, after);
    }
    return new RegistryError('protocol', `${what}: HTTP ${status}`);
  }

  /**
   * What `host` asks of clients, from one `GET /v2/` per run (the distribution spec's version
   * check, which docker and containerd make too): `undefined` when it answers 200 (anonymous), the
   * challenge when it answers 401. Knowing it up front, every manifest request carries its
   * credentials from the first try, so a reference costs one HEAD, never a 401 and a retry.
   */
  private challengeFor(host: string, base: string): Promise<Challenge | undefined> {
    let pending = this.challenges.get(host);
    if (!pending) {
      pending = (async () => {
        this.sent.ping++;
        const res = await this.request('GET', `${base}/v2/`, undefined, false);
        await res.arrayBuffer().catch(() => undefined);
        if (res.status === 429) throw this.failure(429, host, res.headers);
        return res.status === 401 ? parseChallenge(res.headers.get('www-authenticate')) : undefined;
      })();
      this.challenges.set(host, pending);
    }
    return pending;
  }

  /** The Authorization header a challenge calls for (a token fetched and cached for Bearer). */
  private async authorize(challenge: Challenge | undefined, host: string, scope: string, credential: Credential | undefined): Promise<string | undefined> {
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      const key = `${host}\0${scope}\0${credential?.username ?? ''}`;
      const cached = this.tokens.get(key);
      if (cached && cached.expires > this.now()) return `Bearer ${cached.token}`;
      const token = await this.token(challenge.params.realm, challenge.params.service, scope, credential);
      this.tokens.set(key, token);
      return `Bearer ${token.token}`;
    }
    if (challenge?.scheme === 'basic' && credential) return basic(credential);
    return undefined;
  }

  /**
   * One request, with the credentials the host's challenge calls for; on a 401 whose challenge
   * asks for something else (another scope), that and one retry. Never loops: a second 401 is
   * the answer.
   */
  private async send(method: 'HEAD' | 'GET', url: string, domain: string, path: string, credential?: Credential): Promise<Response> {
    const host = apiHost(domain);
    const limited = this.limited.get(host);
    if (limited) throw limited;
    const scope = `repository:${path}:pull`;
    let authorization = await this.authorize(await this.challengeFor(host, this.base(domain)), host, scope, credential);
    let res = await this.request(method, url, authorization);
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      const retry = await this.authorize(challenge, host, challenge?.params.scope ?? scope, credential);
      if (retry === undefined || retry === authorization) return res;
      authorization = retry;
      await res.arrayBuffer().catch(() => undefined);
      res = await this.request(method, url, authorization);
    }
    if (res.status === 429) this.limited.set(host, this.failure(429, host, res.headers));
    return res;
  }

  private async token(realm: string, service: string | undefined, scope: string, credential?: Credential): Promise<CachedToken> {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    this.sent.token++;
    const res = await this.request('GET', url.toString(), credential ? basic(credential) : undefined, false);
    if (res.status !== 200) throw this.failure(res.status, `token from ${url.host}`, res.headers);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = (await res.json()) as typeof json;
    } catch {
      throw new RegistryError('protocol', `token from ${url.host}: not JSON`);
    }
    const token = typeof json.token === 'string' ? json.token : typeof json.access_token === 'string' ? json.access_token : undefined;
    if (!token) throw new RegistryError('protocol', `token from ${url.host}: no token in the answer`);
    // distribution's token spec: 60 s when the server does not say; renewed a little early.
    const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60;
    return { token, expires: this.now() + Math.max(1, lifetime - 10) * 1000 };
  }

  private request(method: 'HEAD' | 'GET', url: string, authorization: string | undefined, manifest = true): Promise<Response> {
    return this.limiter.run(async () => {
      const left = this.deadline - this.now();
      if (left <= 0) throw new RegistryError('timeout', `${new URL(url).host}: the run's deadline passed before this request`);
      const timeout = Math.min(this.timeoutMs, left);
      if (manifest) this.sent[method === 'HEAD' ? 'head' : 'get']++;
      try {
        return await this.fetch(url, {
          method,
          headers: { ...(manifest ? { Accept: MANIFEST_ACCEPT } : {}), 'User-Agent': this.userAgent, ...(authorization ? { Authorization: authorization } : {}) },
          redirect: 'follow',
          signal: AbortSignal.timeout(timeout),
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new RegistryError('timeout', `${new URL(url).host}: no answer in ${timeout / 1000} s`);
        throw new RegistryError('unreachable', `${new URL(url).host}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
      }
    });
  }
}

function basic(credential: Credential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}
