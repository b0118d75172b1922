// What `Always` costs at pod start, measured on the node: users avoid it for fear of this number.
// A cached image (already on the node), started again and again as a fresh Pod: from the create
// request to the Pod's phase Running, seen through a watch. Four series, interleaved round by
// round so the machine's load falls on each alike: IfNotPresent and Always, each in a namespace
// pullfix's webhook serves (every Pod reviewed; the image's class has no policy there, so the
// review changes nothing) and in one it does not (`pullfix.dev/mode=off`: no webhook called).
//
// A measurement, not a timed test: it prints medians and p90s and asserts only behaviour — each
// Always start asked the registry once, each IfNotPresent start never, and the webhook reviewed
// every Pod of its two series.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type TestCluster, type TestNode, shared } from '../harness/cluster.js';

type Json = Record<string, any>;

const STARTS = 20;

interface Series {
  label: string;
  namespace: string;
  policy: 'IfNotPresent' | 'Always';
  webhook: boolean;
  ms: number[];
  pulls: number;
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

describe('node: what Always costs at pod start (a measurement)', () => {
  let cluster: TestCluster;
  let node: TestNode;
  let api: URL;
  let tls: https.RequestOptions;
  let agent: https.Agent;

  before(() => {
    cluster = shared();
    node = cluster.node;
    api = new URL(cluster.apiServerUrl);
    tls = { ca: readFileSync(cluster.pki.caCert), cert: readFileSync(cluster.pki.adminCert), key: readFileSync(cluster.pki.adminKey) };
    agent = new https.Agent({ keepAlive: true });
  });

  after(() => agent?.destroy());

  function request(method: string, path: string, body?: Json): Promise<{ status: number; json: Json }> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request({ ...tls, agent, host: api.hostname, port: api.port, method, path, timeout: 30_000,
        headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
        let out = '';
        res.setEncoding('utf8').on('data', (c: string) => (out += c)).on('end', () => resolve({ status: res.statusCode ?? 0, json: out ? (JSON.parse(out) as Json) : {} }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(text);
    });
  }

  /**
   * Creates Pod `name` and resolves with the milliseconds from sending the create to the watch
   * event that shows phase Running. The watch is open before the create is sent.
   */
  function timeToRunning(namespace: string, name: string, image: string, policy: string): Promise<number> {
    return new Promise((resolve, reject) => {
      let sentAt = 0;
      let buffered = '';
      const watch = https.get({ ...tls, host: api.hostname, port: api.port,
        path: `/api/v1/namespaces/${namespace}/pods?watch=true&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}` }, (res) => {
        res.setEncoding('utf8').on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            const event = JSON.parse(line) as { object: Json };
            if (sentAt > 0 && event.object.status?.phase === 'Running') {
              const ms = performance.now() - sentAt;
              clearTimeout(timer);
              watch.destroy();
              resolve(ms);
            }
          }
        });
        // The watch is established once its headers are in: only now send the create.
        sentAt = performance.now();
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace },
          spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image, imagePullPolicy: policy }] },
        };
        request('POST', `/api/v1/namespaces/${namespace}/pods`, pod).then((created) => {
          if (created.status !== 201) fail(new Error(`create ${namespace}/${name}: HTTP ${created.status} ${JSON.stringify(created.json).slice(0, 300)}`));
        }, fail);
      });
      const fail = (err: Error): void => {
        clearTimeout(timer);
        watch.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`${namespace}/${name} not Running after 60 s`)), 60_000);
      watch.on('error', (err) => {
        if (sentAt === 0 || !watch.destroyed) fail(err);
      });
    });
  }

  async function pullfixReviews(): Promise<number> {
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: cluster.ports.pullfixHealth, path: '/metrics' }, (res) => {
        let out = '';
        res.setEncoding('utf8').on('data', (c: string) => (out += c)).on('end', () => resolve(out));
      }).on('error', reject);
    });
    return body.split('\n').filter((l) => l.startsWith('pullfix_admission_requests_total{')).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }

  it(`${STARTS} starts of a cached image in each of four series: IfNotPresent vs Always, with and without pullfix's webhook`, async function () {
    this.timeout(20 * 60_000);
    const repository = 'cost-of-always';
    // `:1.0`: a tagged image; no policy for that class in the config, so pullfix reviews and changes nothing.
    node.images.pushBuild(repository, '1.0', 1);
    const image = node.images.ref(repository, '1.0');
    const served = await cluster.freshNamespace();
    const off = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
    // Pull it onto the node once; every start after finds it cached.
    const warm = await timeToRunning(off, 'warm', image, 'IfNotPresent');
    const series: Series[] = [
      { label: 'IfNotPresent, no webhook', namespace: off, policy: 'IfNotPresent', webhook: false, ms: [], pulls: 0 },
      { label: 'Always, no webhook', namespace: off, policy: 'Always', webhook: false, ms: [], pulls: 0 },
      { label: 'IfNotPresent, through pullfix', namespace: served, policy: 'IfNotPresent', webhook: true, ms: [], pulls: 0 },
      { label: 'Always, through pullfix', namespace: served, policy: 'Always', webhook: true, ms: [], pulls: 0 },
    ];
    const reviewsBefore = await pullfixReviews();
    let n = 0;
    for (let round = 0; round < STARTS; round++) {
      for (const s of series) {
        const name = `start-${++n}`;
        const pullsBefore = node.registry.nodePulls(repository).length;
        s.ms.push(await timeToRunning(s.namespace, name, image, s.policy));
        s.pulls += node.registry.nodePulls(repository).length - pullsBefore;
        const deleted = await request('DELETE', `/api/v1/namespaces/${s.namespace}/pods/${name}?gracePeriodSeconds=0`);
        expect(deleted.status, `delete ${name}`).to.be.oneOf([200, 202]);
      }
    }
    const reviews = (await pullfixReviews()) - reviewsBefore;

    const rows = series.map((s) => {
      const sorted = [...s.ms].sort((a, b) => a - b);
      return { ...s, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) };
    });
    const base = rows[0] as (typeof rows)[number];
    process.stdout.write(`      e2e node: pod start to Running, cached image, ${STARTS} starts per series (first pull: ${warm.toFixed(0)} ms); pullfix reviewed ${reviews} Pods\n`);
    for (const r of rows) {
      process.stdout.write(`        ${r.label.padEnd(32)} median ${r.median.toFixed(0).padStart(5)} ms  p90 ${r.p90.toFixed(0).padStart(5)} ms  ` +
        `(${(r.median / base.median).toFixed(2)}× the first)  registry manifest requests ${r.pulls}\n`);
    }
    for (const s of series) {
      expect(s.ms, s.label).to.have.length(STARTS);
      expect(s.pulls, `${s.label}: manifest requests`).to.equal(s.policy === 'Always' ? STARTS : 0);
    }
    expect(reviews, 'pullfix reviewed every Pod of the two served series (and their deletes do not count)').to.be.at.least(2 * STARTS);
  });
});
