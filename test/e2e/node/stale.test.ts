// `pullfix audit --stale` on a real node (SPEC section 10): the running digest from the pod's
// status, the current one from the registry now. The registry here is the suite's private one
// (htpasswd): the node pulls with a pull secret and pullfix reads the same secret, so nothing
// passes without credentials. A pod left on build 1 after build 2 was pushed is reported,
// `--fix` sets Always and restarts its Deployment, the new pod runs build 2, and a second audit
// is clean. A multi-platform tag whose other platform changed is not stale; one whose node
// platform changed is. Without the secret, or with the registry stopped: "unchecked".
import { expect } from 'chai';
import { repoPath } from '../../helpers/fixtures.js';
import { type TestCluster, type TestNode, shared } from '../harness/cluster.js';
import { TestImages } from '../harness/images.js';
import { httpGet } from '../harness/processes.js';
import { observe, waitForNewRunningPod } from '../harness/running.js';
import { manifest, podSpecOf, pullPolicies, workload } from '../harness/workloads.js';

type Json = Record<string, any>;

const SECRET = 'private-registry';
const OTHER_PLATFORM = TestImages.nodePlatform === 'linux/amd64' ? 'linux/arm64' : 'linux/amd64';

describe('node: pullfix audit --stale (private registry, pull secrets)', () => {
  let cluster: TestCluster;
  let node: TestNode;

  before(() => {
    cluster = shared();
    node = cluster.node;
  });

  const audit = (ns: string, ...extra: string[]): ReturnType<TestCluster['pullfixCli']> =>
    cluster.pullfixCli(['audit', '--stale', '-n', ns, '--insecure-registry', node.privateRegistry.host, '--config', 'manifests/overlays/kruise/config.yaml', ...extra]);

  /** The audit's requests in the private registry's log since `from`: [method, status, reference]. */
  function auditRequests(from: number): string[] {
    return node.privateRegistry.manifestRequests().slice(from).filter((r) => r.userAgent.startsWith('pullfix-audit')).map((r) => `${r.method} ${r.status} ${r.reference}`);
  }

  /** A namespace pullfix leaves alone (Deployments keep their defaulted IfNotPresent), with the registry's pull secret. */
  async function namespaceWithSecret(): Promise<string> {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
    const auth = node.privateRegistry.auth!;
    await cluster.kubectlOk(['create', 'secret', 'docker-registry', SECRET, '-n', ns, `--docker-server=${node.privateRegistry.host}`, `--docker-username=${auth.user}`, `--docker-password=${auth.password}`]);
    return ns;
  }

  it('the private registry refuses a request without credentials (so every pull and check below used them)', async () => {
    node.privateImages.pushBuild('refused', 'dev', 1);
    const anonymous = await httpGet(`http://${node.privateRegistry.host}/v2/refused/manifests/dev`);
    expect(anonymous.status).to.equal(401);
  });

  describe('a Deployment with imagePullSecrets, left on build 1', () => {
    const repository = 'stale-audit';
    let ns: string;
    let first: Awaited<ReturnType<typeof observe>>;
    let d1: string;
    let d2: string;

    before(async function () {
      this.timeout(180_000);
      ns = await namespaceWithSecret();
      d1 = node.privateImages.pushBuild(repository, 'dev', 1);
      const spec = { terminationGracePeriodSeconds: 1, imagePullSecrets: [{ name: SECRET }], containers: [{ name: 'app', image: node.privateImages.ref(repository, 'dev') }] };
      await cluster.kubectlOk(['create', '-n', ns, '-f', '-'], { stdin: manifest(workload('Deployment', 'demo', ns, spec)) });
      first = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo'));
      expect(first.digest, 'the node pulled build 1 with the pull secret').to.equal(d1);
    });

    it('reports nothing while the pod runs the build the tag points to', async () => {
      const from = node.privateRegistry.manifestRequests().length;
      const clean = await audit(ns, '-o', 'json');
      expect(clean.status, clean.stderr).to.equal(0);
      expect((JSON.parse(clean.stdout) as Json).findings).to.deep.equal([]);
      expect(auditRequests(from), 'one authorised HEAD, nothing else: the digests are equal').to.deep.equal(['HEAD 200 dev']);
    });

    it('reports the pod once build 2 is pushed under the tag, with both digests and the policy that will not pull', async () => {
      d2 = node.privateImages.pushBuild(repository, 'dev', 2);
      const found = await audit(ns, '-o', 'json');
      expect(found.status, found.stderr).to.equal(1);
      const report = JSON.parse(found.stdout) as Json;
      expect(report.findings).to.deep.equal([{
        type: 'stale', namespace: ns, kind: 'Deployment', name: 'demo', pod: first.pod, container: 'app', image: node.privateImages.ref(repository, 'dev'),
        runningDigest: d1, currentDigest: d2, imagePullPolicy: 'IfNotPresent', pullsOnRestart: false,
      }]);
      expect(report.registryRequests.head, 'one HEAD for the one reference').to.equal(1);
      expect(found.stdout, 'no credential in the output').to.not.contain(node.privateRegistry.auth!.password);
      process.stdout.write(`      e2e node: audit --stale: ${first.pod} runs ${d1}, ${repository}:dev is ${d2} now\n`);

      const table = await audit(ns);
      expect(table.status).to.equal(1);
      expect(table.stdout).to.match(new RegExp(`${ns}\\s+Deployment\\s+demo\\s+${first.pod}\\s+app\\s+\\S+\\s+stale\\s+${d1.slice(0, 19)}\\s+${d2.slice(0, 19)}\\s+IfNotPresent\\s+no`));
      expect(table.stderr).to.contain('would not pull on restart');
    });

    it('--write-reports keeps an OpenReports Report of the stale container in the namespace (the chart\'s CronJob runs this)', async function () {
      this.timeout(120_000);
      await cluster.kubectlOk(['apply', '-f', repoPath('test', 'audit', 'fixtures', 'openreports-report-crd.yaml')]);
      await cluster.kubectlOk(['wait', '--for=condition=Established', 'crd/reports.openreports.io', '--timeout=60s']);
      const result = await audit(ns, '-o', 'report', '--write-reports', '--exit-zero');
      expect(result.status, result.stderr).to.equal(0);
      const stored = await cluster.getJson('reports.openreports.io', 'pullfix-audit-stale', ns);
      expect(stored.summary).to.include({ fail: 1, warn: 0 });
      expect(stored.results.map((r: Json) => [r.rule, r.result, r.properties.runningDigest, r.properties.currentDigest])).to.deep.equal([['stale-build', 'fail', d1, d2]]);
      expect(JSON.stringify(stored), 'no credential in the Report').to.not.contain(node.privateRegistry.auth!.password);
    });

    it('without the pull secret the image cannot be checked: "unchecked", never current', async () => {
      await cluster.kubectlOk(['delete', 'secret', SECRET, '-n', ns]);
      try {
        const result = await audit(ns, '-o', 'json');
        expect(result.status, result.stderr).to.equal(1);
        const findings = (JSON.parse(result.stdout) as Json).findings as Json[];
        expect(findings.map((f) => [f.type, f.name, f.container])).to.deep.equal([['unchecked', 'demo', 'app']]);
        expect(findings[0]?.reason).to.match(/^unauthorized: /);
      } finally {
        const auth = node.privateRegistry.auth!;
        await cluster.kubectlOk(['create', 'secret', 'docker-registry', SECRET, '-n', ns, `--docker-server=${node.privateRegistry.host}`, `--docker-username=${auth.user}`, `--docker-password=${auth.password}`]);
      }
    });

    it('--fix sets Always and restarts the Deployment; the new pod runs build 2 and a second audit is clean', async function () {
      this.timeout(240_000);
      const dry = await audit(ns, '--fix', '--dry-run');
      expect(dry.status, `${dry.stdout}${dry.stderr}`).to.equal(1);
      expect(dry.stderr).to.contain(`would restart Deployment ${ns}/demo (imagePullPolicy Always on app)`);
      expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'demo', ns))), 'the dry run changed nothing').to.deep.equal({ 'containers/app': 'IfNotPresent' });

      const fix = await audit(ns, '--fix');
      expect(fix.status, `${fix.stdout}${fix.stderr}`).to.equal(0);
      expect(fix.stderr).to.contain(`restarted Deployment ${ns}/demo (imagePullPolicy Always on app)`);
      const stored = await cluster.getJson('deployment', 'demo', ns);
      expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
      expect(stored.spec.template.metadata.annotations).to.have.property('kubectl.kubernetes.io/restartedAt');
      await cluster.kubectlOk(['rollout', 'status', 'deployment/demo', '-n', ns, '--timeout=120s'], { timeoutMs: 130_000 });
      const after = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo', [first.pod]));
      process.stdout.write(`      e2e node: audit --stale --fix: restarted deployment/demo, ${after.pod} runs ${after.digest} (${after.printed}), was ${first.digest} (${first.printed})\n`);
      expect(after.digest).to.equal(d2);
      expect(after.printed).to.equal(`${repository} build 2`);

      const second = await audit(ns);
      expect(second.status, `${second.stdout}${second.stderr}`).to.equal(0);
      expect(second.stderr).to.contain('0 stale, 0 unchecked');
      process.stdout.write(`      e2e node: audit --stale after --fix: ${second.stderr.trim()}\n`);
      const rewritten = await audit(ns, '-o', 'report', '--write-reports');
      expect(rewritten.status, rewritten.stderr).to.equal(0);
      expect((await cluster.getJson('reports.openreports.io', 'pullfix-audit-stale', ns)).summary, 'the Report no longer shows the fixed failure').to.include({ fail: 0, warn: 0 });
    });

    it('a registry that does not answer: "unchecked" with the reason, exit 1, never clean', async () => {
      await node.privateRegistry.stop();
      try {
        const result = await audit(ns, '-o', 'json');
        expect(result.status, result.stderr).to.equal(1);
        const findings = (JSON.parse(result.stdout) as Json).findings as Json[];
        expect(findings).to.have.length(1);
        expect(findings[0]).to.include({ type: 'unchecked', kind: 'Deployment', name: 'demo', container: 'app' });
        expect(findings[0]?.reason).to.match(/^unreachable: /);
      } finally {
        await node.privateRegistry.start();
      }
    });
  });

  describe('a multi-platform tag (an OCI index), pull secret on the ServiceAccount', () => {
    const repository = 'multi-arch';
    let ns: string;
    let pod: string;
    let nodeBuild1: string;
    let index1: string;

    before(async function () {
      this.timeout(180_000);
      ns = await namespaceWithSecret();
      await cluster.kubectlOk(['patch', 'serviceaccount', 'default', '-n', ns, '-p', JSON.stringify({ imagePullSecrets: [{ name: SECRET }] })]);
      nodeBuild1 = node.privateImages.pushBuild(repository, 'node-1', 1);
      node.privateImages.pushBuild(repository, 'other-1', 1, OTHER_PLATFORM);
      index1 = node.privateImages.pushIndex(repository, 'dev', ['node-1', 'other-1']);
      const spec = { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: node.privateImages.ref(repository, 'dev') }] };
      await cluster.kubectlOk(['create', '-n', ns, '-f', '-'], { stdin: manifest(workload('Deployment', 'multi', ns, spec)) });
      const running = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=multi'));
      pod = running.pod;
      expect(running.printed).to.equal(`${repository} build 1`);
      expect([index1, nodeBuild1], 'the runtime reports the index or its platform manifest').to.include(running.digest);
    });

    it('the other platform gets a new build: the index digest moves, the pod is still current', async () => {
      const before = node.privateImages.digest(node.privateImages.ref(repository, 'dev'));
      node.privateImages.pushBuild(repository, 'other-2', 2, OTHER_PLATFORM);
      const after = node.privateImages.pushIndex(repository, 'dev', ['node-1', 'other-2']);
      expect(after, 'the tag points to a new index').to.not.equal(before);
      const result = await audit(ns, '-o', 'json');
      expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
      expect((JSON.parse(result.stdout) as Json).findings).to.deep.equal([]);
      process.stdout.write(`      e2e node: audit --stale, multi-platform: index ${before} -> ${after}, ${TestImages.nodePlatform} unchanged: current\n`);
    });

    it("the node's platform gets a new build: stale, with the index's digest and the platform manifest's", async () => {
      const nodeBuild2 = node.privateImages.pushBuild(repository, 'node-2', 2);
      const index = node.privateImages.pushIndex(repository, 'dev', ['node-2', 'other-2']);
      const result = await audit(ns, '-o', 'json');
      expect(result.status, `${result.stdout}${result.stderr}`).to.equal(1);
      const findings = (JSON.parse(result.stdout) as Json).findings as Json[];
      expect(findings).to.have.length(1);
      expect(findings[0]).to.include({ type: 'stale', kind: 'Deployment', name: 'multi', pod, currentDigest: index, currentPlatformDigest: nodeBuild2 });
      expect([index1, nodeBuild1], 'what runs is still build 1').to.include(findings[0]?.runningDigest);
    });
  });
});
