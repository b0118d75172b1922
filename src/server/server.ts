// Puts the webhook together: config, certificates, namespace source, the HTTPS listener for
// /mutate and the plain listener for health and metrics; and takes it apart on shutdown.
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { createAdmissionHandler } from '../admission/handler.js';
import type { NamespaceSource } from '../cluster/namespace-source.js';
import { DEFAULT_BODY_LIMIT, createApp, createMutateHandler, isMutateUrl } from './app.js';
import { FileCertificateSource } from './certificate-source.js';
import { ConfigReloader } from './config-reloader.js';
import { createHealthServer } from './health.js';
import { BodyBudget, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_INFLIGHT_BYTES } from './limits.js';
import { createMetrics, type Metrics } from './metrics.js';
import { UserError } from '../util/user-error.js';

export interface ServerOptions {
  configFile?: string;
  tlsCert: string;
  tlsKey: string;
  port: number;
  healthPort: number;
  host?: string;
  namespaces: NamespaceSource;
  logger: Logger;
  bodyLimit?: number;
  /** Bytes of request bodies held at once (server/limits.ts); default 32 MiB. */
  maxInflightBytes?: number;
  /** Connections held at once on the HTTPS port; those beyond are closed as they arrive. Default 512. */
  maxConnections?: number;
  /** How often the certificate and config files are polled. */
  pollIntervalMs?: number;
  /** How long shutdown waits for requests in flight before closing their connections. */
  shutdownTimeoutMs?: number;
}

export interface RunningServer {
  port: number;
  healthPort: number;
  metrics: Metrics;
  ready(): boolean;
  /** Stops accepting, closes idle keep-alive connections, finishes requests in flight. */
  shutdown(): Promise<void>;
}

/** A port that cannot be listened on, named with the flag that chose it. */
export class ListenError extends UserError {
  override readonly name = 'ListenError';
}

function listen(server: http.Server | https.Server, port: number, host: string | undefined, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${host ?? 'all addresses'}:${port} (${flag})`;
      if (err.code === 'EADDRINUSE') reject(new ListenError(`cannot listen on ${where}: the port is already in use`));
      else if (err.code === 'EACCES') reject(new ListenError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`));
      else if (err.code === 'EADDRNOTAVAIL') reject(new ListenError(`cannot listen on ${where}: no such local address (--host)`));
      else reject(new ListenError(`cannot listen on ${where}: ${err.code ?? err.message}`));
    });
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** How long a keep-alive connection must stay idle during shutdown before it is closed. */
const IDLE_CLOSE_DELAY_MS = 1000;

