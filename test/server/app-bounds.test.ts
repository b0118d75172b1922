// What a caller cannot make pullfix do: grow /metrics with made-up kinds, read a body back in
// an error or a log line, or get a namespace's bad label logged once per request. And what a
// namespace the cache does not know yet costs: one lookup, defaults with a warning on failure.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createAdmissionHandler, type AdmissionContext, type NamespaceLookup } from '../../src/admission/handler.js';
import { StaticNamespaceSource, namespaceInfoFrom } from '../../src/cluster/namespace-source.js';
import { DEFAULT_CONFIG, compileConfig } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import type { NamespaceInfo } from '../../src/engine/types.js';
import { createApp } from '../../src/server/app.js';
import { type Metrics, createMetrics } from '../../src/server/metrics.js';
import { loadReview } from '../helpers/fixtures.js';
import { metric, postReview, send } from '../helpers/https-client.js';

const POD = 'pod-misplaced-kubectl-apply.json';

interface Harness {
  port: number;
  metrics: Metrics;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

async function start(context: Partial<AdmissionContext> = {}, config = DEFAULT_CONFIG): Promise<Harness> {
  const engine = createEngine(compileConfig(config));
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const metrics = createMetrics({ namespaces: () => new StaticNamespaceSource() });
  const handler = createAdmissionHandler({ engine: () => engine, namespace: () => undefined, ...context });
  const server = http.createServer(createApp({ handler, metrics, logger: pino({ level: 'info' }, sink) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    metrics,
    logs,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function review(edit: (r: Record<string, any>) => void = () => {}): Record<string, any> {
  const r = loadReview(POD) as unknown as Record<string, any>;
  edit(r);
  return r;
}

describe('createApp: bounded metrics', () => {
  let h: Harness;
  before(async () => {
    h = await start({}, { ...DEFAULT_CONFIG, podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }] });
  });
  after(() => h.close());

  it('counts a kind outside SPEC §5 as `other`: 300 made-up kinds add no series', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const before = (await h.metrics.registry.metrics()).length;
      await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          postReview({ port: h.port, agent }, review((r) => (r.request.kind = { group: 'example.com', version: 'v1', kind: `Kind${i}` }))),
        ),
      );
      const text = await h.metrics.registry.metrics();
      expect(text).not.to.include('Kind1');
      expect(metric(text, 'pullfix_admission_requests_total', { kind: 'other', operation: 'CREATE', result: 'allowed' })).to.equal(300);
      // One new series (and the help text of the histogram buckets it touched), not 300.
      expect(text.length - before).to.be.below(4000);
    } finally {
      agent.destroy();
    }
  });

  it('counts a Pod as Pod, and a configured pod-template kind under its own name', async () => {
    await postReview({ port: h.port }, review());
    await postReview({ port: h.port }, review((r) => (r.request.kind = { group: 'apps.kruise.io', version: 'v1alpha1', kind: 'CloneSet' })));
    // The same kind name in another group is not the configured kind.
    await postReview({ port: h.port }, review((r) => (r.request.kind = { group: 'example.com', version: 'v1', kind: 'Pod' })));
    const text = await h.metrics.registry.metrics();
    expect(metric(text, 'pullfix_admission_requests_total', { kind: 'Pod', operation: 'CREATE', result: 'patched' })).to.equal(1);
    expect(metric(text, 'pullfix_admission_requests_total', { kind: 'CloneSet', operation: 'CREATE', result: 'allowed' })).to.equal(1);
    expect(metric(text, 'pullfix_admission_requests_total', { kind: 'other', operation: 'CREATE', result: 'allowed' })).to.equal(301);
  });
});

describe('createApp: quiet errors', () => {
  let h: Harness;
  before(async () => {
    h = await start();
  });
  after(() => h.close());

  it('answers a body that is not JSON with a position, and logs no part of the body', async () => {
    const body = '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"password": hunter2-secret}}';
    const reply = await send<{ error: string }>({ port: h.port }, { method: 'POST', path: '/mutate', body });
    expect(reply.status).to.equal(400);
    expect(reply.body.error).to.equal('body is not JSON: it has a syntax error at line 1, column 90 (character 90)');
    const logged = JSON.stringify(h.logs);
    expect(logged).to.include('column 90');
    expect(logged).not.to.include('hunter2');
    expect(reply.text).not.to.include('hunter2');
  });
});

