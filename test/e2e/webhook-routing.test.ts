// Which webhook of the manifests' configuration the real API server calls, for each kind of
// request (SPEC §8): every request in a served namespace reaches exactly one webhook, so a
// controller-owned object in an enforce namespace (a Pod of an operator-owned Deployment's
// ReplicaSet) still gets the policy, fail-open, and what the fail-closed webhook leaves out
// reaches the fail-open one. The API server decides it from selectors, rules and match
// conditions (CEL), and no CEL evaluator is part of this repository, so the table is asserted
// here: a copy of the rendered configuration whose webhooks each call their own path of a
// recorder on loopback, and real requests (kubectl create, label, debug).
//
// Also recorded here, because the design depends on it: a webhook's matchConditions are given
// no `namespaceObject` (it is null; ValidatingAdmissionPolicy and MutatingAdmissionPolicy get
// one, webhooks do not), so a condition cannot tell an enforce namespace from another.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type CertFiles, makeCerts, removeDir } from '../helpers/certs.js';
import { repoPath } from '../helpers/fixtures.js';
import { DEFAULT_KUSTOMIZE_DIR, type TestCluster, shared, waitFor } from './harness/cluster.js';
import { webhookConfigurationFor } from './harness/webhook-config.js';
import { manifest, workload } from './harness/workloads.js';

type Json = Record<string, any>;

interface Call {
  webhook: string;
  namespace: string;
  name: string;
  operation: string;
  subResource: string;
}

/** An HTTPS webhook on loopback that admits everything unchanged and records who was called for what. */
async function startRecorder(certs: CertFiles): Promise<{ url: string; calls: Call[]; close(): Promise<void> }> {
  const calls: Call[] = [];
  const server = https.createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      const r = review.request as Json;
      calls.push({ webhook: (req.url ?? '').split('?')[0]!.slice(1), namespace: r.namespace ?? '', name: r.name ?? '', operation: r.operation, subResource: r.subResource ?? '' });
      const text = JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: r.uid, allowed: true } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const MODES = ['default', 'enforce', 'off'] as const;
type Mode = (typeof MODES)[number];
const KINDS = ['Pod', 'Job', 'Deployment'] as const;

/** SPEC §8: the webhook that must take a request, or none. */
function expected(mode: Mode, kind: string, operation: string, owned: boolean, subResource: string, ignored: boolean): string[] {
  if (mode === 'off' || ignored) return [];
  if (mode === 'default') return ['default.pullfix.dev'];
  // enforce: the fail-closed webhook where pullfix may change something, the fail-open rest.
  if (subResource === 'ephemeralcontainers') return ['enforce.pullfix.dev'];
  if (operation === 'UPDATE' && (kind === 'Pod' || kind === 'Job')) return ['enforce-open.pullfix.dev'];
  return owned ? ['enforce-open.pullfix.dev'] : ['enforce.pullfix.dev'];
}