/** Starts everything; rejects (ConfigError, CertificateError, ...) when a part cannot start. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { logger, namespaces } = options;
  const interval = options.pollIntervalMs ?? 2000;
  let shuttingDown = false;
  const bodyBudget = new BodyBudget(options.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (bodyBudget.capacity < bodyLimit) {
    // Checked before anything starts: a budget smaller than one review refuses the largest ones forever.
    throw new UserError(`--max-inflight-bytes ${bodyBudget.capacity} is smaller than one review may be (${bodyLimit} bytes): reviews that large would always be refused; use at least 7Mi`);
  }

  const certificates = new FileCertificateSource({ certFile: options.tlsCert, keyFile: options.tlsKey, intervalMs: interval, logger });
  const metrics = createMetrics({
    namespaces: () => namespaces,
    certificates: () => certificates,
    configuredKinds: () => config.current().config.podTemplates.map((t) => t.kind),
  });
  const config = new ConfigReloader({
    ...(options.configFile ? { file: options.configFile } : {}),
    intervalMs: interval,
    logger,
    onReload: (result) => metrics.configReloads.inc({ result }),
  });
  const pair = certificates.load();

  const handler = createAdmissionHandler({
    engine: () => config.current(),
    namespace: (name) => namespaces.get(name),
    ...(namespaces.lookup && { lookup: (name: string) => namespaces.lookup!(name) }),
  });
  const appOptions = { handler, metrics, logger, bodyBudget, bodyLimit };
  const mutate = createMutateHandler(appOptions);
  const app = createApp(appOptions, mutate);
  // Responses not yet written. A request already in flight when shutdown starts must also
  // answer `connection: close`: Node keeps its connection alive otherwise, and server.close()
  // then waits for the keep-alive timeout (or shutdownTimeoutMs) before it returns.
  const unanswered = new Set<http.ServerResponse>();
  const tlsOptions = { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' } as const;
  // Node checks headersTimeout and requestTimeout only every connectionsCheckingInterval
  // (30 s by default), and gives a TLS handshake 120 s: a client that trickles its headers or
  // never finishes the handshake held a socket for 40 s or 120 s, not the 10 s set below.
  const server = https.createServer({ ...tlsOptions, handshakeTimeout: 10_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
    // While draining, tell keep-alive clients (the API server) to reconnect elsewhere.
    if (shuttingDown) res.setHeader('connection', 'close');
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    // The hot path straight to its handler, query and all (the API server sends
    // `/mutate?timeout=5s`); the rest (404, 405) through express.
    if (req.method === 'POST' && isMutateUrl(req.url)) mutate(req, res);
    else app(req, res);
  });
  // The API server keeps connections alive between calls; idle ones are closed by it first
  // (its transport's idle timeout is 90 s), so the server never closes one under a request.
  server.keepAliveTimeout = 95_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // Beyond this, Node closes each new connection as it arrives (before the TLS handshake) and
  // says so with 'drop': the caller gets a reset, the webhook's failurePolicy decides.
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('drop', () => metrics.refused.inc({ reason: 'connections' }));
  server.on('tlsClientError', (err) => logger.debug({ error: err.message }, 'TLS handshake failed'));

  const health = createHealthServer(metrics, [
    { name: 'config', ok: () => true },
    { name: 'certificate', ok: () => certificates.stats.loadedAt !== undefined },
    { name: 'namespaces', ok: () => namespaces.synced() },
    { name: 'serving', ok: () => !shuttingDown },
  ]);
  const healthPort = await listen(health, options.healthPort, options.host, '--health-port');
  let port: number;
  try {
    port = await listen(server, options.port, options.host, '--port');
  } catch (err) {
    await close(health);
    throw err;
  }
  certificates.start((next) => {
    server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    logger.info({ serial: next.serial, notAfter: next.notAfter.toISOString() }, 'serving certificate reloaded');
  });
  config.start();
  logger.info(
    { port, healthPort, config: options.configFile ?? '(defaults)', maxInflightBytes: bodyBudget.capacity, maxConnections: server.maxConnections },
    'pullfix webhook listening',
  );

  // The namespace source syncs in the background: /readyz says when it has.
  namespaces.start().then(
    () => logger.info({ namespaces: namespaces.status().size }, 'namespace cache synced'),
    (err: Error) => logger.error({ error: err.message }, 'namespace source failed to start'),
  );

  let stopping: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    shuttingDown = true;
    for (const res of unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
    const timeout = options.shutdownTimeoutMs ?? 20_000;
    // Stop accepting, but not with server.close(): since Node 19 that also destroys every idle
    // keep-alive connection at once, and under load an "idle" one often holds the client's
    // next request, sent but not yet read. The API server then gets a reset for a call pullfix
    // never saw: a failed webhook call, which enforce.pullfix.dev (failurePolicy Fail) turns
    // into a refused request. Busy connections are closed instead by the `connection: close`
    // of their next answer; those still idle after a pause are closed then.
    const closed = new Promise<void>((resolve) => tls.Server.prototype.close.call(server, () => resolve()));
    const idle = setTimeout(() => server.closeIdleConnections(), Math.min(IDLE_CLOSE_DELAY_MS, timeout));
    const deadline = setTimeout(() => server.closeAllConnections(), timeout);
    idle.unref();
    deadline.unref();
    await closed;
    clearTimeout(idle);
    clearTimeout(deadline);
    server.close(); // the listener and every connection are gone: this only stops Node's timeout checks
    certificates.stop();
    config.stop();
    await namespaces.stop();
    health.closeAllConnections();
    await close(health);
  }

  return {
    port,
    healthPort,
    metrics,
    ready: () => certificates.stats.loadedAt !== undefined && namespaces.synced() && !shuttingDown,
    shutdown: () => (stopping ??= shutdown()),
  };
}
