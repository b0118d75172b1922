// The HTTP layer for POST /mutate (controller-runtime's http.go): size limit, decode, hand the
// review to the admission handler, encode. Errors map to responses in one place, below.
//
// /mutate is the only hot path, and it skips what costs and gives nothing there: the HTTPS
// server hands `POST /mutate` straight to createMutateHandler (express's router, its request
// and response prototypes and body-parser cost more per review than the engine), the body is
// read off the stream into one Buffer, parsed once, and the answer written as pre-serialised
// text with its length. Everything else (404, 405) is the express app.
import express, { type NextFunction, type Request, type Response } from 'express';
import type http from 'node:http';
import type { Logger } from 'pino';
import type { AdmissionHandler, AdmissionOutcome } from '../admission/handler.js';
import { BadRequestError, HttpError, PayloadTooLargeError, TooManyRequestsError, UnsupportedEncodingError } from '../admission/errors.js';
import { jsonErrorPosition, lineAndColumn } from '../admission/json-position.js';
import { serialiseReview } from '../admission/response.js';
import { clipName } from '../engine/describe.js';
import { type BodyBudget, RETRY_AFTER_SECONDS } from './limits.js';
import type { Metrics } from './metrics.js';

/**
 * The API server sends the object and, on UPDATE, the old object. Objects are bounded by its
 * 3 MiB request limit (etcd's is 1.5 MiB), so two of them plus the review's own fields fit in
 * 7 MiB, the limit controller-runtime chose for the same reason.
 */
export const DEFAULT_BODY_LIMIT = 7 * 1024 * 1024;

export interface AppOptions {
  handler: AdmissionHandler;
  metrics: Metrics;
  logger: Logger;
  bodyLimit?: number;
  /** Bytes of bodies in flight, shared by every request (server/limits.ts); unbounded without one. */
  bodyBudget?: BodyBudget;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function logOutcome(logger: Logger, outcome: AdmissionOutcome): void {
  const { request, result, failure, namespaceProblems, lookup } = outcome;
  const fields = { uid: request.uid, kind: request.kind, namespace: request.namespace, name: request.name, operation: request.operation };
  if (namespaceProblems) {
    for (const problem of namespaceProblems) logger.warn({ namespace: request.namespace, problem }, 'invalid namespace label ignored');
  }
  if (lookup === 'failed') {
    logger.warn({ namespace: request.namespace, uid: request.uid }, 'namespace not in the cache and not readable from the API server; config defaults applied');
  }
  if (failure) {
    logger.error({ ...fields, err: { message: failure.message, stack: failure.stack } }, 'admission failed; admitted unchanged');
  } else if (result && result.patch.length > 0) {
    // Bounded whatever the request's size: the summary is cut as the note is (engine/note.ts).
    logger.info({ ...fields, name: clipName(request.name), dryRun: request.dryRun, changes: result.summary }, 'patched');
  }
}

function count(metrics: Metrics, outcome: AdmissionOutcome): string {
  const { request, result, failure, namespaceProblems, lookup } = outcome;
  const status = failure ? 'error' : result && result.patch.length > 0 ? 'patched' : 'allowed';
  metrics.record.request(outcome.knownKind, request.operation, status);
  if (result) {
    for (const change of result.changes) metrics.record.patch(change.reason);
    if (result.strayRemoved) metrics.record.patch('stray_removed');
  }
  if (namespaceProblems) metrics.namespaceProblems.inc(namespaceProblems.length);
  if (lookup) metrics.namespaceLookups.inc({ result: lookup });
  return status;
}

function writeJson(res: http.ServerResponse, status: number, text: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Reads the whole body into one Buffer, refusing it as soon as it passes `limit` (by its
 * Content-Length when it has one, else while it streams in), or as soon as `take` says the bytes
 * do not fit in the in-flight budget: the declared length is taken before anything is read, a
 * body without one chunk by chunk. A refused body is drained, never stored.
 */
function readBody(req: http.IncomingMessage, limit: number, take: (bytes: number) => boolean, done: (err: Error | undefined, body?: Buffer) => void): void {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    req.resume();
    done(new UnsupportedEncodingError(encoding.slice(0, 40)));
    return;
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume(); // drained, not read: the connection stays usable for the next review
    done(new PayloadTooLargeError(limit));
    return;
  }
  // Node's parser has already refused a Content-Length that is not a number.
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && !take(length)) {
    req.resume();
    done(new TooManyRequestsError(RETRY_AFTER_SECONDS));
    return;
  }
  // With a declared length the body is copied into one Buffer of that size as it arrives, so the
  // chunks are garbage at once and no second copy is made at the end: a body costs its length.
  const whole = length !== undefined && length > 0 ? Buffer.allocUnsafe(length) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (chunk: Buffer) => {
    if (failed) return;
    size += chunk.length;
    if (size > limit) {
      failed = true;
      chunks.length = 0;
      done(new PayloadTooLargeError(limit));
      return;
    }
    if (whole) {
      chunk.copy(whole, size - chunk.length);
      return;
    }
    if (!take(chunk.length)) {
      failed = true;
      chunks.length = 0;
      done(new TooManyRequestsError(RETRY_AFTER_SECONDS));
      return;
    }
    chunks.push(chunk);
  });
  req.once('end', () => {
    if (failed) return;
    if (whole) done(undefined, size === whole.length ? whole : whole.subarray(0, size));
    else done(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  });
  // The client went away mid-body (the connection reset): a bad request, not a server error.
  req.once('error', () => {
    if (failed) return;
    failed = true;
    done(new BadRequestError('the request body ended before its declared length (connection closed)'));
  });
}

