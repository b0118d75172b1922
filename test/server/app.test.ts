// POST /mutate in process: the express app with the real admission handler and engine, over
// plain HTTP (TLS is server.test.ts's subject). Every way a body can be unusable gets its
// exact status and JSON error, never `allowed: false`, and leaves the connection usable.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createAdmissionHandler } from '../../src/admission/handler.js';
import { StaticNamespaceSource } from '../../src/cluster/namespace-source.js';
import { DEFAULT_CONFIG, compileConfig } from '../../src/engine/config.js';
import { type Engine, createEngine } from '../../src/engine/mutate.js';
import { createApp, isMutateUrl } from '../../src/server/app.js';
import { type Metrics, createMetrics } from '../../src/server/metrics.js';
import { loadReview } from '../helpers/fixtures.js';
import { type Reply, type ReviewReply, type SendOptions, type Target, metric, patched, postReview, send } from '../helpers/https-client.js';

const LIMIT = 16 * 1024;
const POD = 'pod-misplaced-kubectl-apply.json';
const POD_UID = '8f6b1a52-1d3c-4f7e-9a0b-2c4d6e8f0a11';
const POD_CHANGES = 'containers[myapp]: IfNotPresent->Always (pod-level value)';

const JSON_TYPE = 'application/json; charset=utf-8';

interface Started {
  server: http.Server;
  port: number;
  metrics: Metrics;
}

async function start(engine: Engine = createEngine(compileConfig(DEFAULT_CONFIG))): Promise<Started> {
  const metrics = createMetrics({ namespaces: () => new StaticNamespaceSource() });
  const handler = createAdmissionHandler({ engine: () => engine, namespace: () => undefined });
  const app = createApp({ handler, metrics, logger: pino({ level: 'silent' }), bodyLimit: LIMIT });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, metrics };
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A review edited by `edit` (a fresh copy of the fixture each time). */
function review(edit: (r: Record<string, any>) => void = () => {}): Record<string, any> {
  const r = loadReview(POD) as unknown as Record<string, any>;
  edit(r);
  return r;
}

/** The exact answer to the pod fixture under the default config. */
function expectPodAnswer(reply: Reply<ReviewReply>, apiVersion = 'admission.k8s.io/v1'): void {
  expect(reply.status).to.equal(200);
  expect(reply.headers['content-type']).to.equal(JSON_TYPE);
  const { response } = reply.body;
  expect(reply.body.apiVersion).to.equal(apiVersion);
  expect(reply.body.kind).to.equal('AdmissionReview');
  expect(Object.keys(response).sort()).to.deep.equal(['allowed', 'auditAnnotations', 'patch', 'patchType', 'uid', 'warnings']);
  expect(response.uid).to.equal(POD_UID);
  expect(response.allowed).to.equal(true);
  expect(response.patchType).to.equal('JSONPatch');
  expect(response.warnings).to.deep.equal(['pullfix: container "myapp": imagePullPolicy IfNotPresent -> Always (moved from pod level)']);
  expect(response.auditAnnotations).to.deep.equal({ changes: POD_CHANGES });
  const object = loadReview(POD).request.object;
  const after = patched(object, reply.body);
  expect(after.spec.containers[0].imagePullPolicy).to.equal('Always');
  expect(after.metadata.annotations['pullfix.dev/changes']).to.equal(POD_CHANGES);
}

interface BadCase {
  name: string;
  request: SendOptions;
  status: number;
  error: string;
  /** The `result` label counted in pullfix_admission_requests_total. */
  result: 'bad_request' | 'too_large';
}

const post = (body: unknown, extra: Partial<SendOptions> = {}): SendOptions => ({ method: 'POST', path: '/mutate', body, ...extra });
const NOT_OBJECT = 'body is not a JSON object';
const NOT_REVIEW = 'body is not an AdmissionReview (kind must be "AdmissionReview")';
const VERSIONS = 'expected admission.k8s.io/v1 or admission.k8s.io/v1beta1';
const NO_UID = 'AdmissionReview request has no uid';

/** A valid review padded with trailing spaces (still valid JSON) to exactly `size` bytes. */
function reviewOfSize(size: number): string {
  const text = JSON.stringify(review());
  expect(text.length).to.be.below(size);
  return text + ' '.repeat(size - Buffer.byteLength(text));
}

const bad = (name: string, request: SendOptions, error: string): BadCase => ({ name, request, status: 400, result: 'bad_request', error });
const tooLarge = (name: string, request: SendOptions): BadCase => ({
  name,
  request,
  status: 413,
  result: 'too_large',
  error: `request body is larger than the ${LIMIT}-byte limit`,
});
const NOT_JSON = '{"apiVersion": "admission.k8s.io/v1", ';
const SECRET = '{"apiVersion": "admission.k8s.io/v1",\n "kind": "AdmissionReview",\n "password": hunter2}';
const YAML = 'apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n';
const EMPTY = 'empty body; expected an AdmissionReview';
const NO_REQUEST = 'AdmissionReview has no request';
const withResponse = (r: Record<string, any>): void => {
  r.response = { uid: r.request.uid, allowed: true };
  delete r.request;
};

