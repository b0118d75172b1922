// Client side of the webhook tests: what the API server does (POST an AdmissionReview over
// HTTPS, verifying the serving certificate for the Service name against the caBundle), plus
// the plain-HTTP scrapes of /healthz, /readyz and /metrics.

// fast-json-patch is CommonJS: its functions come off the default export under ESM.
import fjp, { type Operation } from 'fast-json-patch';
import http from 'node:http';
import https from 'node:https';
import type { SecureVersion, TLSSocket } from 'node:tls';

/** The name the API server verifies: SERVICE.NAMESPACE.svc (make-dev-certs.sh puts it in the SANs). */
export const SERVICE_NAME = 'pullfix.pullfix-system.svc';

export interface Target {
  port: number;
  host?: string;
  /** PEM CA; when given the request is HTTPS, verified for `servername`. */
  ca?: Buffer;
  servername?: string;
  /** An agent to reuse connections on; `false` for a fresh connection. Default: a fresh one. */
  agent?: http.Agent | false;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
}

export interface SendOptions {
  method?: string;
  path?: string;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: http.OutgoingHttpHeaders;
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
}

export interface Reply<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: T;
  /** Serial of the certificate the server presented (upper-case hex); '' over plain HTTP. */
  serial: string;
  /** The client's port: the same value on two replies means the same connection. */
  localPort: number;
}

/** An AdmissionReview as pullfix answers it. */
export interface ReviewReply {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    patchType?: string;
    patch?: string;
    warnings?: string[];
    auditAnnotations?: Record<string, string>;
  };
}

/** A keep-alive agent that trusts `ca`, as the API server's transport does. */
export function keepAliveAgent(ca: Buffer, options: https.AgentOptions = {}): https.Agent {
  return new https.Agent({ keepAlive: true, ca, ...options });
}

function encode(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
}

/** Opens a request and sends its headers; the caller ends it. */
function open<T>(target: Target, options: SendOptions, body: Buffer | undefined): { req: http.ClientRequest; reply: Promise<Reply<T>> } {
  const headers: http.OutgoingHttpHeaders = {
    ...(body && { 'content-type': 'application/json' }),
    ...(body && !options.chunked && { 'content-length': body.length }),
    ...options.headers,
  };
  const common = { host: target.host ?? '127.0.0.1', port: target.port, method: options.method ?? 'GET', path: options.path ?? '/', headers };
  let req!: http.ClientRequest;
  const reply = new Promise<Reply<T>>((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const socket = res.socket as TLSSocket | null;
      const serial = target.ca && socket ? socket.getPeerCertificate().serialNumber : '';
      const localPort = socket?.localPort ?? 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed as T, serial, localPort });
      });
    };
    req = target.ca
      ? https.request(
          {
            ...common,
            ca: target.ca,
            servername: target.servername ?? SERVICE_NAME,
            agent: target.agent ?? false,
            ...(target.minVersion && { minVersion: target.minVersion }),
            ...(target.maxVersion && { maxVersion: target.maxVersion }),
          },
          onResponse,
        )
      : http.request({ ...common, agent: target.agent ?? false }, onResponse);
    req.on('error', reject);
  });
  return { req, reply };
}

/** One request; resolves with the whole response, rejects on a transport error. */
export function send<T = unknown>(target: Target, options: SendOptions = {}): Promise<Reply<T>> {
  const body = encode(options.body);
  const { req, reply } = open<T>(target, options, body);
  if (body && options.chunked) req.write(body);
  req.end(options.chunked ? undefined : body);
  return reply;
}

export interface HeldReview {
  /** Resolves when the server has the request in hand: it answered 100 Continue. */
  accepted: Promise<void>;
  /** Sends the body; resolves with the response. */
  release(): Promise<Reply<ReviewReply>>;
  /** Closes the connection without sending the body, as a client that went away. */
  abort(): void;
}

/**
 * POST /mutate with `Expect: 100-continue`, holding the body back: once `accepted` resolves
 * the request is in flight on the server (its handler is running and waits for the body), so
 * a test can shut the server down under it deterministically.
 */
export function holdReview(target: Target, review: unknown): HeldReview {
  const body = encode(review) ?? Buffer.alloc(0);
  const { req, reply } = open<ReviewReply>(target, { method: 'POST', path: MUTATE_PATH, headers: { expect: '100-continue' } }, body);
  // Rejections surface through whichever of the two promises the test awaits.
  reply.catch(() => {});
  const accepted = new Promise<void>((resolve, reject) => {
    req.once('continue', () => resolve());
    req.once('error', reject);
    reply.then(() => reject(new Error('answered before the body was sent')), reject);
  });
  accepted.catch(() => {});
  req.flushHeaders();
  return {
    accepted,
    release: () => {
      req.end(body);
      return reply;
    },
    abort: () => req.destroy(),
  };
}

/** What the API server puts on the webhook's path: its timeoutSeconds (5 in every manifest). */
export const MUTATE_PATH = '/mutate?timeout=5s';

/** POST /mutate?timeout=5s with a review (or any body), as the API server does. */
export function postReview(target: Target, review: unknown, headers: http.OutgoingHttpHeaders = {}): Promise<Reply<ReviewReply>> {
  return send<ReviewReply>(target, { method: 'POST', path: MUTATE_PATH, body: review, headers });
}

/** The JSON Patch operations of a response (base64 on the wire). */
export function patchOf(reply: ReviewReply): Operation[] {
  const patch = reply.response.patch;
  if (patch === undefined) throw new Error('the response has no patch');
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[];
}

/** What the API server stores: the request's object with the response's patch applied. */
export function patched<T>(object: T, reply: ReviewReply): T {
  // validate=true: every operation must apply cleanly to the object as sent.
  return fjp.applyPatch(structuredClone(object), patchOf(reply), true, false).newDocument;
}

/**
 * The value of one sample in Prometheus text, e.g. `metric(text, 'x_total', {result: 'ok'})`;
 * undefined when there is no such sample. Labels must match exactly (all of them).
 */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]\w*=")/)
      .filter((s) => s !== '')
      .sort()
      .join(',');
    if (have === want) return Number(m[3]);
  }
  return undefined;
}

/** GET on the plain health port. */
export function scrape(port: number, path: string): Promise<Reply<unknown>> {
  return send({ port }, { path });
}

/** Polls `cond` (which may be async) every 20 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function pollUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
