// Issue item 1, second half: the real server over real TLS on loopback, fed generated reviews
// and raw HTTP garbage. Every request gets a 2xx or 4xx (never a 5xx) or a closed connection,
// within the server's own timeouts; valid reviews sent alongside are answered throughout.
import { expect } from 'chai';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import type https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import type tls from 'node:tls';
import { gzipSync } from 'node:zlib';
import { FileNamespaceSource } from '../../src/cluster/namespace-file-source.js';
import { makeTempDir, removeDir } from '../helpers/certs.js';
import { workloadReview } from '../helpers/objects.js';
import { checkAsyncProperty } from '../helpers/seeds.js';
import {
  type AnsweredReview,
  describeLoad,
  getHealth,
  httpRequest,
  keepAliveAgent,
  type LoadResult,
  metric,
  post,
  rawExchange,
  reviewWithUid,
  runLoad,
  scrape,
  startWebhook,
  until,
  watchProcessErrors,
  type Webhook,
} from './helpers.js';
import { checkInvariants, corruptedArb, FUZZ_CONFIG_YAML, type GeneratedNamespace, reinvocation, reviewArb } from './review-arbitraries.js';

const RUNS = 250;
/** The server's timeouts (src/server/server.ts), plus the 1 s Node takes to notice. */
const HEADERS_TIMEOUT_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const SLACK_MS = 3_000;
const BODY_LIMIT = 7 * 1024 * 1024;

const NAMESPACES = new Map<string, GeneratedNamespace>([
  ['ns-0', { labels: { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always', 'pullfix.dev/tagged': 'IfNotPresent' }, annotations: {} }],
  ['ns-1', { labels: { 'pullfix.dev/tagged': 'Never' }, annotations: { 'pullfix.dev/mutable-tags': 'dev|main' } }],
  ['ns-2', { labels: { 'pullfix.dev/mode': 'off' }, annotations: {} }],
  ['ns-3', { labels: { 'pullfix.dev/mode': 'Enforce', 'pullfix.dev/digest': 'bogus' }, annotations: { 'pullfix.dev/mutable-tags': '(' } }],
]);
const NAMES = [...NAMESPACES.keys()];

const contentType = fc.constantFrom(
  'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=utf-16', 'garbage', '',
);

/** `text` with raw bytes inserted after the first `after`. */
function spliceBytes(text: string, after: string, bytes: number[]): Buffer {
  const at = text.indexOf(after) + after.length;
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at))]);
}

function expectErrorBody(status: number, text: string): void {
  const body = JSON.parse(text) as { error?: unknown; status?: unknown };
  expect(body.error, text).to.be.a('string');
  expect(body.status).to.equal(status);
}

