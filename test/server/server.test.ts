// The webhook as the API server meets it: startServer with real certificates over HTTPS on
// loopback, verified for the Service name; namespaces from examples/namespaces.yaml or from a
// stand-in API server; certificate and config files rewritten under a running server.
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { pino } from 'pino';
import { kubeClient } from '../../src/cluster/kube-client.js';
import { WatchNamespaceSource } from '../../src/cluster/namespace-watch-source.js';
import { FileNamespaceSource } from '../../src/cluster/namespace-file-source.js';
import type { NamespaceSource } from '../../src/cluster/namespace-source.js';
import { type RunningServer, type ServerOptions, startServer } from '../../src/server/server.js';
import { type CertFiles, makeCerts, makeTempDir, removeDir, rotateCerts, serialOf } from '../helpers/certs.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { loadReview, repoPath, type Review } from '../helpers/fixtures.js';
import {
  type Reply,
  type ReviewReply,
  type Target,
  holdReview,
  keepAliveAgent,
  metric,
  patched,
  pollUntil,
  postReview,
  scrape,
  send,
} from '../helpers/https-client.js';

const POLL_MS = 100;
const BACKOFF = { initialMs: 20, maxMs: 100 };
const READY = '[+]config\n[+]certificate\n[+]namespaces\n[+]serving\nok\n';
const NOT_SYNCED = '[+]config\n[+]certificate\n[-]namespaces\n[+]serving\nnot ready\n';

const POD_CHANGES = 'containers[myapp]: IfNotPresent->Always (pod-level value)';
const DEPLOYMENT_CHANGES = 'containers[web]: IfNotPresent->Always (pod-level value); containers[sidecar]: IfNotPresent->Always (pod-level value)';

/** A fixture moved to another namespace (request and object). */
function inNamespace(name: string, namespace: string): Review {
  const review = loadReview(name);
  review.request.namespace = namespace;
  review.request.object.metadata.namespace = namespace;
  return review;
}

/** Replaces a file atomically, as a Secret or ConfigMap volume update does. */
function replaceFile(file: string, content: string | Buffer): void {
  writeFileSync(`${file}.new`, content);
  renameSync(`${file}.new`, file);
}