/** JSON.parse's message quotes the body; say where it broke instead (SPEC §6). */
function parseBody(raw: Buffer): unknown {
  if (raw.length === 0) throw new BadRequestError('empty body; expected an AdmissionReview');
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    const at = jsonErrorPosition(text);
    const { line, column } = lineAndColumn(text, at);
    const where = at >= text.length ? `ends early (line ${line}, column ${column})` : `has a syntax error at line ${line}, column ${column} (character ${at + 1})`;
    throw new BadRequestError(`body is not JSON: it ${where}`);
  }
}

/** The one place errors become responses. Never allowed: false, never a crash. */
function errorAnswer(err: unknown, metrics: Metrics, logger: Logger, path: string): { status: number; text: string } {
  let status = 500;
  let message = 'internal error';
  if (err instanceof HttpError) {
    status = err.status;
    message = err.message;
  } else if (typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500) {
    status = (err as { status: number }).status;
    message = (err as Error).message;
  } else {
    logger.error({ err: { message: (err as Error).message, stack: (err as Error).stack } }, 'unexpected error');
  }
  const kind = status === 413 ? 'too_large' : status === 429 ? 'refused' : status < 500 ? 'bad_request' : 'error';
  metrics.record.request('', '', kind);
  // A refusal is load, not a caller's mistake: counted (pullfix_requests_refused_total), not logged per request.
  if (status === 429) metrics.refused.inc({ reason: 'body_budget' });
  else if (status >= 400 && status < 500) logger.warn({ status, path, error: message }, 'bad request');
  return { status, text: JSON.stringify({ error: message, status }) };
}

export type MutateHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * POST /mutate, whole: read, parse, admit, answer, and map errors. The HTTPS server calls it
 * directly for `POST /mutate` (the one hot path skips express's router, which costs more than
 * the engine); createApp mounts the same function, so both answer alike.
 */
export function createMutateHandler(options: AppOptions): MutateHandler {
  const { handler, metrics, logger, bodyBudget } = options;
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;

  function respond(res: http.ServerResponse, outcome: AdmissionOutcome, started: bigint): void {
    const result = count(metrics, outcome);
    logOutcome(logger, outcome);
    writeJson(res, 200, serialiseReview(outcome.review));
    metrics.record.latency(result, Number(process.hrtime.bigint() - started) / 1e9);
  }

  function fail(res: http.ServerResponse, err: unknown): void {
    const { status, text } = errorAnswer(err, metrics, logger, '/mutate');
    // A body refused while it still streams in is read to its end and dropped (bounded by the
    // server's requestTimeout), so the API server keeps its connection.
    const headers = err instanceof TooManyRequestsError ? { 'retry-after': String(err.retryAfterSeconds) } : {};
    if (!res.headersSent) writeJson(res, status, text, headers);
  }

  // Any content type: the body is parsed as JSON whatever the header says, so a wrong header
  // gets the same clear 400 as a wrong body.
  return (req, res) => {
    // What this request took from the budget is given back once its answer is written (or its
    // connection is gone): the body, its parse and the answer all live until then.
    let taken = 0;
    const take = (bytes: number): boolean => {
      if (bodyBudget && !bodyBudget.take(bytes)) return false;
      taken += bytes;
      return true;
    };
    if (bodyBudget) res.once('close', () => bodyBudget.give(taken));
    readBody(req, limit, take, (err, raw) => {
      if (err || !raw) return fail(res, err);
      const started = process.hrtime.bigint();
      try {
        const outcome = handler.admit(parseBody(raw));
        if (!(outcome instanceof Promise)) return respond(res, outcome, started);
        // A namespace the cache did not know: answered once the API server has (or has not) told.
        outcome.then((read) => respond(res, read, started)).catch((caught: unknown) => fail(res, caught));
      } catch (caught) {
        fail(res, caught);
      }
    });
  };
}

/**
 * Whether a request target is the webhook's endpoint. The API server calls
 * `POST /mutate?timeout=5s` (the webhook's timeoutSeconds in the query), so the query is
 * allowed; any other path, `/mutate/x` or `/mutatex`, is not.
 */
export function isMutateUrl(url: string | undefined): boolean {
  return url === '/mutate' || (url !== undefined && url.startsWith('/mutate?'));
}

/** Everything but the hot path: 405 and 404 answers, and POST /mutate itself for callers without the fast path. */
export function createApp(options: AppOptions, mutate: MutateHandler = createMutateHandler(options)): express.Express {
  const { metrics, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.post('/mutate', (req: Request, res: Response) => mutate(req, res));

  app.all('/mutate', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'method not allowed; POST an AdmissionReview to /mutate', status: 405 });
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found; the webhook listens on POST /mutate', status: 404 });
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, text } = errorAnswer(err, metrics, logger, req.path);
    if (!res.headersSent) writeJson(res, status, text);
  });

  return app;
}
