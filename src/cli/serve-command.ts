import { type Command, Option } from 'commander';
import type { Logger } from 'pino';
import type { NamespaceSource } from '../cluster/namespace-source.js';
import { UsageError } from './errors.js';
import { parseBytes, parseCount, parsePort } from './options.js';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_INFLIGHT_BYTES } from '../server/limits.js';

/** Log lines are written in batches of about this size (sonic-boom needs it below its 16 KiB maxWrite)... */
const LOG_BUFFER_BYTES = 8192;
/** ...or at least this often. */
const LOG_FLUSH_MS = 500;

interface ServeFlags {
  config?: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  namespaces?: string;
  healthPort: number;
  host?: string;
  logLevel: string;
  maxInflightBytes: number;
  maxConnections: number;
}

/**
 * Namespace labels come from a file when given, else from a list+watch when a cluster is
 * reachable (in-cluster service account or KUBECONFIG), else nowhere: config defaults apply.
 */
async function namespaceSource(flags: ServeFlags, logger: Logger): Promise<NamespaceSource> {
  if (flags.namespaces) {
    const { FileNamespaceSource } = await import('../cluster/namespace-file-source.js');
    return new FileNamespaceSource(flags.namespaces, { logger, watch: true });
  }
  if (process.env.KUBERNETES_SERVICE_HOST || process.env.KUBECONFIG) {
    const [{ loadEndpoint }, { kubeClient }, { WatchNamespaceSource }] = await Promise.all([
      import('../cluster/kube-endpoint.js'),
      import('../cluster/kube-client.js'),
      import('../cluster/namespace-watch-source.js'),
    ]);
    // The same reader as `pullfix audit` and kubectl: KUBECONFIG's files when set, else the
    // service account inside a pod.
    const endpoint = loadEndpoint();
    logger.info({ server: endpoint.server.origin, from: endpoint.origin }, 'namespaces from the API server (metadata-only list and watch)');
    return new WatchNamespaceSource(kubeClient(endpoint), { logger });
  }
  logger.warn('no --namespaces file and no cluster credentials: config defaults apply to every namespace');
  const { StaticNamespaceSource } = await import('../cluster/namespace-source.js');
  return new StaticNamespaceSource();
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the mutating admission webhook: HTTPS on --port, health and metrics on --health-port.')
    .option('--config <file>', 'config file (YAML); defaults apply without one')
    .option('--port <port>', 'HTTPS port for POST /mutate', parsePort, 8443)
    .option('--tls-cert <file>', 'serving certificate (PEM); re-read when it changes')
    .option('--tls-key <file>', 'serving key (PEM); re-read when it changes')
    .option('--namespaces <file>', 'read Namespace objects from a file (kubectl get ns -o yaml) instead of the API server')
    .option('--health-port <port>', 'plain HTTP port for /healthz, /readyz and /metrics', parsePort, 8080)
    .option('--host <address>', 'address to listen on (default: all)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    // Defaults sized to the Deployment's 256 MiB memory limit (server/limits.ts).
    .option('--max-inflight-bytes <size>', 'bytes of review bodies held at once; a review that does not fit is answered 429 (at least 7Mi)', parseBytes, DEFAULT_MAX_INFLIGHT_BYTES)
    .option('--max-connections <n>', 'connections held at once on --port; more are closed as they arrive', parseCount, DEFAULT_MAX_CONNECTIONS)
    .action(async (flags: ServeFlags) => {
      if (!flags.tlsCert || !flags.tlsKey) {
        throw new UsageError('serve needs --tls-cert and --tls-key: the webhook port speaks TLS only (make run generates development certificates)');
      }
      // Loaded here, not at the top: `pullfix fix` should not pay for the server and the
      // Kubernetes client at every start.
      const [{ pino }, { startServer }] = await Promise.all([import('pino'), import('../server/server.js')]);
      // `app`, not pino's usual `name`: the per-request line carries the object's `name`
      // (SPEC §6), and two `name` keys in one JSON line are read differently by each collector.
      // Asynchronous writes, off the request path: lines gather in a buffer written when it
      // holds LOG_BUFFER_BYTES or every LOG_FLUSH_MS, and the exit below writes what is left
      // synchronously first, so a line logged before SIGTERM is never lost.
      const destination = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
      const flusher = setInterval(() => destination.flush(), LOG_FLUSH_MS);
      flusher.unref();
      const exit = (code: number): never => {
        clearInterval(flusher);
        destination.flushSync();
        process.exit(code);
      };
      const logger = pino({ level: flags.logLevel, base: { app: 'pullfix' } }, destination);
      const namespaces = await namespaceSource(flags, logger);
      // A start-up failure is reported by main (one line, exit 2); what was logged before it,
      // such as the warnings of a namespace source, is written first.
      const server = await startServer({
        ...(flags.config ? { configFile: flags.config } : {}),
        tlsCert: flags.tlsCert,
        tlsKey: flags.tlsKey,
        port: flags.port,
        healthPort: flags.healthPort,
        ...(flags.host ? { host: flags.host } : {}),
        maxInflightBytes: flags.maxInflightBytes,
        maxConnections: flags.maxConnections,
        namespaces,
        logger,
      }).catch((err: unknown) => {
        clearInterval(flusher);
        destination.flushSync();
        throw err;
      });
      const stop = (signal: string): void => {
        logger.info({ signal }, 'shutting down: finishing requests in flight');
        server.shutdown().then(
          () => {
            logger.info('stopped');
            exit(0);
          },
          (err: Error) => {
            logger.error({ error: err.message }, 'shutdown failed');
            exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