function expectAllowedUnchanged(reply: Reply<ReviewReply>, uid: string): void {
  expect(reply.status).to.equal(200);
  expect(reply.body).to.deep.equal({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
}

describe('startServer', function () {
  let certs: CertFiles;
  let ca: Buffer;
  let dir: string;
  let configFile: string;
  const started: RunningServer[] = [];
  const agents: https.Agent[] = [];

  before(() => {
    certs = makeCerts();
    ca = readFileSync(certs.caCert);
  });
  after(() => removeDir(certs.dir));

  beforeEach(() => {
    dir = makeTempDir();
    configFile = join(dir, 'config.yaml');
    copyFileSync(repoPath('examples', 'config.yaml'), configFile);
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.destroy();
    for (const server of started.splice(0)) await server.shutdown();
    removeDir(dir);
  });

  async function serve(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
    const server = await startServer({
      configFile,
      tlsCert: certs.cert,
      tlsKey: certs.key,
      port: 0,
      healthPort: 0,
      host: '127.0.0.1',
      namespaces: new FileNamespaceSource(repoPath('examples', 'namespaces.yaml')),
      logger: pino({ level: 'silent' }),
      pollIntervalMs: POLL_MS,
      ...options,
    });
    started.push(server);
    return server;
  }

  /** A client for `server` on its own keep-alive agent, as the API server connects. */
  function client(server: RunningServer, caPem = ca): Target {
    const agent = keepAliveAgent(caPem);
    agents.push(agent);
    return { port: server.port, ca: caPem, agent };
  }

  const metricsOf = async (server: RunningServer): Promise<string> => (await scrape(server.healthPort, '/metrics')).text;

  describe('POST /mutate over HTTPS', () => {
    let server: RunningServer;
    let target: Target;
    beforeEach(async () => {
      server = await serve();
      target = client(server);
      await pollUntil(() => server.ready(), 'the namespace file to load');
    });

    it('moves a stray pod-level policy of a Pod into its container, and changes nothing else', async () => {
      const review = loadReview('pod-misplaced-kubectl-apply.json');
      const reply = await postReview(target, review);
      expect(reply.status).to.equal(200);
      expect(reply.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(reply.serial).to.equal(serialOf(certs.cert));
      expect(reply.body.apiVersion).to.equal('admission.k8s.io/v1');
      expect(reply.body.kind).to.equal('AdmissionReview');
      const { response } = reply.body;
      expect(Object.keys(response).sort()).to.deep.equal(['allowed', 'auditAnnotations', 'patch', 'patchType', 'uid', 'warnings']);
      expect(response.uid).to.equal(review.request.uid);
      expect(response.allowed).to.equal(true);
      expect(response.patchType).to.equal('JSONPatch');
      expect(response.warnings).to.deep.equal(['pullfix: container "myapp": imagePullPolicy IfNotPresent -> Always (moved from pod level)']);
      expect(response.auditAnnotations).to.deep.equal({ changes: POD_CHANGES });

      const expected = structuredClone(review.request.object);
      expected.spec.containers[0].imagePullPolicy = 'Always';
      expected.metadata.annotations['pullfix.dev/changes'] = POD_CHANGES;
      expect(patched(review.request.object, reply.body)).to.deep.equal(expected);
    });

    it('moves a stray template-level policy of a Deployment, keeping the explicit one', async () => {
      const review = loadReview('deployment-kubectl-apply-stray.json');
      const reply = await postReview(target, review);
      expect(reply.status).to.equal(200);
      const { response } = reply.body;
      expect(response.uid).to.equal('c0ffee00-1111-4222-8333-444455556666');
      expect(response.allowed).to.equal(true);
      expect(response.patchType).to.equal('JSONPatch');
      expect(response.warnings).to.deep.equal([
        'pullfix: container "web": imagePullPolicy IfNotPresent -> Always (moved from pod level)',
        'pullfix: container "sidecar": imagePullPolicy IfNotPresent -> Always (moved from pod level)',
      ]);
      expect(response.auditAnnotations).to.deep.equal({ changes: DEPLOYMENT_CHANGES });

      const after = patched(review.request.object, reply.body);
      expect(after.spec.template.spec.containers.map((c: { name: string; imagePullPolicy: string }) => [c.name, c.imagePullPolicy])).to.deep.equal([
        ['web', 'Always'],
        ['sidecar', 'Always'],
        ['metrics', 'IfNotPresent'], // explicit in last-applied: kept
      ]);
      const expected = structuredClone(review.request.object);
      expected.spec.template.spec.containers[0].imagePullPolicy = 'Always';
      expected.spec.template.spec.containers[1].imagePullPolicy = 'Always';
      expected.metadata.annotations['pullfix.dev/changes'] = DEPLOYMENT_CHANGES;
      expect(after).to.deep.equal(expected);
    });

    it('answers admission.k8s.io/v1beta1 as v1beta1', async () => {
      const review = loadReview('pod-misplaced-kubectl-apply.json');
      review.apiVersion = 'admission.k8s.io/v1beta1';
      const reply = await postReview(target, review);
      expect(reply.status).to.equal(200);
      expect(reply.body.apiVersion).to.equal('admission.k8s.io/v1beta1');
      expect(reply.body.kind).to.equal('AdmissionReview');
      expect(reply.body.response.uid).to.equal(review.request.uid);
      expect(reply.body.response.auditAnnotations).to.deep.equal({ changes: POD_CHANGES });
      expect(patched(review.request.object, reply.body).spec.containers[0].imagePullPolicy).to.equal('Always');
    });

    it('allows a ConfigMap with no patch and no patchType', async () => {
      expectAllowedUnchanged(await postReview(target, loadReview('configmap.json')), 'f0e1d2c3-b4a5-4968-8776-655443322110');
    });

    it('touches nothing in a namespace labelled pullfix.dev/mode=off', async () => {
      const review = inNamespace('pod-misplaced-kubectl-apply.json', 'legacy');
      expectAllowedUnchanged(await postReview(target, review), review.request.uid);
    });

    it('answers a bad request with 400 over TLS too', async () => {
      const reply = await send(target, { method: 'POST', path: '/mutate', body: '{' });
      expect(reply.status).to.equal(400);
      expect(reply.body).to.have.property('status', 400);
      expect(reply.body).not.to.have.property('response');
    });

    it('presents a certificate valid for the Service name and refuses TLS 1.1', async () => {
      const review = loadReview('configmap.json');
      // The certificate is checked against the name the API server dials, not only the IP.
      await postReview({ ...target, servername: 'pullfix.other-namespace.svc' }, review).then(
        () => expect.fail('a certificate for another name was accepted'),
        (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID'),
      );
      // TLS 1.1: the server answers the hello with a protocol_version alert.
      await postReview({ port: server.port, ca, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' }, review).then(
        () => expect.fail('a TLS 1.1 handshake succeeded'),
        (err: Error) => expect(err.message).to.match(/alert protocol version/),
      );
      // TLS 1.2 is the floor, and it is accepted.
      const tls12 = await postReview({ port: server.port, ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, review);
      expect(tls12.status).to.equal(200);
    });
  });

  describe('health and metrics', () => {
    it('serves /healthz, /readyz and /metrics on the plain port', async () => {
      const server = await serve();
      await pollUntil(() => server.ready(), 'the namespace file to load');
      const healthz = await scrape(server.healthPort, '/healthz');
      expect([healthz.status, healthz.text]).to.deep.equal([200, 'ok\n']);
      const readyz = await scrape(server.healthPort, '/readyz');
      expect([readyz.status, readyz.text]).to.deep.equal([200, READY]);

      await postReview(client(server), loadReview('pod-misplaced-kubectl-apply.json'));
      const scraped = await scrape(server.healthPort, '/metrics');
      expect(scraped.status).to.equal(200);
      expect(scraped.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
      const text = scraped.text;
      expect(metric(text, 'pullfix_admission_requests_total', { kind: 'Pod', operation: 'CREATE', result: 'patched' })).to.equal(1);
      expect(metric(text, 'pullfix_patches_total', { reason: 'stray' })).to.equal(1);
      expect(metric(text, 'pullfix_admission_duration_seconds_count', { result: 'patched' })).to.equal(1);
      expect(metric(text, 'pullfix_namespace_cache_synced')).to.equal(1);
      expect(metric(text, 'pullfix_namespace_cache_size')).to.equal(4);
      expect(metric(text, 'pullfix_certificate_reloads_total', { result: 'ok' })).to.equal(0);
      expect(metric(text, 'pullfix_certificate_reloads_total', { result: 'failed' })).to.equal(0);
      const notAfter = new Date(new X509Certificate(readFileSync(certs.cert)).validTo);
      expect(metric(text, 'pullfix_certificate_expiry_timestamp_seconds')).to.equal(notAfter.getTime() / 1000);

      expect((await scrape(server.healthPort, '/nope')).status).to.equal(404);
    });

    it('is not ready before the first namespace list, while the API server cannot be reached', async () => {
      // A kubeconfig for an API server that has gone: its port is closed.
      const api = await FakeKubeApi.start();
      const unreachable = api.endpoint();
      await api.close();
      const source = new WatchNamespaceSource(kubeClient(unreachable), { backoff: BACKOFF });
      const server = await serve({ namespaces: source });
      await pollUntil(() => source.status().errors >= 2, 'two failed list attempts');

      const readyz = await scrape(server.healthPort, '/readyz');
      expect([readyz.status, readyz.text]).to.deep.equal([503, NOT_SYNCED]);
      expect(server.ready()).to.equal(false);
      const text = await metricsOf(server);
      expect(metric(text, 'pullfix_namespace_cache_synced')).to.equal(0);
      expect(metric(text, 'pullfix_namespace_cache_connected')).to.equal(0);
      expect(metric(text, 'pullfix_namespace_cache_errors_total')).to.be.at.least(2);
      expect((await scrape(server.healthPort, '/healthz')).status).to.equal(200);

      // Requests never wait on the API server: config defaults apply meanwhile.
      const reply = await postReview(client(server), loadReview('pod-misplaced-kubectl-apply.json'));
      expect(reply.body.response.auditAnnotations).to.deep.equal({ changes: POD_CHANGES });
    });

    it('becomes ready after the first list, and stays ready when the API server goes away', async () => {
      const api = await FakeKubeApi.start({ default: {}, legacy: { 'pullfix.dev/mode': 'off' } });
      try {
        api.fail({ on: 'list', status: 503, times: Infinity });
        const source: NamespaceSource = new WatchNamespaceSource(kubeClient(api.endpoint()), { backoff: BACKOFF });
        const server = await serve({ namespaces: source });
        await pollUntil(() => api.count('list') >= 2, 'two failed lists');
        expect((await scrape(server.healthPort, '/readyz')).status).to.equal(503);

        api.recover();
        await pollUntil(() => server.ready(), 'the first list');
        const readyz = await scrape(server.healthPort, '/readyz');
        expect([readyz.status, readyz.text]).to.deep.equal([200, READY]);
        const legacy = inNamespace('pod-misplaced-kubectl-apply.json', 'legacy');
        const target = client(server);
        expectAllowedUnchanged(await postReview(target, legacy), legacy.request.uid);

        await api.close();
        await pollUntil(() => !source.status().connected, 'the watch to fail');
        const after = await scrape(server.healthPort, '/readyz');
        expect([after.status, after.text]).to.deep.equal([200, READY]);
        const text = await metricsOf(server);
        expect(metric(text, 'pullfix_namespace_cache_synced')).to.equal(1);
        expect(metric(text, 'pullfix_namespace_cache_connected')).to.equal(0);
        // The last known labels still apply.
        expectAllowedUnchanged(await postReview(target, legacy), legacy.request.uid);
      } finally {
        await api.close();
      }
    });
  });

  describe('certificate rotation', () => {
    let own: CertFiles;
    let ownCa: Buffer;
    beforeEach(() => {
      own = makeCerts(join(dir, 'tls'));
      ownCa = readFileSync(own.caCert);
    });

    it('serves a rotated certificate to new connections without failing a request', async () => {
      const server = await serve({ tlsCert: own.cert, tlsKey: own.key });
      const oldSerial = serialOf(own.cert);
      const review = loadReview('pod-misplaced-kubectl-apply.json');
      const shared = client(server, ownCa);
      let stop = false;
      let ok = 0;
      const failures: string[] = [];
      const freshSerials: string[] = [];

      const one = async (target: Target): Promise<Reply<ReviewReply>> => {
        const reply = await postReview(target, review);
        if (reply.status !== 200 || reply.body.response.uid !== review.request.uid) throw new Error(`HTTP ${reply.status}: ${reply.text}`);
        return reply;
      };
      const loop = async (fresh: boolean): Promise<void> => {
        while (!stop) {
          // A fresh agent is a new TLS connection, so a new handshake with the current pair.
          const agent = fresh ? keepAliveAgent(ownCa) : undefined;
          try {
            const reply = await one(agent ? { port: server.port, ca: ownCa, agent } : shared);
            if (fresh) freshSerials.push(reply.serial);
            ok++;
          } catch (err) {
            failures.push((err as Error).message);
          } finally {
            agent?.destroy();
          }
        }
      };
      const loops = [loop(false), loop(false), loop(false), loop(true)];
      try {
        await pollUntil(() => ok >= 30, '30 requests before the rotation');
        await rotateCerts(own);
        const newSerial = serialOf(own.cert);
        expect(newSerial).not.to.equal(oldSerial);
        await pollUntil(() => freshSerials.includes(newSerial), 'a new connection to see the new certificate');
        const atReload = ok;
        await pollUntil(() => ok >= Math.max(100, atReload + 30), '100 requests in all, 30 after the reload');
        stop = true;
        await Promise.all(loops);

        expect(failures).to.deep.equal([]);
        expect(ok).to.be.at.least(100);
        // New connections saw the old serial, then the new one, never going back.
        const firstNew = freshSerials.indexOf(newSerial);
        expect(freshSerials[0]).to.equal(oldSerial);
        expect(freshSerials.slice(firstNew).every((s) => s === newSerial)).to.equal(true);
        expect(freshSerials.every((s) => s === oldSerial || s === newSerial)).to.equal(true);
        expect((await one({ port: server.port, ca: ownCa })).serial).to.equal(newSerial);
        expect(metric(await metricsOf(server), 'pullfix_certificate_reloads_total', { result: 'ok' })).to.equal(1);
        expect((await scrape(server.healthPort, '/readyz')).status).to.equal(200);
      } finally {
        stop = true;
        await Promise.all(loops);
      }
    });

    it('refuses a broken pair written over the files and keeps serving the old one', async () => {
      const server = await serve({ tlsCert: own.cert, tlsKey: own.key });
      const oldSerial = serialOf(own.cert);
      const other = makeCerts(join(dir, 'other'));
      // A certificate whose key is not the one in tls.key: a half-done or botched rotation.
      replaceFile(own.cert, readFileSync(other.cert));
      await pollUntil(async () => metric(await metricsOf(server), 'pullfix_certificate_reloads_total', { result: 'failed' }) === 1, 'the refusal');

      const reply = await postReview({ port: server.port, ca: ownCa }, loadReview('configmap.json'));
      expect(reply.status).to.equal(200);
      expect(reply.serial).to.equal(oldSerial);
      const text = await metricsOf(server);
      expect(metric(text, 'pullfix_certificate_reloads_total', { result: 'failed' })).to.equal(1);
      expect(metric(text, 'pullfix_certificate_reloads_total', { result: 'ok' })).to.equal(0);
      expect((await scrape(server.healthPort, '/readyz')).status).to.equal(200);
    });
  });

  describe('config reload', () => {
    // No namespace labels in `default`, so the config's class policy decides.
    const review = inNamespace('pod-one-container.json', 'default');
    const changesOf = async (target: Target): Promise<string | undefined> =>
      (await postReview(target, review)).body.response.auditAnnotations?.changes;
    const reloads = async (server: RunningServer, result: 'ok' | 'failed'): Promise<number> =>
      metric(await metricsOf(server), 'pullfix_config_reloads_total', { result }) ?? 0;

    it('applies a rewritten config file without a restart', async () => {
      const server = await serve();
      const target = client(server);
      expect(await changesOf(target)).to.equal('containers[app]: IfNotPresent->Always (policy mutable)');

      replaceFile(configFile, 'policies: {mutable: Never}\n');
      await pollUntil(async () => (await reloads(server, 'ok')) === 1, 'the reload');
      expect(await changesOf(target)).to.equal('containers[app]: IfNotPresent->Never (policy mutable)');
      expect(await reloads(server, 'failed')).to.equal(0);
    });

    it('keeps the last good config when the new one is bad, and takes the next good one', async () => {
      const server = await serve();
      const target = client(server);
      replaceFile(configFile, 'policies: {mutable: Sometimes}\n');
      await pollUntil(async () => (await reloads(server, 'failed')) === 1, 'the failed reload');
      expect(await changesOf(target)).to.equal('containers[app]: IfNotPresent->Always (policy mutable)');
      expect(await reloads(server, 'ok')).to.equal(0);
      expect((await scrape(server.healthPort, '/readyz')).status).to.equal(200);

      replaceFile(configFile, 'policies: {mutable: Never}\n');
      await pollUntil(async () => (await reloads(server, 'ok')) === 1, 'the good reload');
      expect(await changesOf(target)).to.equal('containers[app]: IfNotPresent->Never (policy mutable)');
      expect(await reloads(server, 'failed')).to.equal(1);
    });
  });

  describe('shutdown', () => {
    it('finishes a request in flight, closes its connection and idle ones, and returns promptly', async () => {
      const server = await serve({ shutdownTimeoutMs: 15_000 });
      const idle = client(server);
      const review = loadReview('pod-misplaced-kubectl-apply.json');
      const warm = await postReview(idle, review);
      expect(warm.status).to.equal(200);
      const idleSocket = Object.values((idle.agent as https.Agent).freeSockets).flat()[0];
      expect(idleSocket, 'an idle keep-alive connection').not.to.equal(undefined);
      const idleClosed = new Promise((resolve) => idleSocket?.once('close', resolve));

      const held = holdReview(client(server), review);
      await held.accepted;
      const began = Date.now();
      const stopped = server.shutdown();
      await idleClosed;
      const reply = await held.release();
      expect(reply.status).to.equal(200);
      expect(reply.body.response.uid).to.equal(review.request.uid);
      expect(reply.headers.connection).to.equal('close');
      await stopped;
      // Well under shutdownTimeoutMs: nothing waited for a keep-alive timeout.
      expect(Date.now() - began).to.be.below(5000);
      await postReview({ port: server.port, ca }, review).then(
        () => expect.fail('a request was answered after shutdown'),
        (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ECONNREFUSED'),
      );
    });
  });
});
