// `pullfix audit --stale` over 1,000 pods that share 50 images: one manifest request per
// distinct reference (plus, for an image whose tag moved, its two manifests read by digest once),
// counted by the registry's own access log. The pods are held unscheduled
// (a scheduling gate) so that no node has to run 1,000 containers; the digests they "run" are
// written through the status subresource, as the kubelet writes them.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { type TestCluster, type TestNode, shared } from '../harness/cluster.js';
import type { RegistryRequest } from '../harness/registry.js';

const PODS = 1000;
const IMAGES = 50;

describe('node: pullfix audit --stale at scale', () => {
  let cluster: TestCluster;
  let node: TestNode;
  let agent: https.Agent;

  function call(method: string, path: string, body: unknown, contentType = 'application/json'): Promise<number> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, cluster.apiServerUrl);
      const req = https.request(url, { method, agent, headers: { 'content-type': contentType } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }));
  }

  before(function () {
    cluster = shared();
    node = cluster.node;
    const { pki } = cluster;
    agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey) });
  });

  after(() => agent.destroy());

  it(`${PODS} pods sharing ${IMAGES} images: one HEAD per image, manifests read by digest only where a build moved, every stale pod found`, async function () {
    this.timeout(600_000);
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
    const old: string[] = [];
    for (let i = 0; i < IMAGES; i++) old.push(node.images.pushBuild(`scale-${i}`, 'dev', 1));

    await inParallel(PODS, 16, async (p) => {
      const i = p % IMAGES;
      const pod = {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: `p-${p}`, namespace: ns },
        spec: { schedulingGates: [{ name: 'pullfix.dev/e2e-never-scheduled' }], containers: [{ name: 'app', image: node.images.ref(`scale-${i}`, 'dev') }] },
      };
      expect(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod)).to.equal(201);
      const status = { status: { containerStatuses: [{ name: 'app', image: node.images.ref(`scale-${i}`, 'dev'), imageID: `${node.registry.host}/scale-${i}@${old[i]}`, ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2026-12-04T00:00:00Z' } } }] } };
      expect(await call('PATCH', `/api/v1/namespaces/${ns}/pods/p-${p}/status`, status, 'application/merge-patch+json')).to.equal(200);
    });

    const run = async (): Promise<{ report: { findings: Array<{ type: string; pod: string; runningDigest: string }>; checked: number }; requests: RegistryRequest[]; ms: number }> => {
      const before = node.registry.manifestRequests().length;
      const t0 = Date.now();
      const result = await cluster.pullfixCli(['audit', '--stale', '-n', ns, '--insecure-registry', node.registry.host, '--config', 'manifests/overlays/kruise/config.yaml', '-o', 'json'], { timeoutMs: 300_000 });
      const ms = Date.now() - t0;
      expect(result.status, result.stderr).to.be.oneOf([0, 1]);
      const requests = node.registry.manifestRequests().slice(before).filter((r) => r.userAgent.startsWith('pullfix-audit'));
      return { report: JSON.parse(result.stdout), requests, ms };
    };

    // Every pod runs its tag's build: one HEAD per image and nothing else.
    const fresh = await run();
    process.stdout.write(`      e2e node: audit --stale over ${fresh.report.checked} containers (${PODS} pods, ${IMAGES} images), all current: ${fresh.requests.length} manifest requests in the registry's log, ${fresh.ms} ms\n`);
    expect(fresh.report.checked).to.equal(PODS);
    expect(fresh.report.findings).to.deep.equal([]);
    expect(fresh.requests.length, 'at most one manifest request per image').to.be.at.most(IMAGES);
    expect(fresh.requests.every((r) => r.method === 'HEAD' && r.reference === 'dev')).to.equal(true);

    // Half the images get a new build: their pods are stale. The tag is asked once per image; the
    // two manifests of a moved tag (running and current) are read by digest once each, to compare
    // their config (SPEC section 10), however many pods run them.
    for (let i = 0; i < IMAGES; i += 2) node.images.pushBuild(`scale-${i}`, 'dev', 2);
    const stale = await run();
    const heads = stale.requests.filter((r) => r.method === 'HEAD');
    const byDigest = stale.requests.filter((r) => r.method === 'GET' && r.reference.startsWith('sha256:'));
    process.stdout.write(`      e2e node: audit --stale over ${stale.report.checked} containers, ${IMAGES / 2} images moved: ${heads.length} HEAD + ${byDigest.length} GET by digest, ${stale.report.findings.length} stale, ${stale.ms} ms\n`);
    expect(stale.report.findings.every((f) => f.type === 'stale')).to.equal(true);
    expect(stale.report.findings).to.have.length(PODS / 2);
    expect(heads).to.have.length(IMAGES);
    expect(new Set(heads.map((r) => r.repository)).size, 'one HEAD per distinct reference').to.equal(IMAGES);
    expect(byDigest.length, 'two manifests by digest per moved image').to.equal((IMAGES / 2) * 2);
    expect(new Set(byDigest.map((r) => `${r.repository}@${r.reference}`)).size, 'each manifest read once').to.equal(byDigest.length);
    expect(stale.requests.length).to.equal(heads.length + byDigest.length);
  });
});
