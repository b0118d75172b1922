// The few REST calls `pullfix audit` makes, over node's http(s) with the credentials of the
// endpoint (src/cluster/kube-endpoint.ts, the reader `serve` uses too). Bodies stay raw JSON: the
// typed models drop fields they do not know (SPEC §2), and the engine must see what the API
// server sent.

import http from 'node:http';
import https from 'node:https';
import { endpointAgent, type KubeEndpoint } from '../cluster/kube-endpoint.js';

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
  private readonly agent: http.Agent;

  constructor(
    readonly endpoint: KubeEndpoint,
    private readonly timeoutMs = 30_000,
  ) {
    this.agent = endpointAgent(endpoint, { keepAlive: true, maxSockets: 4 });
  }

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