describe('reliability: HTTP fuzz against the real server over TLS', function () {
  this.timeout(60_000);
  let dir: string;
  let hook: Webhook;
  let agent: https.Agent;
  let stopBackground = false;
  let background: Promise<LoadResult>;
  let processErrors: ReturnType<typeof watchProcessErrors>;

  before(async () => {
    processErrors = watchProcessErrors();
    dir = makeTempDir();
    const config = join(dir, 'config.yaml');
    const namespaces = join(dir, 'namespaces.json');
    writeFileSync(config, FUZZ_CONFIG_YAML);
    const items = [...NAMESPACES].map(([name, ns]) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...ns } }));
    writeFileSync(namespaces, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    hook = await startWebhook({ configFile: config, namespaces: new FileNamespaceSource(namespaces) });
    await until(() => hook.server.ready(), 'the server to be ready');
    agent = keepAliveAgent(hook.ca, 8);
    // Valid reviews alongside everything below, on their own connections.
    background = runLoad({ port: hook.server.port, ca: hook.ca, agent: keepAliveAgent(hook.ca, 4), connections: 4, durationMs: 120_000, stop: () => stopBackground });
  });

  after(async () => {
    stopBackground = true;
    await background;
    agent?.destroy();
    await hook?.stop();
    removeDir(dir);
    processErrors.stop();
    expect(processErrors.errors).to.deep.equal([]);
  });

  it(`answers ${RUNS} generated and corrupted reviews, any content type, with 200 or 400 and a valid patch`, async () => {
    const seen = new Map<number, number>();
    await checkAsyncProperty(
      fc.asyncProperty(fc.oneof(reviewArb(NAMES), corruptedArb(reviewArb(NAMES)), reviewArb(NAMES, 'huge')), contentType, async (c, type) => {
        const reply = await post(hook.server.port, JSON.stringify(c.review), { agent, ca: hook.ca, headers: { 'content-type': type } });
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        expect(reply.status, reply.text.slice(0, 300)).to.be.oneOf([200, 400]);
        if (reply.status === 400) return expectErrorBody(400, reply.text);
        const mutated = checkInvariants(c, JSON.parse(reply.text) as AnsweredReview, NAMESPACES);
        if (mutated === undefined) return;
        const again = await post(hook.server.port, JSON.stringify(reinvocation(c, mutated).review), { agent, ca: hook.ca });
        expect(again.status).to.equal(200);
        expect((JSON.parse(again.text) as AnsweredReview).response.patch, 'reinvocation patched again').to.equal(undefined);
      }),
      { numRuns: RUNS },
    );
    console.log(`      statuses: ${[...seen].map(([s, n]) => `${s}×${n}`).join(', ')}`);
    expect(seen.get(200)).to.be.greaterThan(RUNS / 2);
  });

  it(`answers ${RUNS} malformed bodies, methods, paths and encodings with a 4xx, never a 5xx`, async () => {
    const valid = reviewWithUid('fuzz-valid');
    const bytes = Buffer.from(valid);
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)),
      fc.nat({ max: bytes.length - 1 }).map((n) => bytes.subarray(0, n)),
      fc.tuple(fc.nat({ max: bytes.length }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, junk]) =>
        // Invalid UTF-8 (lone continuation and 0xff bytes) spliced in anywhere.
        Buffer.concat([bytes.subarray(0, at), Buffer.from(junk.map((b) => 0x80 | (b & 0x7f))), Buffer.from([0xff, 0xfe]), bytes.subarray(at)]),
      ),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      fc.integer({ min: 1, max: 100_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
      fc.constant(bytes),
    );
    const encoding = fc.constantFrom(undefined, undefined, undefined, 'gzip', 'gzip-valid', 'deflate', 'br', 'identity', 'x-unknown');
    const method = fc.constantFrom('POST', 'POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
    const path = fc.constantFrom('/mutate', '/mutate', '/mutate', '/mutate?timeout=5s', '/', '/mutate/', '/MUTATE', '/%ff', '/../mutate', '/metrics', '//mutate');
    const seen = new Map<number, number>();
    await checkAsyncProperty(
      fc.asyncProperty(body, contentType, encoding, method, path, async (payload, type, enc, verb, where) => {
        const headers: Record<string, string> = { 'content-type': type };
        let data = payload;
        if (enc === 'gzip-valid') {
          headers['content-encoding'] = 'gzip';
          data = gzipSync(payload);
        } else if (enc !== undefined) {
          headers['content-encoding'] = enc;
        }
        const reply = await post(hook.server.port, data, { agent, ca: hook.ca, method: verb, path: where, headers });
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        expect(reply.status, `${verb} ${where} ${enc ?? ''}: ${reply.text.slice(0, 200)}`).to.be.within(200, 499);
        if (reply.status === 200) {
          const review = JSON.parse(reply.text) as AnsweredReview;
          expect(review.response.allowed).to.equal(true);
        } else {
          expect(reply.text, 'every refusal says why').not.to.equal('');
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`      statuses: ${[...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(', ')}`);
    expect(seen.get(400)).to.be.greaterThan(0);
  });

  describe('raw bytes over tls.connect', () => {
    const exchange = (send: (s: tls.TLSSocket) => void, waitMs = 5000, untilResponse = true) =>
      rawExchange({ port: hook.server.port, ca: hook.ca, send, waitMs, untilResponse });

    it('a truncated body, then the client half-closes: a 400 or a close, at once', async () => {
      const request = httpRequest(reviewWithUid('truncated'));
      const out = await exchange((s) => s.end(request.subarray(0, request.length - 100)), 5000, false);
      expect(out.closed, 'the server closed the connection').to.equal(true);
      if (out.status !== undefined) expect(out.status).to.equal(400);
    });

    it('a truncated body, then the client vanishes: the server carries on', async () => {
      const request = httpRequest(reviewWithUid('vanished'));
      for (let i = 0; i < 20; i++) {
        await exchange((s) => {
          s.write(request.subarray(0, request.length / 2));
          setImmediate(() => s.destroy());
        }, 1000, false);
      }
      const reply = await post(hook.server.port, reviewWithUid('after'), { agent, ca: hook.ca });
      expect(reply.status).to.equal(200);
    });

    const garbage: Array<[string, () => Buffer, number[]]> = [
      ['malformed chunked encoding', () => Buffer.from(`POST /mutate HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`), [400]],
      ['Content-Length and Transfer-Encoding together (smuggling)', () => httpRequest('{}', { 'transfer-encoding': 'chunked' }), [400]],
      ['two different Content-Lengths', () => Buffer.from(`POST /mutate HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}`), [400]],
      ['a negative Content-Length', () => httpRequest('{}', { 'content-length': -1 }), [400]],
      ['control characters in a header value', () => httpRequest('{}', { 'x-junk': 'a\x01b\x7f' }), [400]],
      ['a header section over 16 KiB', () => httpRequest('{}', { 'x-big': 'a'.repeat(20_000) }), [431]],
      ['not HTTP at all', () => Buffer.from('\x16\x03\x01garbage\r\n\r\n\x00\xff'), [400]],
      ['an HTTP/2 preface', () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), [400, 404, 405, 505]],
      ['an absurd HTTP version', () => httpRequest('{}', {}, 'POST /mutate HTTP/9.9'), [400, 505]],
      ['a 100,000-deep JSON array', () => httpRequest('['.repeat(100_000) + ']'.repeat(100_000)), [400]],
      ['invalid UTF-8 in the strings of a valid review', () => httpRequest(spliceBytes(reviewWithUid('utf8'), '"myapp', [0xff, 0xc3, 0x28, 0x80])), [200, 400]],
    ];
    for (const [name, bytes, statuses] of garbage) {
      it(`${name}: ${statuses.join(' or ')}`, async () => {
        const out = await exchange((s) => s.write(bytes()));
        expect(out.status, `${name}: ${JSON.stringify(out.response.slice(0, 200))} ${out.error ?? ''}`).to.be.oneOf(statuses);
      });
    }

    it('a review holding an object nested 100,000 deep: 200, admitted', async () => {
      // The stray field makes the engine patch, and so walk the whole object.
      const review = JSON.parse(reviewWithUid('deep')) as { request: { object: { spec: Record<string, unknown> } } };
      review.request.object.spec.deep = 'DEEP';
      const text = JSON.stringify(review).replace('"DEEP"', `${'{"n":['.repeat(50_000)}1${']}'.repeat(50_000)}`);
      const out = await exchange((s) => s.write(httpRequest(text)), 10_000);
      expect(out.status, out.response.slice(0, 300)).to.equal(200);
      expect(out.response).to.include('"uid":"deep","allowed":true');
    });

    // body-parser reads (and discards) the rest of a body it refuses before it answers, so the
    // connection stays usable: these clients send the whole body, as a real one would.
    it('a body over the limit, announced: 413', async () => {
      const out = await exchange((s) => s.write(httpRequest(Buffer.alloc(BODY_LIMIT + 1, 0x20))), 15_000);
      expect(out.status, out.response.slice(0, 200)).to.equal(413);
    });

    it('a body over the limit, chunked: 413', async () => {
      const out = await exchange((s) => {
        s.write(`POST /mutate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        for (let i = 0; i < 8; i++) s.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
        s.write('0\r\n\r\n');
      }, 15_000);
      expect(out.status, out.response.slice(0, 200)).to.equal(413);
    });

    it('a gzip bomb (64 MiB of zeros in 64 KiB): 415, never inflated', async () => {
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
      const out = await exchange((s) => s.write(httpRequest(bomb, { 'content-encoding': 'gzip' })), 15_000);
      expect(out.status, out.response.slice(0, 200)).to.equal(415);
      expect(out.response).to.include('content-encoding gzip is not accepted; send the AdmissionReview uncompressed');
    });

    it('plain HTTP on the TLS port: the connection is closed', async () => {
      const closed = await new Promise<boolean>((resolve) => {
        const socket = net.connect(hook.server.port, '127.0.0.1', () => socket.write('POST /mutate HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}'));
        const timer = setTimeout(() => resolve(false), 5000);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
        socket.on('error', () => undefined);
        socket.resume();
      });
      expect(closed).to.equal(true);
    });

    it('slow clients (trickled headers, silence after the handshake, no handshake at all) are cut off within the timeouts', async function () {
      this.timeout(HEADERS_TIMEOUT_MS + HANDSHAKE_TIMEOUT_MS + 20_000);
      const started = Date.now();
      const trickle = Array.from({ length: 20 }, () =>
        exchange((s) => {
          s.write('POST /mutate HTTP/1.1\r\nhost: x\r\n');
          const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write(`x-slow-${Date.now()}: 1\r\n`)), 500);
          s.on('close', () => clearInterval(drip));
        }, HEADERS_TIMEOUT_MS + SLACK_MS, false),
      );
      const silent = Array.from({ length: 5 }, () => exchange(() => undefined, HEADERS_TIMEOUT_MS + SLACK_MS, false));
      const noHandshake = Array.from(
        { length: 5 },
        () =>
          new Promise<number | undefined>((resolve) => {
            const t0 = Date.now();
            const socket = net.connect(hook.server.port, '127.0.0.1');
            const timer = setTimeout(() => {
              socket.destroy();
              resolve(undefined);
            }, HANDSHAKE_TIMEOUT_MS + SLACK_MS);
            socket.on('error', () => undefined);
            socket.on('close', () => {
              clearTimeout(timer);
              resolve(Date.now() - t0);
            });
          }),
      );
      // Valid reviews are answered meanwhile (the background loop checks every one of them).
      const during = await runLoad({ port: hook.server.port, ca: hook.ca, agent, connections: 4, durationMs: 3000 });
      expect(during.failed, describeLoad(during)).to.equal(0);

      const trickled = await Promise.all(trickle);
      const silenced = await Promise.all(silent);
      const unshaken = await Promise.all(noHandshake);
      console.log(
        `      cut off after: trickled headers ${trickled.map((o) => o.closedAfterMs).join('/')} ms; ` +
          `silent ${silenced.map((o) => o.closedAfterMs).join('/')} ms; no handshake ${unshaken.join('/')} ms`,
      );
      for (const o of [...trickled, ...silenced]) {
        expect(o.closed, 'closed within headersTimeout').to.equal(true);
        if (o.status !== undefined) expect(o.status).to.equal(408);
      }
      for (const ms of unshaken) expect(ms, 'closed within the handshake timeout').to.be.a('number');
      expect(Date.now() - started).to.be.lessThan(Math.max(HEADERS_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS) + SLACK_MS + 2000);
    });
  });

  it('a 25,000-container review with a 100,000-character name is patched with one log line of a few KiB, not megabytes', async () => {
    const containers = Array.from({ length: 25_000 }, (_, i) => ({ name: `c${i}`, image: 'app:dev', imagePullPolicy: 'IfNotPresent' }));
    const review = workloadReview('Deployment', containers, { namespace: 'ns-0' });
    review.request.uid = 'many-containers';
    // Names are validated after admission: the webhook may see any length.
    review.request.name = 'x'.repeat(100_000);
    const reply = await post(hook.server.port, JSON.stringify(review), { agent, ca: hook.ca });
    expect(reply.status).to.equal(200);
    const line = hook.logs.find((l) => l.msg === 'patched' && l.uid === 'many-containers');
    expect(line, 'the patched line').to.not.equal(undefined);
    const bytes = Buffer.byteLength(JSON.stringify(line));
    console.log(`      log line: ${bytes} bytes for 25,000 changes`);
    expect(bytes).to.be.at.most(6 * 1024);
  });

  // Last: mocha runs a suite's own tests before its nested suites.
  describe('afterwards', () => {
    it('answered every valid review sent alongside, and counted the refusals', async () => {
      stopBackground = true;
      const result = await background;
      console.log(`      alongside: ${describeLoad(result)}`);
      expect(result.failed, describeLoad(result)).to.equal(0);
      expect(result.ok).to.be.greaterThan(100);
      const text = await scrape(hook.server.healthPort);
      expect(metric(text, 'pullfix_admission_requests_total', { result: 'bad_request' })).to.be.greaterThan(0);
      expect(metric(text, 'pullfix_admission_requests_total', { result: 'too_large' })).to.be.greaterThan(0);
      expect(metric(text, 'pullfix_admission_requests_total', { kind: '', operation: '', result: 'error' }) ?? 0, 'a 5xx was counted').to.equal(0);
      expect((await getHealth(hook.server.healthPort, '/readyz')).status).to.equal(200);
    });
  });
});