describe('createApp: invalid namespace labels', () => {
  const spaces = new Map<string, NamespaceInfo>();
  let h: Harness;
  before(async () => {
    h = await start({ namespace: (name) => spaces.get(name) });
  });
  after(() => h.close());

  const problems = (): Array<Record<string, unknown>> => h.logs.filter((l) => l.msg === 'invalid namespace label ignored');
  const counted = async (): Promise<number | undefined> => metric(await h.metrics.registry.metrics(), 'pullfix_namespace_label_problems_total');

  it('logs and counts a bad label once per namespace content, not once per request; warns on every request', async () => {
    spaces.set('default', namespaceInfoFrom({ name: 'default', labels: { 'pullfix.dev/mode': 'enforced', team: 'a' } }));
    for (let i = 0; i < 5; i++) {
      const reply = await postReview({ port: h.port }, review());
      expect(reply.body.response.warnings?.[0]).to.equal(
        'pullfix: namespace default label pullfix.dev/mode="enforced" is not one of off, default, enforce; ignored',
      );
    }
    expect(problems()).to.have.length(1);
    expect(problems()[0]).to.include({ namespace: 'default', level: 40 });
    expect(await counted()).to.equal(1);

    // The cache hands out a new object for the same content (a relist, a change to another label):
    // still nothing new to report.
    spaces.set('default', namespaceInfoFrom({ name: 'default', labels: { 'pullfix.dev/mode': 'enforced', team: 'b' } }));
    await postReview({ port: h.port }, review());
    expect(problems()).to.have.length(1);

    // New content, new problems: reported once more.
    spaces.set('default', namespaceInfoFrom({ name: 'default', labels: { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/tagged': 'always' } }));
    await postReview({ port: h.port }, review());
    await postReview({ port: h.port }, review());
    expect(problems()).to.have.length(2);
    expect(await counted()).to.equal(2);
  });
});

describe('createApp: a namespace the cache does not know yet', () => {
  let h: Harness;
  let calls: string[];
  let answer: (name: string) => Promise<NamespaceLookup>;
  before(async () => {
    h = await start({ lookup: (name) => (calls.push(name), answer(name)) });
  });
  after(() => h.close());
  beforeEach(() => {
    calls = [];
  });

  const lookups = async (result: string): Promise<number | undefined> =>
    metric(await h.metrics.registry.metrics(), 'pullfix_namespace_lookups_total', { result });

  it('applies the labels of a namespace read from the API server', async () => {
    answer = async (name) => ({ found: namespaceInfoFrom({ name, labels: { 'pullfix.dev/mode': 'off' } }) });
    const reply = await postReview({ port: h.port }, review());
    expect(calls).to.deep.equal(['default']);
    expect(reply.body.response).to.deep.equal({ uid: reply.body.response.uid, allowed: true });
    expect(await lookups('found')).to.equal(1);
  });

  it('applies config defaults with a warning, a log line and a counted failure when it cannot be read', async () => {
    answer = async () => ({ failed: 'get namespace default: no answer within 1000 ms' });
    const reply = await postReview({ port: h.port }, review());
    expect(reply.body.response.patch, 'the defaults still move the stray value').to.be.a('string');
    expect(reply.body.response.warnings?.[0]).to.equal(
      'pullfix: namespace default could not be read from the API server; config defaults applied',
    );
    expect(await lookups('failed')).to.equal(1);
    expect(h.logs.some((l) => l.level === 40 && l.namespace === 'default' && String(l.msg).includes('config defaults applied'))).to.equal(true);
  });

  it('applies config defaults without a warning when the API server has no such namespace', async () => {
    answer = async () => ({});
    const reply = await postReview({ port: h.port }, review());
    expect(reply.body.response.warnings).to.have.length(1);
    expect(reply.body.response.warnings?.[0]).to.match(/moved from pod level/);
    expect(await lookups('not_found')).to.equal(1);
  });

  it('makes no lookup for a review without a namespace', async () => {
    answer = async () => ({});
    await postReview({ port: h.port }, review((r) => (r.request.namespace = '')));
    expect(calls).to.deep.equal([]);
  });
});