const BAD: BadCase[] = [
  // A position, never a quote of the body (JSON.parse's own message quotes it).
  bad('a body that is not JSON', post(NOT_JSON), 'body is not JSON: it ends early (line 1, column 39)'),
  bad('YAML instead of JSON', post(YAML, { headers: { 'content-type': 'application/yaml' } }), 'body is not JSON: it has a syntax error at line 1, column 1 (character 1)'),
  bad('a value that is not JSON inside', post(SECRET), 'body is not JSON: it has a syntax error at line 3, column 14 (character 80)'),
  bad('an empty body (Content-Length: 0)', post('', { headers: { 'content-length': 0 } }), EMPTY),
  bad('no body at all', { method: 'POST', path: '/mutate' }, EMPTY),
  bad('a JSON array', post('[]'), NOT_OBJECT),
  bad('a JSON string', post('"AdmissionReview"'), NOT_OBJECT),
  bad('JSON null', post('null'), NOT_OBJECT),
  bad('a JSON number', post('42'), NOT_OBJECT),
  bad('kind Pod', post(review((r) => (r.kind = 'Pod'))), NOT_REVIEW),
  bad('no kind', post(review((r) => delete r.kind)), NOT_REVIEW),
  bad('a bare Pod object', post(loadReview(POD).request.object), NOT_REVIEW),
  bad('apiVersion admission.k8s.io/v2', post(review((r) => (r.apiVersion = 'admission.k8s.io/v2'))), `unsupported AdmissionReview apiVersion "admission.k8s.io/v2"; ${VERSIONS}`),
  bad('apiVersion v1 (no group)', post(review((r) => (r.apiVersion = 'v1'))), `unsupported AdmissionReview apiVersion "v1"; ${VERSIONS}`),
  bad('no apiVersion', post(review((r) => delete r.apiVersion)), `unsupported AdmissionReview apiVersion undefined; ${VERSIONS}`),
  bad('no request', post(review((r) => delete r.request)), NO_REQUEST),
  bad('request: null', post(review((r) => (r.request = null))), NO_REQUEST),
  bad('a response instead of a request', post(review(withResponse)), NO_REQUEST),
  bad('no uid', post(review((r) => delete r.request.uid)), NO_UID),
  bad('an empty uid', post(review((r) => (r.request.uid = ''))), NO_UID),
  bad('a numeric uid', post(review((r) => (r.request.uid = 42))), NO_UID),
  bad('no request.kind', post(review((r) => delete r.request.kind)), 'AdmissionReview request has no kind'),
  bad('operation PATCH', post(review((r) => (r.request.operation = 'PATCH'))), 'AdmissionReview request has no valid operation (got "PATCH")'),
  bad('operation in lower case', post(review((r) => (r.request.operation = 'create'))), 'AdmissionReview request has no valid operation (got "create")'),
  bad('no operation', post(review((r) => delete r.request.operation)), 'AdmissionReview request has no valid operation (got undefined)'),
  {
    name: 'a gzip-encoded body (never inflated)',
    request: post(review(), { headers: { 'content-encoding': 'gzip' } }),
    status: 415,
    result: 'bad_request',
    error: 'content-encoding gzip is not accepted; send the AdmissionReview uncompressed',
  },
  tooLarge('a body one byte over the limit', post(reviewOfSize(LIMIT + 1))),
  tooLarge('a chunked body over the limit (no Content-Length)', post(reviewOfSize(2 * LIMIT), { chunked: true })),
];

