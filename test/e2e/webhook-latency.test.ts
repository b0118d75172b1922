// What pullfix adds to a Deployment create through the real API server, against what the
// cheapest possible webhook adds: a bare node:https server in a process of its own, like
// pullfix, that parses the review and allows it (harness/bare-webhook.ts), registered the same
// way (URL on loopback, TLS, failurePolicy Fail, timeoutSeconds 5). Four series of sequential
// creates, interleaved round by round so the machine's load falls on each alike: no webhook
// (namespace pullfix.dev/mode=off), the bare webhook, the bare webhook sending the patch pullfix
// sends (what the API server's applying a patch costs), and pullfix. Added latency = a series'
// median minus the no-webhook median; the API server's own histogram
// (apiserver_admission_webhook_admission_duration_seconds) gives each webhook's mean call time
// as a second view.
//
// A measurement, not a timed test: it prints the figures and the ratios, and asserts behaviour
// only (pullfix, and the bare webhook where it sends the patch, patched every create; the bare
// webhook saw exactly the creates of its namespaces).
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { makeCerts, removeDir, type CertFiles } from '../helpers/certs.js';
import { repoPath } from '../helpers/fixtures.js';
import { type TestCluster, shared, waitFor } from './harness/cluster.js';
import { type Started, freePort, mustBeAlive, startProcess } from './harness/processes.js';
import { changesNote, podSpecOf, pullPolicies } from './harness/workloads.js';

type Json = Record<string, any>;

const ROUNDS = 150;
const WARMUP = 20;
const BARE = 'bare-allow-all';
const CONTAINERS = ['web', 'sidecar', 'metrics'];
/** What pullfix answers for the Deployment below in a namespace with mutable=Always, as one base64 JSONPatch. */
const PULLFIX_LIKE_PATCH = Buffer.from(JSON.stringify([
  ...CONTAINERS.map((_, i) => ({ op: 'replace', path: `/spec/template/spec/containers/${i}/imagePullPolicy`, value: 'Always' })),
  { op: 'add', path: '/metadata/annotations', value: { 'pullfix.dev/changes': CONTAINERS.map((c) => `container ${c}: imagePullPolicy IfNotPresent -> Always (namespace policy for mutable tags)`).join('; ') } },
])).toString('base64');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

function p90(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)] as number;
}

/** `_sum` and `_count` of the API server's webhook histogram for webhook `name`, CREATE, admit. */
function webhookHistogram(metrics: string, name: string): { sum: number; count: number } {
  const out = { sum: 0, count: 0 };
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_admission_webhook_admission_duration_seconds_')) continue;
    if (!line.includes(`name="${name}"`) || !line.includes('operation="CREATE"')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('apiserver_admission_webhook_admission_duration_seconds_sum')) out.sum += value;
    else if (line.startsWith('apiserver_admission_webhook_admission_duration_seconds_count')) out.count += value;
  }
  return out;
}

