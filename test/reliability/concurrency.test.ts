// Issue item 7: 200 concurrent keep-alive connections against the real `pullfix serve`
// process (its own event loop, as in a pod), opened at once (a handshake storm), each sending
// a run of recorded reviews. Every one is answered correctly; p50/p99/max are reported, on the
// client and from the server's own histogram.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CertFiles, makeCerts, removeDir } from '../helpers/certs.js';
import { loadReview, repoPath } from '../helpers/fixtures.js';
import { describeLoad, getHealth, keepAliveAgent, metric, quantile, reviewWithUid, runLoad, type ServeProcess, spawnServe, scrape, until } from './helpers.js';

const CONNECTIONS = 200;
const PER_CONNECTION = 10;
/** The webhook's timeoutSeconds (manifests/base/webhook.yaml): an answer later than this is a failed call. */
const API_SERVER_TIMEOUT_MS = 5000;

const FIXTURES = [
  'pod-misplaced-kubectl-apply.json',
  'deployment-kubectl-apply-stray.json',
  'deployment-server-side-apply.json',
  'pod-50-containers.json',
  'cloneset-stray.json',
  'configmap.json',
  'pod-ephemeral-debug.json',
  'pod-one-container.json',
].map((f) => loadReview(f));

/** Upper bound of the bucket holding the q-quantile of a Prometheus histogram. */
function histogramQuantile(text: string, name: string, q: number): number {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)",result="([^"]+)"\\} (\\d+)`, 'gm'))];
  const byLe = new Map<number, number>();
  for (const [, le, , n] of buckets) {
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + Number(n));
  }
  const sorted = [...byLe].sort(([a], [b]) => a - b);
  const total = sorted.at(-1)?.[1] ?? 0;
  return sorted.find(([, n]) => n >= q * total)?.[0] ?? Number.NaN;
}

describe('reliability: 200 concurrent connections', function () {
  this.timeout(90_000);
  let certs: CertFiles;
  let serve: ServeProcess;

  before(() => {
    certs = makeCerts();
    writeFileSync(join(certs.dir, 'config.yaml'), readFileSync(repoPath('examples', 'config.yaml')));
  });
  after(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      const exit = await serve.exited;
      expect(exit.code, serve.stderr()).to.equal(0);
    }
    removeDir(certs.dir);
  });

  it(`answers ${CONNECTIONS * PER_CONNECTION} reviews over ${CONNECTIONS} connections, all correctly, p99 under the API server's timeout`, async () => {
    serve = spawnServe([
      '--config', join(certs.dir, 'config.yaml'),
      '--tls-cert', certs.cert,
      '--tls-key', certs.key,
      '--namespaces', repoPath('examples', 'namespaces.yaml'),
    ]);
    const { port, healthPort } = await serve.listening;
    await until(async () => (await getHealth(healthPort, '/readyz')).status === 200, '/readyz', 15_000);
    const ca = readFileSync(certs.caCert);
    const agent = keepAliveAgent(ca, CONNECTIONS);

    let next = 0;
    const result = await runLoad({
      port,
      ca,
      agent,
      connections: CONNECTIONS,
      maxRequests: CONNECTIONS * PER_CONNECTION,
      durationMs: 60_000,
      timeoutMs: 30_000,
      body: (uid) => reviewWithUid(uid, FIXTURES[next++ % FIXTURES.length]),
    });
    const sockets = Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length;
    agent.destroy();

    const text = await scrape(healthPort);
    const served = [...text.matchAll(/^pullfix_admission_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const serverP99 = histogramQuantile(text, 'pullfix_admission_duration_seconds', 0.99);
    console.log(
      `      ${describeLoad(result)}\n` +
        `      on reused connections: p50 ${quantile(result.reusedLatencies, 0.5).toFixed(1)} ms, p99 ${quantile(result.reusedLatencies, 0.99).toFixed(1)} ms; ` +
        `${(result.ok / (result.durationMs / 1000)).toFixed(0)} reviews/s; ${sockets} connections open at the end; ` +
        `server side: ${served} counted, p99 <= ${serverP99 * 1000} ms (histogram bucket); RSS ${((metric(text, 'process_resident_memory_bytes') ?? 0) / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(result.failed, describeLoad(result)).to.equal(0);
    expect(result.ok).to.equal(CONNECTIONS * PER_CONNECTION);
    expect(served).to.equal(CONNECTIONS * PER_CONNECTION);
    // Once connected, as the API server mostly is. The first request of each connection also
    // waits for 200 simultaneous handshakes, on a machine the test client shares.
    expect(quantile(result.reusedLatencies, 0.99)).to.be.below(API_SERVER_TIMEOUT_MS);
    expect(quantile(result.latencies, 0.99)).to.be.below(3 * API_SERVER_TIMEOUT_MS);
    expect(metric(text, 'pullfix_admission_requests_total', { kind: '', operation: '', result: 'error' }) ?? 0).to.equal(0);
  });

  it('then answers one more review promptly (nothing left wedged)', async () => {
    const { port } = await serve.listening;
    const ca = readFileSync(certs.caCert);
    const agent = keepAliveAgent(ca, 1);
    const t0 = performance.now();
    const one = await runLoad({ port, ca, agent, connections: 1, maxRequests: 1 });
    agent.destroy();
    expect(one.ok, describeLoad(one)).to.equal(1);
    expect(performance.now() - t0).to.be.below(2000);
  });
});
