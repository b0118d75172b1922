// The in-flight body budget (server/limits.ts) as the API server meets it: startServer with real
// certificates over HTTPS on loopback, a small body limit and budget so a few requests fill it.
// A body is taken from the budget by its declared length before it is read (chunk by chunk
// without one); one that does not fit is answered 429 at once with Retry-After while smaller
// ones keep being answered; the bytes come back when the answer is written or the client goes.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { pino } from 'pino';
import { StaticNamespaceSource } from '../../src/cluster/namespace-source.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { type CertFiles, makeCerts, removeDir } from '../helpers/certs.js';
import { loadRecorded } from '../helpers/fixtures.js';
import { type Reply, type ReviewReply, type Target, holdReview, keepAliveAgent, metric, pollUntil, postReview, scrape, send } from '../helpers/https-client.js';

const BODY_LIMIT = 100 * 1024;
const BUDGET = 160 * 1024;
/** Held first: leaves 160 - 90 = 70 KiB. */
const HELD = 90 * 1024;
/** Does not fit beside HELD, fits alone. */
const LARGE = 80 * 1024;

/** A recorded `kubectl run` Pod review, grown by an annotation to exactly `bytes` (when given). */
function review(uid: string, bytes?: number): Record<string, any> {
  const r = loadRecorded('pod-create-run.json') as unknown as Record<string, any>;
  r.request.uid = uid;
  if (bytes !== undefined) {
    r.request.object.metadata.annotations = { 'example.com/padding': '' };
    const short = bytes - Buffer.byteLength(JSON.stringify(r));
    r.request.object.metadata.annotations['example.com/padding'] = 'x'.repeat(short);
    expect(Buffer.byteLength(JSON.stringify(r))).to.equal(bytes);
  }
  return r;
}

function expectAnswered(reply: Reply<ReviewReply>, uid: string): void {
  expect(reply.status, reply.text.slice(0, 200)).to.equal(200);
  expect(reply.body.response).to.include({ uid, allowed: true });
}

function expectRefused(reply: Reply<ReviewReply>): void {
  expect(reply.status).to.equal(429);
  expect(reply.headers['retry-after']).to.equal('1');
  expect(JSON.parse(reply.text)).to.deep.equal({ error: 'too many review bytes in flight; retry shortly', status: 429 });
}

describe('startServer: the in-flight body budget', function () {
  let certs: CertFiles;
  let server: RunningServer;
  let target: Target;
  let agent: https.Agent;

  before(async () => {
    certs = makeCerts();
  });
  after(() => removeDir(certs.dir));
  beforeEach(async () => {
    server = await startServer({
      tlsCert: certs.cert,
      tlsKey: certs.key,
      port: 0,
      healthPort: 0,
      host: '127.0.0.1',
      namespaces: new StaticNamespaceSource(),
      logger: pino({ level: 'silent' }),
      bodyLimit: BODY_LIMIT,
      maxInflightBytes: BUDGET,
    });
    const ca = readFileSync(certs.caCert);
    agent = keepAliveAgent(ca);
    target = { port: server.port, ca, agent };
  });
  afterEach(async () => {
    agent.destroy();
    await server.shutdown();
  });

  const refusals = async (): Promise<number | undefined> => metric((await scrape(server.healthPort, '/metrics')).text, 'pullfix_requests_refused_total', { reason: 'body_budget' });

  it('refuses a declared body that does not fit beside one in flight (429, Retry-After), answers smaller ones meanwhile, and takes it once the first is answered', async () => {
    // Held after its headers: the server has taken its declared length and waits for the body.
    const held = holdReview({ port: server.port, ca: target.ca! }, review('held', HELD));
    await held.accepted;

    expectRefused(await postReview(target, review('large', LARGE)));
    expectAnswered(await postReview(target, review('small')), 'small');
    expect(await refusals()).to.equal(1);
    expect(metric((await scrape(server.healthPort, '/metrics')).text, 'pullfix_admission_requests_total', { kind: '', operation: '', result: 'refused' })).to.equal(1);

    expectAnswered(await held.release(), 'held');
    expectAnswered(await postReview(target, review('large-again', LARGE)), 'large-again');
    expect(await refusals()).to.equal(1);
  });

  it('takes a body without Content-Length chunk by chunk, and refuses it once it passes what is left', async () => {
    const held = holdReview({ port: server.port, ca: target.ca! }, review('held', HELD));
    await held.accepted;
    expectRefused(await send<ReviewReply>(target, { method: 'POST', path: '/mutate', body: review('chunked', LARGE), chunked: true }));
    expectAnswered(await send<ReviewReply>(target, { method: 'POST', path: '/mutate', body: review('chunked-small'), chunked: true }), 'chunked-small');
    expectAnswered(await held.release(), 'held');
    expectAnswered(await send<ReviewReply>(target, { method: 'POST', path: '/mutate', body: review('chunked-again', LARGE), chunked: true }), 'chunked-again');
  });

  it('gives back the share of a client that goes away before sending its body', async () => {
    const held = holdReview({ port: server.port, ca: target.ca! }, review('gone', HELD));
    await held.accepted;
    expectRefused(await postReview(target, review('large', LARGE)));
    held.abort();
    await pollUntil(async () => (await postReview(target, review('large-after', LARGE))).status === 200, 'the departed share to come back', 5000);
  });
});
