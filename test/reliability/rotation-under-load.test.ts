// Issue item 2: the serving certificate is rotated (as cert-manager or a Secret update does)
// while 50 connections send reviews: not one request fails. New connections get the new
// certificate; keep-alive connections carry on with the session they have.
import { expect } from 'chai';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rotateCerts, serialOf } from '../helpers/certs.js';
import { describeLoad, keepAliveAgent, metric, post, reviewWithUid, runLoad, scrape, startWebhook, until, watchProcessErrors, type Webhook } from './helpers.js';

const CONNECTIONS = 50;
const ROTATIONS = 5;

describe('reliability: certificate rotation under load', function () {
  this.timeout(90_000);
  let hook: Webhook;
  let processErrors: ReturnType<typeof watchProcessErrors>;

  before(async () => {
    processErrors = watchProcessErrors();
    hook = await startWebhook({ pollIntervalMs: 200 });
  });
  after(async () => {
    await hook?.stop();
    processErrors.stop();
    expect(processErrors.errors).to.deep.equal([]);
  });

  /** The serial a fresh connection (a full handshake) is served. */
  async function servedSerial(): Promise<string> {
    const reply = await post(hook.server.port, reviewWithUid('probe'), { agent: false, ca: hook.ca });
    return reply.serial;
  }

  it(`rotates ${ROTATIONS} times, and once to a bad pair, while ${CONNECTIONS} connections send reviews: zero failures`, async () => {
    const agent = keepAliveAgent(hook.ca, CONNECTIONS);
    let rotating = true;
    // 45 keep-alive connections and 5 that handshake for every request, so handshakes happen
    // before, during and after every swap of the secure context.
    const load = runLoad({ port: hook.server.port, ca: hook.ca, agent, connections: CONNECTIONS, freshConnections: 5, durationMs: 60_000, stop: () => !rotating });

    const serials = [serialOf(hook.files.cert)];
    try {
      await until(async () => (await scrape(hook.server.healthPort)).includes('pullfix_admission_requests_total{'), 'load to start');
      for (let i = 0; i < ROTATIONS; i++) {
        await rotateCerts(hook.files);
        const next = serialOf(hook.files.cert);
        serials.push(next);
        await until(async () => (await servedSerial()) === next, `rotation ${i + 1} to be served`, 15_000, 50);

        if (i === 2) {
          // A bad pair in between (a certificate that is not PEM, renamed into place): refused,
          // the current pair kept, nothing fails.
          const bad = join(hook.files.dir, 'bad.crt.tmp');
          const good = join(hook.files.dir, 'good.crt.tmp');
          writeFileSync(good, readFileSync(hook.files.cert));
          writeFileSync(bad, '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
          const refusedBefore = metric(await scrape(hook.server.healthPort), 'pullfix_certificate_reloads_total', { result: 'failed' }) ?? 0;
          renameSync(bad, hook.files.cert);
          await until(async () => (metric(await scrape(hook.server.healthPort), 'pullfix_certificate_reloads_total', { result: 'failed' }) ?? 0) > refusedBefore, 'the bad pair to be refused', 15_000, 50);
          expect(await servedSerial()).to.equal(next);
          renameSync(good, hook.files.cert);
        }
      }
    } finally {
      rotating = false;
    }
    const result = await load;
    agent.destroy();
    console.log(`      ${describeLoad(result)}; serials seen by the load: ${result.serials.size}`);
    expect(result.failed, describeLoad(result)).to.equal(0);
    expect(result.ok).to.be.greaterThan(500);
    // The fresh connections saw the rotations happen.
    expect(result.serials.size).to.be.at.least(3);
    for (const s of result.serials) expect(serials).to.include(s);

    const text = await scrape(hook.server.healthPort);
    expect(metric(text, 'pullfix_certificate_reloads_total', { result: 'ok' })).to.be.at.least(ROTATIONS);
    console.log(`      certificate reloads ${metric(text, 'pullfix_certificate_reloads_total', { result: 'ok' })}, refused ${metric(text, 'pullfix_certificate_reloads_total', { result: 'failed' })}`);
  });
});
