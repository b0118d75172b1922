// GET requests to the API server over one keep-alive agent: whole answers (lists, one
// object) and open streams (watches). Only what the namespace cache needs.
import http from 'node:http';
import https from 'node:https';
import { endpointAgent, type KubeEndpoint } from './kube-endpoint.js';

/** The API server answered with an error status; `reason` is its Status message when it sent one. */
export class KubeStatusError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}${reason ? `: ${reason}` : ''}`);
    this.name = 'KubeStatusError';
  }
}

export interface KubeClient {
  readonly endpoint: KubeEndpoint;
  /** The parsed JSON answer of a GET; rejects with KubeStatusError on a status over 299. */
  getJson(path: string, accept: string, options?: { timeoutMs?: number; what?: string }): Promise<unknown>;
  /** Opens a GET whose answer streams (a watch); `abort` ends it. Rejects on a status over 299. */
  stream(path: string, accept: string, abort: AbortSignal, what: string): Promise<http.IncomingMessage>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

function statusReason(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    return typeof status.message === 'string' ? status.message.split('\n')[0]!.slice(0, 300) : '';
  } catch {
    return '';
  }
}

export function kubeClient(endpoint: KubeEndpoint): KubeClient {
  const secure = endpoint.server.protocol === 'https:';
  const transport = secure ? https : http;
  // One watch plus a list or a lookup at a time, and a few lookups when namespaces are created
  // in a burst: more sockets than that would only hide a leak.
  const agent = endpointAgent(endpoint, { keepAlive: true, maxSockets: 8 });
  const base = endpoint.server;
  const prefix = base.pathname.replace(/\/$/, '');

  async function open(path: string, accept: string, signal: AbortSignal | undefined, what: string): Promise<http.IncomingMessage> {
    const options = await endpoint.requestOptions();
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          ...options,
          agent,
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || (secure ? 443 : 80),
          path: prefix + path,
          method: 'GET',
          headers: { ...options.headers, accept, 'user-agent': 'pullfix' },
          ...(signal && { signal }),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(res);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('end', () => reject(new KubeStatusError(status, statusReason(Buffer.concat(chunks).toString('utf8')), what)));
          res.once('error', reject);
        },
      );
      req.once('error', (err) => reject(new Error(`${what}: ${err.message}`)));
      req.end();
    });
  }

  return {
    endpoint,
    async getJson(path, accept, options = {}) {
      const what = options.what ?? `GET ${path}`;
      const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
      try {
        const res = await open(path, accept, signal, what);
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      } catch (err) {
        if (signal?.aborted) throw new Error(`${what}: no answer within ${options.timeoutMs} ms`);
        throw err;
      }
    },
    stream(path, accept, abort, what) {
      return open(path, accept, abort, what);
    },
    close() {
      agent.destroy();
    },
  };
}
