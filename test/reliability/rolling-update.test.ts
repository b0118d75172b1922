// Issue item 3: a rolling update. The real `pullfix serve` process gets SIGTERM while 50
// connections send reviews. Every request the server accepted is answered; new connections
// are refused (the API server goes to another endpoint); idle keep-alive connections are
// closed so the API server reconnects elsewhere; the process exits 0 within the grace period.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type tls from 'node:tls';
import { type CertFiles, makeCerts, removeDir } from '../helpers/certs.js';
import { repoPath } from '../helpers/fixtures.js';
import {
  describeLoad,
  getHealth,
  httpRequest,
  keepAliveAgent,
  rawExchange,
  type RequestFailure,
  reviewWithUid,
  runLoad,
  type ServeProcess,
  spawnServe,
  until,
} from './helpers.js';

const CONNECTIONS = 50;
/** terminationGracePeriodSeconds in manifests/base/deployment.yaml. */
const GRACE_MS = 30_000;

/**
 * A request that never reached the server: the listener was closed (ECONNREFUSED), or a new
 * connection still in the accept backlog was dropped (a reset before the first request on
 * it). The API server sees the same and, once the endpoint is gone, dials another pod. A
 * reset on a reused keep-alive connection is a failure: the client had sent its request.
 */
function notAccepted(err: RequestFailure): boolean {
  return err.code === 'ECONNREFUSED' || (!err.reused && (err.code === 'ECONNRESET' || err.code === 'EPIPE'));
}

describe('reliability: rolling update (SIGTERM under load)', function () {
  this.timeout(90_000);
  let certs: CertFiles;
  let serve: ServeProcess;

  before(() => {
    certs = makeCerts();
    writeFileSync(join(certs.dir, 'config.yaml'), readFileSync(repoPath('examples', 'config.yaml')));
  });
  after(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
    }
    removeDir(certs.dir);
  });

  it(`SIGTERM while ${CONNECTIONS} connections send reviews: every accepted request answered, idle connections closed, exit 0`, async () => {
    serve = spawnServe([
      '--config', join(certs.dir, 'config.yaml'),
      '--tls-cert', certs.cert,
      '--tls-key', certs.key,
      '--namespaces', repoPath('examples', 'namespaces.yaml'),
    ]);
    const { port, healthPort } = await serve.listening;
    await until(async () => (await getHealth(healthPort, '/readyz')).status === 200, '/readyz', 15_000);
    const ca = readFileSync(certs.caCert);

    // An idle keep-alive connection, as the API server keeps between calls.
    let idleAnswered = false;
    const idle = rawExchange({
      port,
      ca,
      waitMs: GRACE_MS + 10_000,
      send: (s: tls.TLSSocket) => {
        s.write(httpRequest(reviewWithUid('idle')));
        s.once('data', () => (idleAnswered = true));
      },
    });
    await until(() => idleAnswered, 'the idle connection to be answered once');

    let exited = false;
    void serve.exited.then(() => (exited = true));
    const agent = keepAliveAgent(ca, CONNECTIONS);
    let answered = 0;
    const load = runLoad({
      port,
      ca,
      agent,
      connections: CONNECTIONS,
      durationMs: 60_000,
      stop: () => exited,
      expected: notAccepted,
    });
    // Progress without waiting for the end: poll the server's own count.
    const count = async (): Promise<number> => {
      const res = await getHealth(healthPort, '/metrics');
      return [...res.text.matchAll(/^pullfix_admission_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    await until(async () => (answered = await count()) >= 1000, 'load to get going', 30_000, 50);

    const sigtermAt = Date.now();
    serve.child.kill('SIGTERM');
    const [exit, result, idleOutcome] = await Promise.all([serve.exited, load, idle]);
    agent.destroy();
    const exitMs = exit.at - sigtermAt;
    const idleClosedMs = idleOutcome.closedAt === undefined ? undefined : idleOutcome.closedAt - sigtermAt;

    // What the server handled: every patched review is logged with its uid before it is answered.
    const handled = new Set(serve.logs.filter((l) => l.msg === 'patched').map((l) => l.uid as string));
    const acceptedButLost = [...result.failedUids, ...result.expectedUids].filter((uid) => handled.has(uid));
    console.log(
      `      ${describeLoad(result)}\n` +
        `      ${answered} answered before SIGTERM; SIGTERM -> exit ${exitMs} ms (code ${exit.code}); ` +
        `idle connection closed ${idleClosedMs} ms after SIGTERM; ${result.closeHeaders} answers said connection: close; ` +
        `${result.expectedErrors} not accepted; ${acceptedButLost.length} accepted but unanswered`,
    );

    expect(exit.code, serve.stderr()).to.equal(0);
    expect(exitMs).to.be.lessThan(GRACE_MS);
    expect(result.failed, describeLoad(result)).to.equal(0);
    expect(acceptedButLost, 'requests the server handled but the client never got').to.deep.equal([]);
    expect(result.ok).to.be.greaterThan(answered / 2);
    // Requests in flight at SIGTERM were answered, and told the client to go elsewhere.
    expect(result.closeHeaders).to.be.greaterThan(0);
    // The idle connection was closed by the server, right after SIGTERM, not at the exit or the keep-alive timeout.
    expect(idleOutcome.closed, 'the idle keep-alive connection was closed').to.equal(true);
    expect(idleClosedMs).to.be.within(0, 5000);
    expect(serve.logs.some((l) => l.msg === 'stopped')).to.equal(true);
    expect(serve.stderr(), 'nothing on stderr (no unhandled rejection, no crash)').to.equal('');
  });
});