describe('e2e: which webhook each request reaches (SPEC §8)', () => {
  let cluster: TestCluster;
  let certs: CertFiles;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  const configs: string[] = [];

  before(async () => {
    cluster = shared();
    certs = makeCerts();
    recorder = await startRecorder(certs);
  });

  after(async () => {
    for (const name of configs) await cluster.kubectl(['delete', 'mutatingwebhookconfiguration', name, '--ignore-not-found']);
    await recorder.close();
    removeDir(certs.dir);
  });

  /** Applies `config` and waits (bounded) until a dry-run Pod in `ns` reaches the recorder at `path`. */
  async function register(config: Json, ns: string, path: string): Promise<void> {
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: config });
    configs.push(config.metadata.name as string);
    const probe = workload('Pod', 'routing-probe', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] });
    await waitFor(`the API server to call the recorder (${path})`, async () => {
      await cluster.kubectlOk(['create', '--dry-run=server', '-f', '-'], { stdin: manifest(probe) });
      return recorder.calls.some((c) => c.webhook === path && c.namespace === ns) ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
  }

  it('every request in a served namespace reaches exactly one webhook; none in mode off or for an ignored object', async () => {
    const rendered = (await cluster.kubectlOk(['kustomize', repoPath(DEFAULT_KUSTOMIZE_DIR)])).stdout;
    const config = webhookConfigurationFor(rendered, recorder.url, readFileSync(certs.caCert, 'utf8'));
    config.metadata = { name: `pullfix-routing-${cluster.runId}` };
    for (const w of config.webhooks as Json[]) w.clientConfig.url = `${recorder.url}/${w.name}`;
    const namespaces = {} as Record<Mode, string>;
    for (const mode of MODES) namespaces[mode] = await cluster.freshNamespace({ 'pullfix.dev/mode': mode });
    await register(config, namespaces.default, 'default.pullfix.dev');

    const want: string[] = [];
    const cases: Array<{ mode: Mode; kind: string; name: string; operation: string; owned: boolean; subResource: string; ignored: boolean }> = [];
    const spec = { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] };
    for (const mode of MODES) {
      const ns = namespaces[mode];
      await cluster.kubectlOk(['create', 'configmap', 'operator', '-n', ns]);
      const uid = (await cluster.getJson('configmap', 'operator', ns)).metadata.uid as string;
      for (const owned of [false, true]) {
        const ownerReferences = owned ? [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'operator', uid, controller: true }] : undefined;
        for (const kind of KINDS) {
          const name = `${kind.toLowerCase()}-${owned ? 'owned' : 'free'}`;
          await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload(kind, name, ns, spec, ownerReferences ? { ownerReferences } : {})) });
          cases.push({ mode, kind, name, operation: 'CREATE', owned, subResource: '', ignored: false });
          await cluster.kubectlOk(['label', kind.toLowerCase(), name, '-n', ns, 'example.com/touched=yes']);
          cases.push({ mode, kind, name, operation: 'UPDATE', owned, subResource: '', ignored: false });
        }
        await cluster.kubectlOk(['debug', `pod-${owned ? 'owned' : 'free'}`, '-n', ns, '--image=registry.example/tools:1.0', '--container=debugger', '--profile=general']);
        cases.push({ mode, kind: 'Pod', name: `pod-${owned ? 'owned' : 'free'}`, operation: 'UPDATE', owned, subResource: 'ephemeralcontainers', ignored: false });
      }
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Pod', 'pod-ignored', ns, spec, { labels: { 'pullfix.dev/ignore': 'true' } })) });
      cases.push({ mode, kind: 'Pod', name: 'pod-ignored', operation: 'CREATE', owned: false, subResource: '', ignored: true });
    }

    const got: string[] = [];
    for (const c of cases) {
      const line = `${c.mode.padEnd(7)} ${c.ignored ? 'ignored  ' : c.owned ? 'owned    ' : 'not owned'} ${c.operation} ${c.kind}${c.subResource ? `/${c.subResource}` : ''} ->`;
      const reached = [...new Set(recorder.calls.filter((r) => r.namespace === namespaces[c.mode] && r.name === c.name && r.operation === c.operation && r.subResource === c.subResource).map((r) => r.webhook))].sort();
      got.push(`${line} [${reached.join(', ')}]`);
      want.push(`${line} [${expected(c.mode, c.kind, c.operation, c.owned, c.subResource, c.ignored).join(', ')}]`);
    }
    process.stdout.write(`${got.map((l) => `      ${l}`).join('\n')}\n`);
    expect(got).to.deep.equal(want);
  });

  it("a webhook's matchConditions get no namespaceObject (null), so only a namespaceSelector can tell enforce namespaces apart", async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce', [`routing-probe-${cluster.runId}`]: 'yes' });
    const ca = Buffer.from(readFileSync(certs.caCert)).toString('base64');
    const probe = (name: string, matchConditions: Json[]): Json => ({
      name,
      clientConfig: { url: `${recorder.url}/${name}`, caBundle: ca },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { [`routing-probe-${cluster.runId}`]: 'yes' } },
      failurePolicy: 'Ignore',
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      timeoutSeconds: 5,
      ...(matchConditions.length ? { matchConditions } : {}),
    });
    const config = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: `pullfix-namespace-object-${cluster.runId}` },
      webhooks: [
        probe('control.probe.pullfix.dev', []),
        probe('null.probe.pullfix.dev', [{ name: 'namespace-object-is-null', expression: 'namespaceObject == null' }]),
        probe('labels.probe.pullfix.dev', [
          {
            name: 'namespace-labels-readable',
            expression: "namespaceObject != null && has(namespaceObject.metadata.labels) && 'pullfix.dev/mode' in namespaceObject.metadata.labels",
          },
        ]),
      ],
    };
    await register(config, ns, 'control.probe.pullfix.dev');
    const pod = workload('Pod', 'namespace-object', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] });
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(pod) });
    // Only this configuration's webhooks: the namespace is in enforce mode, so the manifests' reach it too.
    const reached = [...new Set(recorder.calls.filter((c) => c.namespace === ns && c.name === 'namespace-object' && c.webhook.endsWith('.probe.pullfix.dev')).map((c) => c.webhook))].sort();
    expect(reached).to.deep.equal(['control.probe.pullfix.dev', 'null.probe.pullfix.dev']);
  });
});
