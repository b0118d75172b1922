// `pullfix audit --stale` on a real node (SPEC section 10): the running digest from the pod's
// status, the current one from the suite's registry now. A pod left on build 1 after build 2
// was pushed is reported, `--fix` sets Always and restarts its Deployment, the new pod runs
// build 2, and a second audit is clean; a registry that does not answer gives "unchecked".
import { expect } from 'chai';
import { type TestCluster, type TestNode, shared } from '../harness/cluster.js';
import { observe, waitForNewRunningPod } from '../harness/running.js';
import { manifest, podSpecOf, pullPolicies, workload } from '../harness/workloads.js';

type Json = Record<string, any>;

describe('node: pullfix audit --stale', () => {
  let cluster: TestCluster;
  let node: TestNode;
  let ns: string;
  const repository = 'stale-audit';

  const audit = (...extra: string[]): ReturnType<TestCluster['pullfixCli']> =>
    cluster.pullfixCli(['audit', '--stale', '-n', ns, '--insecure-registry', node.registry.host, '--config', 'manifests/overlays/kruise/config.yaml', ...extra]);

  before(async () => {
    cluster = shared();
    node = cluster.node;
    // pullfix leaves this namespace alone, so the Deployment keeps the IfNotPresent it was defaulted to.
    ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
  });

  it('reports the pod left on the old build, --fix restarts it onto the new one, a second audit is clean', async () => {
    const d1 = node.images.pushBuild(repository, 'dev', 1);
    await cluster.kubectlOk(['create', '-n', ns, '-f', '-'], { stdin: manifest(workload('Deployment', 'demo', ns, { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: node.images.ref(repository, 'dev') }] })) });
    const first = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo'));
    expect(first.digest).to.equal(d1);

    const clean = await audit('-o', 'json');
    expect(clean.status, clean.stderr).to.equal(0);
    expect((JSON.parse(clean.stdout) as Json).findings).to.deep.equal([]);

    const d2 = node.images.pushBuild(repository, 'dev', 2);
    const found = await audit('-o', 'json');
    expect(found.status, found.stderr).to.equal(1);
    const report = JSON.parse(found.stdout) as Json;
    expect(report.findings).to.deep.equal([{
      type: 'stale', namespace: ns, kind: 'Deployment', name: 'demo', pod: first.pod, container: 'app', image: node.images.ref(repository, 'dev'),
      runningDigest: d1, currentDigest: d2, imagePullPolicy: 'IfNotPresent', pullsOnRestart: false,
    }]);
    expect(report.registryRequests.head, 'one HEAD for the one reference').to.equal(1);
    process.stdout.write(`      e2e node: audit --stale: ${first.pod} runs ${d1}, ${repository}:dev is ${d2} now\n`);

    const fix = await audit('--fix');
    expect(fix.status, `${fix.stdout}${fix.stderr}`).to.equal(0);
    expect(fix.stderr).to.contain(`restarted Deployment ${ns}/demo (imagePullPolicy Always on app)`);
    const stored = await cluster.getJson('deployment', 'demo', ns);
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
    expect(stored.spec.template.metadata.annotations).to.have.property('kubectl.kubernetes.io/restartedAt');
    await cluster.kubectlOk(['rollout', 'status', 'deployment/demo', '-n', ns, '--timeout=120s'], { timeoutMs: 130_000 });
    const after = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo', [first.pod]));
    process.stdout.write(`      e2e node: audit --stale --fix: restarted deployment/demo, ${after.pod} runs ${after.digest} (${after.printed})\n`);
    expect(after.digest).to.equal(d2);
    expect(after.printed).to.equal(`${repository} build 2`);

    const second = await audit();
    expect(second.status, `${second.stdout}${second.stderr}`).to.equal(0);
    expect(second.stderr).to.contain('0 stale, 0 unchecked');
  });

  it('a registry that does not answer: "unchecked" with the reason, exit 1, never clean', async () => {
    await node.registry.stop();
    try {
      const result = await audit('-o', 'json');
      expect(result.status, result.stderr).to.equal(1);
      const findings = (JSON.parse(result.stdout) as Json).findings as Json[];
      expect(findings).to.have.length(1);
      expect(findings[0]).to.include({ type: 'unchecked', kind: 'Deployment', name: 'demo', container: 'app' });
      expect(findings[0]?.reason).to.match(/^unreachable: /);
    } finally {
      await node.registry.start();
    }
  });
});
