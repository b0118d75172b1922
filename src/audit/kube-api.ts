// The few REST calls `pullfix audit` makes, over node's http(s) with the credentials of an
// endpoint and through an agent the command line gives it (src/cluster/kube-endpoint.ts reads
// both from the kubeconfig, as for `serve`). Bodies stay raw JSON: the typed models drop fields
// they do not know (SPEC §2), and the engine must see what the API server sent.

import http from 'node:http';
import https from 'node:https';

/** Where the API server is and how to authenticate (the cluster layer's KubeEndpoint has this shape). */
export interface ApiEndpoint {
  server: URL;
  requestOptions(): https.RequestOptions | Promise<https.RequestOptions>;
  origin: string;
  /** The kubeconfig context (none in a cluster). */
  context?: string;
  /** The context's namespace, or the service account's. */
  namespace?: string;
}

/** A metav1.Status, as the API server sends it with an error. */
export interface Status {
  kind: 'Status';
  message?: string;
  reason?: string;
  code?: number;
  details?: { group?: string; kind?: string; name?: string; causes?: Array<{ type?: string; message?: string }> };
}

/** The API server answered with an error status. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly code: number,
    readonly status: Status | undefined,
  ) {
    super(`${method} ${path}: HTTP ${code}${status?.reason ? ` ${status.reason}` : ''}${status?.message ? `: ${status.message}` : ''}`);
  }
}

/** No answer at all: refused, reset, timed out, a TLS failure, a name that does not resolve. */
export class KubeUnreachableError extends Error {
  override readonly name = 'KubeUnreachableError';
  constructor(
    readonly server: string,
    readonly code: string | undefined,
    readonly detail: string,
  ) {
    super(`cannot reach the Kubernetes API at ${server}: ${detail}`);
  }
}

const WHY: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'timed out',
};

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
}

export class KubeApi {
  constructor(
    readonly endpoint: ApiEndpoint,
    /** Keep-alive, and through the kubeconfig's proxy when it names one. */
    private readonly agent: http.Agent,
    private readonly timeoutMs = 30_000,
  ) {}

  /** The API server, as the kubeconfig writes it. */
  get server(): string {
    return this.endpoint.server.href.replace(/\/+$/, '');
  }

  /** Closes idle keep-alive connections, so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const server = this.server.replace(/\/+$/, '');
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) query.set(key, value);
    const url = new URL(`${server}${path}${query.toString() ? `?${query.toString()}` : ''}`);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    // Credentials first: an exec plugin that fails is the user's to fix (a UserError), not an unreachable server.
    const auth = await this.endpoint.requestOptions();
    const opts: https.RequestOptions = {
      ...auth,
      agent: this.agent,
      method,
      headers: {
        ...auth.headers,
        Accept: 'application/json',
        'User-Agent': 'pullfix-audit',
        ...(body !== undefined ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
      },
    };
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err: NodeJS.ErrnoException) => reject(new KubeUnreachableError(this.server, err.code, err.message)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) {
            if (parsed === undefined) reject(new KubeApiError(method, path, code, { kind: 'Status', message: 'the response is not JSON' }));
            else resolve(parsed);
            return;
          }
          const status = typeof parsed === 'object' && parsed !== null && (parsed as Status).kind === 'Status' ? (parsed as Status) : undefined;
          reject(new KubeApiError(method, path, code, status ?? (text ? { kind: 'Status', message: text.slice(0, 200) } : undefined)));
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(new KubeUnreachableError(this.server, err.code, err.code && WHY[err.code] ? `${WHY[err.code]} (${err.code})` : err.message));
      });
      req.end(body);
    });
  }
}
