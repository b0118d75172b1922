// What a burst of the largest reviews costs the real `pullfix serve` process, measured where the
// kubelet measures it: the resident set of the process (/proc/PID/status VmHWM, its peak), against
// the memory limit of the Deployment in manifests/base/deployment.yaml. Forty 7 MB reviews at once
// must not take it there: bodies beyond the in-flight budget are refused with 429 and Retry-After
// before they are buffered, while small reviews keep being answered. And connections beyond
// --max-connections are closed at once, counted, while the server keeps answering.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { parse } from 'yaml';
import { type CertFiles, makeCerts, removeDir } from '../helpers/certs.js';
import { loadRecorded, repoPath, type Review } from '../helpers/fixtures.js';
import {
  HOST,
  SERVICE_NAME,
  checkAnswer,
  getHealth,
  httpRequest,
  metric,
  post,
  type Reply,
  RequestFailure,
  scrape,
  type ServeProcess,
  spawnServe,
  until,
} from './helpers.js';

/** The API server's call, as it is on the wire (test/fixtures/apiserver/README.md). */
const PATH = '/mutate?timeout=5s';
/** The webhook's timeoutSeconds: a small review answered later than this is a failed call. */
const API_SERVER_TIMEOUT_MS = 5000;
const BIG_REVIEWS = 40;
const BIG_BYTES = 7_000_000;
const SMALL_LOOPS = 4;

