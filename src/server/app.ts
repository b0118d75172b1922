// The HTTP layer for POST /mutate (controller-runtime's http.go): size limit, decode, hand the
// review to the admission handler, encode. Errors map to responses in one place, below.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { AdmissionHandler, AdmissionOutcome } from '../admission/handler.js';
import { BadRequestError, HttpError, PayloadTooLargeError } from '../admission/errors.js';
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
}

function logOutcome(logger: Logger, outcome: AdmissionOutcome): void {
  const { request, result, failure } = outcome;
  const fields = { uid: request.uid, kind: request.kind, namespace: request.namespace, name: request.name, operation: request.operation };
  if (failure) {
    logger.error({ ...fields, err: { message: failure.message, stack: failure.stack } }, 'admission failed; admitted unchanged');
  } else if (result && result.patch.length > 0) {
    logger.info({ ...fields, dryRun: request.dryRun, changes: result.summary }, 'patched');
  }
}

function count(metrics: Metrics, outcome: AdmissionOutcome): string {
  const { request, result, failure } = outcome;
  const status = failure ? 'error' : result && result.patch.length > 0 ? 'patched' : 'allowed';
  metrics.requests.inc({ kind: request.kind, operation: request.operation, result: status });
  if (result) {
    for (const change of result.changes) metrics.patches.inc({ reason: change.reason });
    if (result.strayRemoved) metrics.patches.inc({ reason: 'stray_removed' });
  }
  return status;
}

export function createApp(options: AppOptions): express.Express {
  const { handler, metrics, logger } = options;
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  // Any content type: the body is parsed as JSON whatever the header says, so a wrong header
  // gets the same clear 400 as a wrong body.
  app.post('/mutate', express.raw({ type: () => true, limit }), (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const raw: unknown = req.body;
    if (!Buffer.isBuffer(raw) || raw.length === 0) throw new BadRequestError('empty body; expected an AdmissionReview');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new BadRequestError(`body is not JSON: ${(err as Error).message}`);
    }
    const outcome = handler.handle(body);
    const result = count(metrics, outcome);
    logOutcome(logger, outcome);
    res.status(200).json(outcome.review);
    metrics.latency.observe({ result }, Number(process.hrtime.bigint() - started) / 1e9);
  });

  app.all('/mutate', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'method not allowed; POST an AdmissionReview to /mutate', status: 405 });
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found; the webhook listens on POST /mutate', status: 404 });
  });

  // The one place errors become responses. Never allowed: false, never a crash.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let status = 500;
    let message = 'internal error';
    const type = (err as { type?: string }).type;
    if (err instanceof HttpError) {
      status = err.status;
      message = err.message;
    } else if (type === 'entity.too.large') {
      const tooLarge = new PayloadTooLargeError(limit);
      status = tooLarge.status;
      message = tooLarge.message;
    } else if (typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500) {
      status = (err as { status: number }).status;
      message = (err as Error).message;
    } else {
      logger.error({ err: { message: (err as Error).message, stack: (err as Error).stack } }, 'unexpected error');
    }
    const kind = status === 413 ? 'too_large' : status < 500 ? 'bad_request' : 'error';
    metrics.requests.inc({ kind: '', operation: '', result: kind });
    if (status >= 400 && status < 500) logger.warn({ status, path: req.path, error: message }, 'bad request');
    if (!res.headersSent) res.status(status).json({ error: message, status });
  });

  return app;
}
