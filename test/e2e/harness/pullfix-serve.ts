// `pullfix serve` on loopback for the test cluster: the informer path, with KUBECONFIG holding
// a token of the ServiceAccount the manifests create (so it runs with exactly its cluster
// permissions), and a serving pair from the project's own certs/make-dev-certs.sh (its SANs
// include 127.0.0.1).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoPath } from '../../helpers/fixtures.js';
import { type Started, httpGet, mustBeAlive, startProcess, waitFor } from './processes.js';

export interface PullfixServeOptions {
  dir: string;
  port: number;
  healthPort: number;
  /** KUBECONFIG of pullfix's ServiceAccount. */
  kubeconfig: string;
  /** Config file, absolute. */
  config: string;
  env: NodeJS.ProcessEnv;
}

export interface ServingPair {
  ca: string;
  cert: string;
  key: string;
}

/** A CA and serving pair in DIR/pullfix-certs (made once per run). */
export function makeServingPair(dir: string): ServingPair {
  const certDir = join(dir, 'pullfix-certs');
  execFileSync('bash', [repoPath('certs', 'make-dev-certs.sh'), certDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { ca: join(certDir, 'ca.crt'), cert: join(certDir, 'tls.crt'), key: join(certDir, 'tls.key') };
}

/** Starts `pullfix serve` and waits (bounded) until /readyz answers 200. */
export async function startPullfixServe(opts: PullfixServeOptions, pair: ServingPair): Promise<Started> {
  const pullfix = startProcess('pullfix', process.execPath, [
    repoPath('dist', 'src', 'cli', 'main.js'),
    'serve',
    '--config', opts.config,
    '--tls-cert', pair.cert,
    '--tls-key', pair.key,
    '--host', '127.0.0.1',
    '--port', String(opts.port),
    '--health-port', String(opts.healthPort),
  ], join(opts.dir, 'pullfix.log'), { ...opts.env, KUBECONFIG: opts.kubeconfig });
  await waitFor('pullfix /readyz', async () => ((await httpGet(`http://127.0.0.1:${opts.healthPort}/readyz`)).status === 200 ? true : undefined), {
    timeoutMs: 30_000,
    guard: () => mustBeAlive(pullfix),
  });
  return pullfix;
}
