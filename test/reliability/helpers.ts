// Client side of the reliability tests: what the API server does (POST AdmissionReviews over
// keep-alive HTTPS, verifying SERVICE.NAMESPACE.svc against the caBundle), a bounded load loop,
// raw TLS for the garbage the API server never sends, and scrapes of the health listener.
// Everything targets 127.0.0.1; every loop is bounded in count and in time.
import { SERVICE_NAME, type ReviewReply } from '../helpers/https-client.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import fjp, { type Operation } from 'fast-json-patch';
import { pino, type Logger } from 'pino';
import { StaticNamespaceSource, type NamespaceSource } from '../../src/cluster/namespace-source.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.js';
import { type CertFiles, makeCerts, removeDir } from '../helpers/certs.js';
import { loadReview, repoPath, type Review } from '../helpers/fixtures.js';

/** The name the API server verifies (SPEC §8); make-dev-certs.sh puts it in the SANs. */
export { SERVICE_NAME };
export const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------
// Connections and single requests

/** Keep-alive, like the API server's transport; `maxSockets` bounds the connections. */
export function keepAliveAgent(ca: Buffer, maxSockets = 50): https.Agent {
  return new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ca, servername: SERVICE_NAME });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Whether the request went out on a connection that had carried an earlier one. */
  reused: boolean;
  /** Serial of the certificate the server presented. */
  serial: string;
}

export interface PostOptions {
  agent: https.Agent | false;
  ca: Buffer;
  path?: string;
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  /** Per-request deadline; the request is destroyed after it. */
  timeoutMs?: number;
}

/** A request error with what the caller needs to classify it. */
export class RequestFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly reused: boolean,
  ) {
    super(message);
  }
}

export function post(port: number, body: string | Buffer, options: PostOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let reused = false;
    const req = https.request(
      {
        host: HOST,
        port,
        method: options.method ?? 'POST',
        path: options.path ?? '/mutate',
        agent: options.agent,
        ca: options.ca,
        servername: SERVICE_NAME,
        // Explicit: Node frames no body of a GET, DELETE or OPTIONS without it.
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        const serial = (res.socket as tls.TLSSocket).getPeerCertificate?.()?.serialNumber ?? '';
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), reused, serial }));
        res.on('error', (err) => reject(new RequestFailure(err.message, (err as NodeJS.ErrnoException).code ?? 'ERESPONSE', reused)));
      },
    );
    req.on('socket', () => (reused = req.reusedSocket));
    req.setTimeout(options.timeoutMs ?? 15_000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => reject(new RequestFailure(err.message, (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN', reused)));
    req.end(body);
  });
}

/** GET on the plain health listener. */
export function getHealth(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
  });
}

/** One sample value from the Prometheus text, e.g. metric(text, 'x_total', {result: 'ok'}); undefined when absent. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export async function scrape(healthPort: number): Promise<string> {
  const res = await getHealth(healthPort, '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text;
}

// ---------------------------------------------------------------------------------------
// Reviews and their answers

const TEMPLATE = loadReview('pod-misplaced-kubectl-apply.json');

/** A real kubectl-apply Pod review with a stray pod-level field (so it is always patched), with a fresh uid. */
export function reviewWithUid(uid: string = randomUUID(), template: Review = TEMPLATE): string {
  return JSON.stringify({ ...template, request: { ...template.request, uid } });
}

/** An AdmissionReview as pullfix answers it: the shape the server tests read too. */
export type AnsweredReview = ReviewReply;

/**
 * Checks a 200 answer the way the API server reads it; returns the decoded patch. Throws
 * saying what is wrong.
 */
