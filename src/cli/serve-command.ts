import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { NamespaceSource } from '../cluster/namespace-source.js';
import { UsageError } from './errors.js';
import { parsePort } from './options.js';

interface ServeFlags {
  config?: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  namespaces?: string;
  healthPort: number;
  host?: string;
  logLevel: string;
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
    const [{ KubeConfig }, { InformerNamespaceSource }] = await Promise.all([
      import('@kubernetes/client-node'),
      import('../cluster/namespace-informer-source.js'),
    ]);
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new InformerNamespaceSource(kc, { logger });
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
    .option('--log-level <level>', 'log level: debug, info, warn, error', 'info')
    .action(async (flags: ServeFlags) => {
      if (!flags.tlsCert || !flags.tlsKey) {
        throw new UsageError('serve needs --tls-cert and --tls-key: the webhook port speaks TLS only (make run generates development certificates)');
      }
      // Loaded here, not at the top: `pullfix fix` should not pay for the server and the
      // Kubernetes client at every start.
      const [{ pino }, { startServer }] = await Promise.all([import('pino'), import('../server/server.js')]);
      // `app`, not pino's usual `name`: the per-request line carries the object's `name`
      // (SPEC §6), and two `name` keys in one JSON line are read differently by each collector.
      // Synchronous writes: with pino's asynchronous default, the exit after a drain could
      // drop or reorder the last requests' lines (its exit flush overtakes a write in progress).
      const logger = pino({ level: flags.logLevel, base: { app: 'pullfix' } }, pino.destination({ dest: 1, sync: true }));
      const namespaces = await namespaceSource(flags, logger);
      const server = await startServer({
        ...(flags.config ? { configFile: flags.config } : {}),
        tlsCert: flags.tlsCert,
        tlsKey: flags.tlsKey,
        port: flags.port,
        healthPort: flags.healthPort,
        ...(flags.host ? { host: flags.host } : {}),
        namespaces,
        logger,
      });
      const stop = (signal: string): void => {
        logger.info({ signal }, 'shutting down: finishing requests in flight');
        server.shutdown().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: Error) => {
            logger.error({ error: err.message }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