/** `resources.limits.memory` of the pullfix container in manifests/base/deployment.yaml, in bytes. */
function deploymentMemoryLimit(): number {
  const deployment = parse(readFileSync(repoPath('manifests', 'base', 'deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: { name: string; resources: { limits: { memory: string } } }[] } } };
  };
  const limit = deployment.spec.template.spec.containers.find((c) => c.name === 'pullfix')?.resources.limits.memory ?? '';
  const m = /^(\d+)Mi$/.exec(limit);
  if (!m) throw new Error(`unexpected memory limit ${JSON.stringify(limit)} in manifests/base/deployment.yaml`);
  return Number(m[1]) * 2 ** 20;
}

/** Peak and current resident set of a process, in bytes. */
function memoryOf(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/**
 * A recorded `kubectl apply` UPDATE of a Deployment (object and oldObject, last-applied in both)
 * in namespace `shop`, grown to `bytes` by environment variables in its container, as a
 * Deployment near the API server's 3 MiB request limit is.
 */
function bigReview(bytes: number): Buffer {
  const review = loadRecorded('deployment-update-apply-new-image.json') as Review & { request: Record<string, any> };
  review.request.namespace = 'shop';
  const objects = [review.request.object, review.request.oldObject] as Record<string, any>[];
  for (const o of objects) o.metadata.namespace = 'shop';
  const base = Buffer.byteLength(JSON.stringify(review));
  const entry = (i: number, size: number): { name: string; value: string } => ({ name: `SETTING_${String(i).padStart(5, '0')}`, value: 'x'.repeat(size) });
  const perEntry = Buffer.byteLength(JSON.stringify(entry(0, 1000))) + 1;
  const count = Math.floor((bytes - base) / 2 / perEntry);
  for (const o of objects) o.spec.template.spec.containers[0].env = Array.from({ length: count }, (_, i) => entry(i, 1000));
  const short = bytes - Buffer.byteLength(JSON.stringify(review));
  // The last few hundred bytes go into one value, so the body is exactly `bytes` long.
  (review.request.object.spec.template.spec.containers[0].env as { value: string }[])[0]!.value += 'x'.repeat(short);
  const body = Buffer.from(JSON.stringify(review));
  if (body.length !== bytes) throw new Error(`big review is ${body.length} bytes, wanted ${bytes}`);
  return body;
}

function smallReview(uid: string): string {
  const review = loadRecorded('pod-create-run.json') as Review & { request: Record<string, any> };
  review.request.uid = uid;
  review.request.namespace = 'shop';
  review.request.object.metadata.namespace = 'shop';
  return JSON.stringify(review);
}

describe('reliability: memory and connection bounds (pullfix serve process)', function () {
  this.timeout(120_000);
  let certs: CertFiles;
  let ca: Buffer;
  let serve: ServeProcess | undefined;

  before(() => {
    certs = makeCerts();
    ca = readFileSync(certs.caCert);
    writeFileSync(join(certs.dir, 'config.yaml'), readFileSync(repoPath('examples', 'config.yaml')));
  });
  afterEach(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) {
      serve.child.kill('SIGTERM');
      const exit = await serve.exited;
      expect(exit.code, serve.stderr()).to.equal(0);
    }
    serve = undefined;
  });
  after(() => removeDir(certs.dir));

  async function start(extra: string[] = []): Promise<{ port: number; healthPort: number; pid: number }> {
    serve = spawnServe([
      '--config', join(certs.dir, 'config.yaml'),
      '--tls-cert', certs.cert,
      '--tls-key', certs.key,
      '--namespaces', repoPath('examples', 'namespaces.yaml'),
      ...extra,
    ]);
    const { port, healthPort } = await serve.listening;
    await until(async () => (await getHealth(healthPort, '/readyz')).status === 200, '/readyz', 15_000);
    return { port, healthPort, pid: serve.child.pid as number };
  }

  it(`${BIG_REVIEWS} concurrent 7 MB reviews: small reviews all answered, big ones beyond the body budget refused 429 with Retry-After and counted, RSS under the Deployment's memory limit`, async () => {
    const limit = deploymentMemoryLimit();
    const big = bigReview(BIG_BYTES);
    const { port, healthPort, pid } = await start();
    // Warm up (TLS, the engine, the JIT) so the baseline is the server's steady state.
    for (let i = 0; i < 20; i++) checkAnswer(await post(port, smallReview(`warm-${i}`), { agent: false, ca, path: PATH }), `warm-${i}`);
    const before = memoryOf(pid);

    let bigDone = false;
    const bigReplies: Array<Reply | RequestFailure> = [];
    // Keep-alive, as the API server's transport: a refused body is drained and the connection kept.
    const bigAgent = new https.Agent({ keepAlive: true, maxSockets: BIG_REVIEWS, ca, servername: SERVICE_NAME });
    const bigBurst = Promise.all(
      Array.from({ length: BIG_REVIEWS }, () =>
        post(port, big, { agent: bigAgent, ca, path: PATH, timeoutMs: 60_000 }).then(
          (reply) => void bigReplies.push(reply),
          (err: RequestFailure) => void bigReplies.push(err),
        ),
      ),
    ).finally(() => (bigDone = true));

    // Small reviews, as the API server keeps sending them meanwhile: each must be answered 200 in time.
    const agent = new https.Agent({ keepAlive: true, maxSockets: SMALL_LOOPS, ca, servername: SERVICE_NAME });
    const small = { sent: 0, ok: 0, slowest: 0, failures: [] as string[] };
    async function smallLoop(loop: number): Promise<void> {
      for (let i = 0; !bigDone || i < 10; i++) {
        const uid = `small-${loop}-${i}`;
        small.sent++;
        const t0 = performance.now();
        try {
          checkAnswer(await post(port, smallReview(uid), { agent, ca, path: PATH, timeoutMs: API_SERVER_TIMEOUT_MS }), uid);
          small.ok++;
          small.slowest = Math.max(small.slowest, performance.now() - t0);
        } catch (err) {
          small.failures.push(`${uid}: ${(err as Error).message.slice(0, 160)}`);
        }
      }
    }
    await Promise.all([bigBurst, ...Array.from({ length: SMALL_LOOPS }, (_, i) => smallLoop(i))]);
    agent.destroy();
    bigAgent.destroy();
    const after = memoryOf(pid);
    const text = await scrape(healthPort);

    const answered = bigReplies.filter((r): r is Reply => !(r instanceof RequestFailure) && r.status === 200);
    const refused = bigReplies.filter((r): r is Reply => !(r instanceof RequestFailure) && r.status === 429);
    const other = bigReplies.filter((r) => r instanceof RequestFailure || (r.status !== 200 && r.status !== 429));
    const counted = metric(text, 'pullfix_requests_refused_total', { reason: 'body_budget' });
    console.log(
      `      ${BIG_REVIEWS} x ${BIG_BYTES} bytes: ${answered.length} answered 200, ${refused.length} refused 429, ${other.length} other; ` +
        `${small.ok}/${small.sent} small reviews answered, slowest ${small.slowest.toFixed(0)} ms; ` +
        `RSS before ${mib(before.rss)}, peak (VmHWM) ${mib(after.hwm)}, after ${mib(after.rss)}; limit ${mib(limit)}; refusals counted ${counted}`,
    );

    expect(small.failures, 'every small review answered 200 within the webhook timeout').to.deep.equal([]);
    expect(other.map((r) => (r instanceof RequestFailure ? `${r.code}: ${r.message}` : `HTTP ${r.status}: ${r.text.slice(0, 120)}`))).to.deep.equal([]);
    for (const r of answered) checkAnswer(r, JSON.parse(big.toString('utf8')).request.uid as string);
    expect(refused.length, 'some big reviews refused').to.be.greaterThan(0);
    for (const r of refused) {
      expect(r.headers['retry-after']).to.match(/^[1-9]\d*$/);
      expect(r.text.length, 'a short body').to.be.below(300);
      expect(JSON.parse(r.text)).to.include({ status: 429 });
    }
    expect(counted).to.equal(refused.length);
    expect(metric(text, 'pullfix_admission_requests_total', { kind: '', operation: '', result: 'refused' })).to.equal(refused.length);
    expect(after.hwm, `peak RSS ${mib(after.hwm)} against the Deployment's limit ${mib(limit)}`).to.be.below(limit);
  });

  it('connections beyond the default bound (512) are closed at once and counted; the held ones and, once some close, new ones are answered', async () => {
    const { port, healthPort, pid } = await start();
    const MAX = 512;
    const EXTRA = 20;
    const connect = (): Promise<tls.TLSSocket> =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({ host: HOST, port, ca, servername: SERVICE_NAME }, () => resolve(socket));
        socket.once('error', reject);
        socket.once('close', () => reject(new Error('closed before the handshake')));
      });
    const held: tls.TLSSocket[] = [];
    try {
      const before = memoryOf(pid);
      // In batches, as a flood of clients would arrive: the server holds MAX, whatever the order.
      for (let i = 0; i < MAX; i += 64) held.push(...(await Promise.all(Array.from({ length: Math.min(64, MAX - i) }, connect))));
      const full = memoryOf(pid);
      // More: the server closes each before the handshake completes.
      const extra = await Promise.all(
        Array.from({ length: EXTRA }, () =>
          connect().then(
            (socket) => {
              held.push(socket);
              return 'connected';
            },
            (err: Error) => `refused: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
          ),
        ),
      );
      const text = await scrape(healthPort);
      console.log(
        `      ${MAX} idle TLS connections: RSS ${mib(before.rss)} -> ${mib(full.rss)}; ${extra.filter((e) => e !== 'connected').length} of ${EXTRA} more refused ` +
          `(${[...new Set(extra)].join(', ')}); counted ${metric(text, 'pullfix_requests_refused_total', { reason: 'connections' })}`,
      );
      expect(extra.filter((e) => e === 'connected'), 'connections beyond the bound').to.deep.equal([]);
      expect(serve?.logs.find((l) => l.msg === 'pullfix webhook listening')?.maxConnections, 'the bound, as the server logs it').to.equal(MAX);
      expect(metric(text, 'pullfix_requests_refused_total', { reason: 'connections' })).to.equal(EXTRA);
      // The connection bound keeps the sockets' share of the memory limit small.
      expect(full.rss - before.rss, 'memory of the held connections').to.be.below(deploymentMemoryLimit() / 8);

      // A held connection still carries a review.
      const socket = held[0] as tls.TLSSocket;
      const answer = await new Promise<string>((resolve, reject) => {
        let response = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          response += chunk;
          const head = /\r\ncontent-length: (\d+)\r\n[^]*?\r\n\r\n/i.exec(response);
          if (head && response.length >= head.index + head[0].length + Number(head[1])) resolve(response);
        });
        socket.once('error', reject);
        socket.write(httpRequest(smallReview('held-connection'), {}, `POST ${PATH} HTTP/1.1`));
      });
      expect(answer).to.match(/^HTTP\/1\.1 200 /);

      // Some go away: new connections are served again.
      for (const s of held.splice(0, 8)) s.destroy();
      await until(async () => {
        try {
          checkAnswer(await post(port, smallReview('after-close'), { agent: false, ca, path: PATH }), 'after-close');
          return true;
        } catch {
          return false;
        }
      }, 'a new connection to be served', 5000);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('takes both bounds from its flags, and refuses a body budget smaller than one review (exit 2, one line)', async () => {
    await start(['--max-inflight-bytes', '48Mi', '--max-connections', '100']);
    expect(serve?.logs.find((l) => l.msg === 'pullfix webhook listening')).to.include({ maxInflightBytes: 48 * 2 ** 20, maxConnections: 100 });
    serve?.child.kill('SIGTERM');
    await serve?.exited;
    for (const [flags, message] of [
      [['--max-inflight-bytes', '1Mi'], `pullfix: --max-inflight-bytes ${2 ** 20} is smaller than one review may be (${7 * 2 ** 20} bytes): reviews that large would always be refused; use at least 7Mi\n`],
      [['--max-inflight-bytes', '64MB'], /^error: option '--max-inflight-bytes <size>' argument '64MB' is invalid\. "64MB" is not a size/],
      [['--max-connections', '0'], /^error: option '--max-connections <n>' argument '0' is invalid\. "0" is not a whole number of at least 1/],
    ] as const) {
      serve = spawnServe(['--tls-cert', certs.cert, '--tls-key', certs.key, '--namespaces', repoPath('examples', 'namespaces.yaml'), ...flags]);
      const exit = await serve.exited;
      expect(exit.code, serve.stderr()).to.equal(2);
      if (typeof message === 'string') expect(serve.stderr()).to.equal(message);
      else expect(serve.stderr()).to.match(message);
    }
  });
});
