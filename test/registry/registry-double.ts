// A registry double on loopback for the protocol corners a real registry cannot be made to
// show on demand (a token service, 405 on HEAD, 429): shaped like distribution's answers, and
// counting every request it gets.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Blob {
  body: string;
  mediaType: string;
}

export interface DoubleOptions {
  /** Require a Bearer token from /token (given Basic user:pass when set). */
  bearer?: { user?: string; pass?: string };
  /** Require Basic user:pass on every request (distribution's htpasswd). */
  basic?: { user: string; pass: string };
  headNotAllowed?: boolean;
  /** Answer every manifest request 429 with this Retry-After. */
  rateLimit?: string;
}

export const digestOf = (body: string): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;

export class RegistryDouble {
  /** `repo:tag` or `repo@digest` → manifest. */
  readonly manifests = new Map<string, Blob>();
  readonly requests: Array<{ method: string; url: string; authorization?: string }> = [];
  private server: http.Server | undefined;
  host = '';

  constructor(private readonly opts: DoubleOptions = {}) {}

  /** Stores `body` under repo@digest and, with `tag`, repo:tag; returns the digest. */
  put(repo: string, body: object, mediaType: string, tag?: string): string {
    const text = JSON.stringify(body);
    const digest = digestOf(text);
    this.manifests.set(`${repo}@${digest}`, { body: text, mediaType });
    if (tag) this.manifests.set(`${repo}:${tag}`, { body: text, mediaType });
    return digest;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    this.requests.push({ method: req.method ?? '', url, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const { bearer } = this.opts;
    if (url.startsWith('/token')) {
      const want = bearer?.user ? `Basic ${Buffer.from(`${bearer.user}:${bearer.pass}`).toString('base64')}` : undefined;
      if (want && req.headers.authorization !== want) return void res.writeHead(401).end();
      const scope = new URL(url, 'http://x').searchParams.get('scope') ?? '';
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `t-${scope}`, expires_in: 300 }));
    }
    const { basic } = this.opts;
    if (basic && req.headers.authorization !== `Basic ${Buffer.from(`${basic.user}:${basic.pass}`).toString('base64')}`) {
      return void res.writeHead(401, { 'www-authenticate': 'Basic realm="double"' }).end();
    }
    // The version check: a token registry challenges it without a scope, as Docker Hub does.
    if (url === '/v2/') {
      if (bearer) return void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${this.host}/token",service="double"` }).end();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url);
    if (!m) return void res.writeHead(404).end();
    const [, repo, reference] = m as unknown as [string, string, string];
    if (bearer && req.headers.authorization !== `Bearer t-repository:${repo}:pull`) {
      return void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${this.host}/token",service="double",scope="repository:${repo}:pull"` }).end();
    }
    if (this.opts.rateLimit) return void res.writeHead(429, { 'retry-after': this.opts.rateLimit }).end();
    if (req.method === 'HEAD' && this.opts.headNotAllowed) return void res.writeHead(405).end();
    const blob = this.manifests.get(reference.startsWith('sha256:') ? `${repo}@${reference}` : `${repo}:${reference}`);
    if (!blob) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    res.writeHead(200, { 'content-type': blob.mediaType, 'docker-content-digest': digestOf(blob.body), 'content-length': Buffer.byteLength(blob.body) });
    res.end(req.method === 'HEAD' ? undefined : blob.body);
  }
}