describe('e2e: the latency pullfix adds to a create, against a bare allow-all webhook (a measurement)', () => {
  let cluster: TestCluster;
  let certs: CertFiles;
  let bare: Started | undefined;
  let bareLog = '';
  let barePatching = '';
  const bareCalls = (): number => readFileSync(bareLog, 'utf8').split('\n').filter((l) => l.startsWith('review ')).length;
  let api: URL;
  let tls: https.RequestOptions;
  let agent: https.Agent;

  before(async () => {
    cluster = shared();
    certs = makeCerts();
    bareLog = join(cluster.dir, 'bare-webhook.log');
    barePatching = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off', 'pullfix-e2e/bare-webhook': 'true' });
    const port = await freePort();
    bare = startProcess('bare-webhook', process.execPath, [repoPath('dist', 'test', 'e2e', 'harness', 'bare-webhook.js'), certs.cert, certs.key, String(port), PULLFIX_LIKE_PATCH, barePatching], bareLog);
    await waitFor('the bare webhook to listen', async () => (readFileSync(bareLog, 'utf8').includes('listening') ? true : undefined), { timeoutMs: 10_000, intervalMs: 50, guard: () => mustBeAlive(bare as Started) });
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: BARE },
      webhooks: [{
        name: 'bare.allow-all.pullfix-e2e.test',
        clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: readFileSync(certs.caCert).toString('base64') },
        rules: [{ apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], operations: ['CREATE'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: { 'pullfix-e2e/bare-webhook': 'true' } },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
        timeoutSeconds: 5,
        reinvocationPolicy: 'Never',
      }],
    } });
    api = new URL(cluster.apiServerUrl);
    tls = { ca: readFileSync(cluster.pki.caCert), cert: readFileSync(cluster.pki.adminCert), key: readFileSync(cluster.pki.adminKey) };
    agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  });

  after(async () => {
    if (!cluster) return;
    await cluster.kubectl(['delete', 'mutatingwebhookconfiguration', BARE, '--ignore-not-found']);
    agent?.destroy();
    await bare?.stop();
    if (certs) removeDir(certs.dir);
  });

  function get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      https.get({ ...tls, agent, host: api.hostname, port: api.port, path }, (res) => {
        let out = '';
        res.setEncoding('utf8').on('data', (c: string) => (out += c)).on('end', () => resolve(out));
      }).on('error', reject);
    });
  }

  /** Creates a 3-container Deployment; resolves with the milliseconds the API server took and what it stored. */
  function create(namespace: string, name: string): Promise<{ ms: number; object: Json }> {
    const body = JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { app: name } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: CONTAINERS.map((c) => ({ name: c, image: `registry.example/shop/${c}:dev`, ports: [{ containerPort: 8080 }] })) },
        },
      },
    });
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = https.request({ ...tls, agent, host: api.hostname, port: api.port, method: 'POST', path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let out = '';
        res.setEncoding('utf8').on('data', (c: string) => (out += c)).on('end', () => {
          const ms = performance.now() - started;
          if (res.statusCode !== 201) reject(new Error(`create ${namespace}/${name}: HTTP ${res.statusCode} ${out.slice(0, 300)}`));
          else resolve({ ms, object: JSON.parse(out) as Json });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it(`${ROUNDS} sequential creates per series: no webhook, the bare webhook, pullfix`, async function () {
    this.timeout(600_000);
    const none = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
    const bareNs = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off', 'pullfix-e2e/bare-webhook': 'true' });
    const served = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
    await cluster.waitForPolicy(served, 'registry.example/shop/web:dev', 'Always');
    const series = [
      { label: 'no webhook', namespace: none, ms: [] as number[] },
      { label: 'bare allow-all webhook', namespace: bareNs, ms: [] as number[] },
      { label: 'bare, pullfix\'s patch', namespace: barePatching, ms: [] as number[] },
      { label: 'pullfix', namespace: served, ms: [] as number[] },
    ];
    const callsBefore = bareCalls();
    let unpatched = 0;
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const s of series) {
        const { ms, object } = await create(s.namespace, `d-${round}`);
        if (round >= WARMUP) s.ms.push(ms);
        if (s.label === 'pullfix' || s.namespace === barePatching) {
          const policies = Object.values(pullPolicies(podSpecOf(object)));
          if (policies.some((p) => p !== 'Always') || !changesNote(object)) unpatched++;
        }
      }
    }
    const calls = bareCalls() - callsBefore;
    const metrics = await get('/metrics');
    const pullfixHist = webhookHistogram(metrics, 'default.pullfix.dev');
    const bareHist = webhookHistogram(metrics, 'bare.allow-all.pullfix-e2e.test');

    const base = median(series[0]!.ms);
    const added = (s: { ms: number[] }): number => median(s.ms) - base;
    const [, bareSeries, barePatchSeries, pullfixSeries] = series as [typeof series[0], typeof series[0], typeof series[0], typeof series[0]];
    process.stdout.write(`      e2e: added latency per Deployment create (3 containers), ${ROUNDS} sequential creates per series, interleaved:\n`);
    for (const s of series) {
      process.stdout.write(`        ${s.label.padEnd(24)} median ${median(s.ms).toFixed(2).padStart(6)} ms  p90 ${p90(s.ms).toFixed(2).padStart(6)} ms  added ${added(s).toFixed(2).padStart(5)} ms\n`);
    }
    const ratio = added(pullfixSeries) / added(bareSeries);
    const patchRatio = added(pullfixSeries) / added(barePatchSeries);
    const histRatio = (pullfixHist.sum / pullfixHist.count) / (bareHist.sum / bareHist.count);
    process.stdout.write(`        pullfix / bare, added latency: ${ratio.toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'missed'}); ` +
      `the API server's histogram, mean call: pullfix ${(1000 * pullfixHist.sum / pullfixHist.count).toFixed(2)} ms over ${pullfixHist.count} calls, ` +
      `bare ${(1000 * bareHist.sum / bareHist.count).toFixed(2)} ms over ${bareHist.count} calls (both of its namespaces): ${histRatio.toFixed(2)}×; ` +
      `pullfix / the bare webhook sending pullfix's patch: ${patchRatio.toFixed(2)}×\n`);

    // make bench runs this measurement too and reads its figures from here (bench/run.ts).
    const out = process.env.PULLFIX_LATENCY_OUT;
    if (out) {
      writeFileSync(out, `${JSON.stringify({
        rounds: ROUNDS,
        series: series.map((s) => ({ label: s.label, medianMs: median(s.ms), p90Ms: p90(s.ms), addedMs: added(s) })),
        ratio,
        patchRatio,
        histogram: { pullfixMeanMs: (1000 * pullfixHist.sum) / pullfixHist.count, bareMeanMs: (1000 * bareHist.sum) / bareHist.count, ratio: histRatio },
      })}\n`);
    }

    expect(unpatched, 'pullfix (and the bare webhook in its patching namespace) patched every create').to.equal(0);
    expect(calls, 'the bare webhook saw exactly the creates of its two series').to.equal(2 * (WARMUP + ROUNDS));
    expect(bareHist.count, 'the API server counted the bare webhook\'s calls').to.be.at.least(2 * (WARMUP + ROUNDS));
    expect(pullfixHist.count).to.be.at.least(WARMUP + ROUNDS);
  });
});