describe('createApp: POST /mutate', () => {
  let running: Started;
  let agent: http.Agent;
  let target: Target;

  before(async () => {
    running = await start();
  });
  after(async () => stop(running.server));
  beforeEach(() => {
    // One connection, reused: a bad request must not cost the API server its connection.
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    target = { port: running.port, agent };
  });
  afterEach(() => agent.destroy());

  const counted = async (result: string): Promise<number> =>
    metric(await running.metrics.registry.metrics(), 'pullfix_admission_requests_total', { kind: '', operation: '', result }) ?? 0;

  it('answers a valid review with the patch, warnings and audit annotation', async () => {
    expectPodAnswer(await postReview(target, review()));
  });

  it('answers admission.k8s.io/v1beta1 in kind', async () => {
    expectPodAnswer(await postReview(target, review((r) => (r.apiVersion = 'admission.k8s.io/v1beta1'))), 'admission.k8s.io/v1beta1');
  });

  it('parses the body as JSON whatever the Content-Type says', async () => {
    expectPodAnswer(await postReview(target, review(), { 'content-type': 'text/plain' }));
    expectPodAnswer(await postReview(target, JSON.stringify(review()), { 'content-type': 'application/octet-stream' }));
  });

  it('accepts a body of exactly the limit', async () => {
    expectPodAnswer(await postReview(target, reviewOfSize(LIMIT)));
  });

  for (const c of BAD) {
    it(`answers ${c.name} with ${c.status} and a JSON error, and still answers the next review`, async () => {
      const before = await counted(c.result);
      const reply = await send<Record<string, unknown>>(target, c.request);
      expect(reply.status).to.equal(c.status);
      expect(reply.headers['content-type']).to.equal(JSON_TYPE);
      expect(reply.body).to.deep.equal({ error: c.error, status: c.status });
      expect(await counted(c.result)).to.equal(before + 1);

      const next = await postReview(target, review());
      expectPodAnswer(next);
      expect(next.localPort).to.equal(reply.localPort, 'the same keep-alive connection');
    });
  }

  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    it(`answers ${method} /mutate with 405 and Allow: POST`, async () => {
      const reply = await send(target, { method, path: '/mutate' });
      expect(reply.status).to.equal(405);
      expect(reply.headers.allow).to.equal('POST');
      expect(reply.headers['content-type']).to.equal(JSON_TYPE);
      expect(reply.body).to.deep.equal({ error: 'method not allowed; POST an AdmissionReview to /mutate', status: 405 });
      const next = await postReview(target, review());
      expectPodAnswer(next);
      expect(next.localPort).to.equal(reply.localPort);
    });
  }

  for (const [method, path] of [
    ['POST', '/validate'],
    ['POST', '/'],
    ['GET', '/healthz'],
    ['POST', '/mutate/extra'],
  ] as const) {
    it(`answers ${method} ${path} with 404`, async () => {
      const reply = await send(target, { method, path, body: method === 'POST' ? review() : undefined });
      expect(reply.status).to.equal(404);
      expect(reply.headers['content-type']).to.equal(JSON_TYPE);
      expect(reply.body).to.deep.equal({ error: 'not found; the webhook listens on POST /mutate', status: 404 });
      const next = await postReview(target, review());
      expectPodAnswer(next);
      expect(next.localPort).to.equal(reply.localPort);
    });
  }

  it('sends no x-powered-by and no etag', async () => {
    const reply = await postReview(target, review());
    expect(reply.headers).not.to.have.property('x-powered-by');
    expect(reply.headers).not.to.have.property('etag');
  });

  it('counts answered reviews by kind, operation and result', async () => {
    const labels = { kind: 'Pod', operation: 'CREATE', result: 'patched' };
    const before = metric(await running.metrics.registry.metrics(), 'pullfix_admission_requests_total', labels) ?? 0;
    await postReview(target, review());
    const text = await running.metrics.registry.metrics();
    expect(metric(text, 'pullfix_admission_requests_total', labels)).to.equal(before + 1);
    expect(metric(text, 'pullfix_patches_total', { reason: 'stray' })).to.be.at.least(1);
  });
});

describe('createApp: an engine that fails', () => {
  let running: Started;
  before(async () => {
    const { config } = createEngine(compileConfig(DEFAULT_CONFIG));
    running = await start({
      config,
      mutate: () => {
        throw new Error('boom');
      },
    });
  });
  after(async () => stop(running.server));

  it('admits the object unchanged with a warning: never allowed: false, never a 500', async () => {
    const reply = await postReview({ port: running.port }, review());
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: POD_UID, allowed: true, warnings: ['pullfix: internal error; object admitted unchanged'] },
    });
    const text = await running.metrics.registry.metrics();
    expect(metric(text, 'pullfix_admission_requests_total', { kind: 'Pod', operation: 'CREATE', result: 'error' })).to.equal(1);
  });

  it('still answers a bad request with 400', async () => {
    const reply = await send({ port: running.port }, post('[]'));
    expect(reply.status).to.equal(400);
    expect(reply.body).to.deep.equal({ error: NOT_OBJECT, status: 400 });
  });
});

describe('isMutateUrl: the webhook endpoint as the API server calls it', () => {
  for (const [url, expected] of [
    ['/mutate', true],
    ['/mutate?timeout=5s', true],
    ['/mutate?timeout=30s&x=1', true],
    ['/mutate/', false],
    ['/mutatex', false],
    ['/mutate/x?timeout=5s', false],
    ['/', false],
    [undefined, false],
  ] as const) {
    it(`${JSON.stringify(url)} → ${expected}`, () => expect(isMutateUrl(url)).to.equal(expected));
  }
});