export function checkAnswer(reply: Reply, uid: string, apiVersion = 'admission.k8s.io/v1'): Operation[] {
  if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.text.slice(0, 200)}`);
  const review = JSON.parse(reply.text) as AnsweredReview;
  if (review.apiVersion !== apiVersion || review.kind !== 'AdmissionReview') throw new Error(`not an AdmissionReview ${apiVersion}: ${reply.text.slice(0, 200)}`);
  const r = review.response;
  if (r.uid !== uid) throw new Error(`uid ${r.uid} answered for ${uid}`);
  if (r.allowed !== true) throw new Error('allowed is not true');
  if ((r.patch === undefined) !== (r.patchType === undefined)) throw new Error('patch and patchType disagree');
  if (r.patchType !== undefined && r.patchType !== 'JSONPatch') throw new Error(`patchType ${r.patchType}`);
  for (const w of r.warnings ?? []) {
    if (!w.startsWith('pullfix: ') || w.length > 120) throw new Error(`bad warning ${JSON.stringify(w)}`);
  }
  if (r.patch === undefined) return [];
  const ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as Operation[];
  if (!Array.isArray(ops) || ops.length === 0) throw new Error('patch is not a non-empty JSON array');
  if (r.auditAnnotations?.changes === undefined) throw new Error('patched without the changes audit annotation');
  return ops;
}

/** Applies a patch as the API server does (validated, on a copy); throws when it does not apply. */
export function applyTo(object: unknown, ops: Operation[]): unknown {
  return fjp.applyPatch(structuredClone(object), structuredClone(ops), true, false).newDocument;
}

// ---------------------------------------------------------------------------------------
// The bounded load loop

export interface LoadOptions {
  port: number;
  ca: Buffer;
  /** Concurrent request loops; each has at most one request in flight. */
  connections: number;
  agent: https.Agent;
  /** Some loops use a fresh connection (a full TLS handshake) for every request. */
  freshConnections?: number;
  /** Stop after this many requests in all (default: no count limit, but see durationMs). */
  maxRequests?: number;
  /** Stop after this long; always bounded (default 60 s). */
  durationMs?: number;
  /** Stop when this says so (checked before every request). */
  stop?: () => boolean;
  /** Builds one request body; default a patched Pod review. */
  body?: (uid: string) => string;
  /** Called for every error; return true to count it as expected (not a failure). */
  expected?: (err: RequestFailure, uid: string) => boolean;
  timeoutMs?: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  expectedErrors: number;
  /** Error codes or messages, with counts. */
  errors: Map<string, number>;
  /** Milliseconds, one per answered request. */
  latencies: number[];
  /** The same, for the requests that went out on a reused keep-alive connection only. */
  reusedLatencies: number[];
  /** Serials of the certificates seen. */
  serials: Set<string>;
  /** Replies that said `connection: close`. */
  closeHeaders: number;
  /** uids of requests that failed, and of those that failed as expected (their fate, for the caller to check in the server's log). */
  failedUids: string[];
  expectedUids: string[];
  durationMs: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const deadline = started + (options.durationMs ?? 60_000);
  const max = options.maxRequests ?? Number.POSITIVE_INFINITY;
  const body = options.body ?? ((uid: string) => reviewWithUid(uid));
  const result: LoadResult = {
    sent: 0,
    ok: 0,
    failed: 0,
    expectedErrors: 0,
    errors: new Map(),
    latencies: [],
    reusedLatencies: [],
    serials: new Set(),
    closeHeaders: 0,
    failedUids: [],
    expectedUids: [],
    durationMs: 0,
  };
  const note = (what: string): void => void result.errors.set(what, (result.errors.get(what) ?? 0) + 1);

  async function loop(fresh: boolean): Promise<void> {
    while (result.sent < max && Date.now() < deadline && !options.stop?.()) {
      result.sent++;
      const uid = randomUUID();
      const t0 = performance.now();
      try {
        const reply = await post(options.port, body(uid), { agent: fresh ? false : options.agent, ca: options.ca, timeoutMs: options.timeoutMs ?? 15_000 });
        checkAnswer(reply, uid);
        result.latencies.push(performance.now() - t0);
        if (reply.reused) result.reusedLatencies.push(performance.now() - t0);
        result.serials.add(reply.serial);
        if (reply.headers.connection === 'close') result.closeHeaders++;
        result.ok++;
      } catch (err) {
        if (err instanceof RequestFailure && options.expected?.(err, uid)) {
          result.expectedErrors++;
          result.expectedUids.push(uid);
          note(`expected ${err.code}${err.reused ? ' (reused connection)' : ''}`);
        } else {
          result.failed++;
          result.failedUids.push(uid);
          note(err instanceof RequestFailure ? `${err.code}${err.reused ? ' (reused connection)' : ''}` : (err as Error).message.slice(0, 120));
        }
      }
    }
  }

  const fresh = options.freshConnections ?? 0;
  await Promise.all(Array.from({ length: options.connections }, (_, i) => loop(i < fresh)));
  result.durationMs = Date.now() - started;
  return result;
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function describeLoad(r: LoadResult): string {
  const ms = (v: number): string => `${v.toFixed(1)} ms`;
  const errors = [...r.errors].map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
  return (
    `${r.sent} sent, ${r.ok} answered, ${r.failed} failed, ${r.expectedErrors} expected errors in ${(r.durationMs / 1000).toFixed(1)} s; ` +
    `p50 ${ms(quantile(r.latencies, 0.5))}, p99 ${ms(quantile(r.latencies, 0.99))}, max ${ms(quantile(r.latencies, 1))}; errors: ${errors}`
  );
}

// ---------------------------------------------------------------------------------------
// Raw TLS: bytes no HTTP client would send

export interface RawOutcome {
  /** What the server sent back before closing (or before `waitMs` ran out). */
  response: string;
  /** The status of the first HTTP response, when there was one. */
  status?: number;
  /** Whether the server closed the connection (or reset it) within the wait. */
  closed: boolean;
  /** Milliseconds from the end of the handshake to the close. */
  closedAfterMs?: number;
  /** Date.now() at the close. */
  closedAt?: number;
  error?: string;
}

export interface RawOptions {
  port: number;
  ca: Buffer;
  /** Writes the bytes; may keep writing (slow clients) until the socket closes. */
  send: (socket: tls.TLSSocket) => void;
  /** How long to wait for the server to close the connection. */
  waitMs: number;
  /** Resolve as soon as a complete-looking response head arrives, without waiting for the close. */
  untilResponse?: boolean;
}

export function rawExchange(options: RawOptions): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let response = '';
    let connectedAt = 0;
    let settled = false;
    const socket = tls.connect({ host: HOST, port: options.port, ca: options.ca, servername: SERVICE_NAME }, () => {
      connectedAt = Date.now();
      options.send(socket);
    });
    const finish = (closed: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
      resolve({
        response,
        ...(m ? { status: Number(m[1]) } : {}),
        closed,
        ...(closed && connectedAt ? { closedAfterMs: Date.now() - connectedAt } : {}),
        ...(closed ? { closedAt: Date.now() } : {}),
        ...(error ? { error } : {}),
      });
      socket.destroy();
    };
    const timer = setTimeout(() => finish(false), options.waitMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      response += chunk;
      if (options.untilResponse && /^HTTP\/1\.1 \d{3}[^]*\r\n\r\n/.test(response)) finish(socket.destroyed);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(true, err.code ?? err.message));
    socket.on('close', () => finish(true));
  });
}

/** An HTTP/1.1 request head and body as bytes. */
export function httpRequest(body: Buffer | string, headers: Record<string, string | number> = {}, head = 'POST /mutate HTTP/1.1'): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const all: Record<string, string | number> = { host: SERVICE_NAME, 'content-type': 'application/json', 'content-length': bytes.length, ...headers };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}`);
  return Buffer.concat([Buffer.from(`${head}\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
}

// ---------------------------------------------------------------------------------------
// Logs and process-wide failures

export interface CapturedLogger {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

/** A pino logger whose JSON lines are kept in memory for assertions. */
export function captureLogger(level = 'info'): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** Records unhandled rejections and uncaught exceptions while a suite runs. */
export function watchProcessErrors(): { errors: string[]; stop: () => void } {
  const errors: string[] = [];
  const onRejection = (reason: unknown): void => void errors.push(`unhandledRejection: ${String((reason as Error)?.stack ?? reason)}`);
  const onWarning = (warning: Error): void => {
    if (warning.name === 'MaxListenersExceededWarning') errors.push(`warning: ${warning.message}`);
  };
  process.on('unhandledRejection', onRejection);
  process.on('warning', onWarning);
  return {
    errors,
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('warning', onWarning);
    },
  };
}

/** Polls `cond` (sync or async) every `everyMs` until it holds; fails after `timeoutMs` naming `what`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------
// The real server on loopback

export interface Webhook {
  server: RunningServer;
  files: CertFiles;
  ca: Buffer;
  logs: Array<Record<string, unknown>>;
  /** Shuts the server down and removes its certificate directory. */
  stop(): Promise<void>;
}

export type WebhookOptions = Partial<Omit<ServerOptions, 'namespaces' | 'logger'>> & { namespaces?: NamespaceSource; files?: CertFiles };

/** startServer on 127.0.0.1 with fresh certificates and free ports; logs captured. */
export async function startWebhook(options: WebhookOptions = {}): Promise<Webhook> {
  const files = options.files ?? makeCerts();
  const { logger, lines } = captureLogger();
  const server = await startServer({
    tlsCert: files.cert,
    tlsKey: files.key,
    port: 0,
    healthPort: 0,
    host: HOST,
    pollIntervalMs: 100,
    ...options,
    namespaces: options.namespaces ?? new StaticNamespaceSource(),
    logger,
  });
  return {
    server,
    files,
    ca: readFileSync(files.caCert),
    logs: lines,
    stop: async () => {
      await server.shutdown();
      removeDir(files.dir);
    },
  };
}

// ---------------------------------------------------------------------------------------
// The real CLI as a child process

export interface ServeProcess {
  child: ChildProcess;
  /** Its JSON log lines (stdout), parsed, as they arrive. */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the ports once it logs that it listens; rejects if it exits first. */
  listening: Promise<{ port: number; healthPort: number }>;
  /** Resolves when it exits, with when (Date.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `node [NODE_ARGS] dist/src/cli/main.js serve ARGS --port 0 --health-port 0 --host 127.0.0.1`. */
export function spawnServe(args: string[], nodeArgs: string[] = []): ServeProcess {
  const env = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBECONFIG;
  const child = spawn(process.execPath, [...nodeArgs, repoPath('dist', 'src', 'cli', 'main.js'), 'serve', ...args, '--port', '0', '--health-port', '0', '--host', HOST], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const listening = new Promise<{ port: number; healthPort: number }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'pullfix webhook listening') resolve({ port: entry.port as number, healthPort: entry.healthPort as number });
    });
    void exited.then(({ code, signal }) => reject(new Error(`pullfix serve exited (${code ?? signal}) before listening: ${stderr.slice(0, 2000)}`)));
  });
  listening.catch(() => undefined);
  return { child, logs, stderr: () => stderr, listening, exited };
}
