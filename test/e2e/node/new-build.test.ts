// The outcome pullfix exists for, on a real node: after a new build is pushed under the same tag
// and the workload restarts, which build runs? Asserted on what runs — the digest the node
// pulled (status.containerStatuses[].imageID), what the container prints, and the registry's own
// log of manifest requests from containerd (the node's pull attempts) — not on stored fields.
//
// Each scenario has its own repository, so one scenario's pulls cannot move another's tag on the
// node (with IfNotPresent, a node that pulled a tag's new build for any pod runs it for every pod).
import { expect } from 'chai';
import { type TestCluster, type TestNode, shared } from '../harness/cluster.js';
import { type RunningBuild, observe, restartAndObserve, waitForNewRunningPod } from '../harness/running.js';
import { expectOwnerLeftAlonePodPatched } from './owned.js';
import { manifest, podSpecOf, pullPolicies, strayPodSpec, workload } from '../harness/workloads.js';

type Json = Record<string, any>;

/** Containers that stop at once on SIGTERM, so rollouts do not wait out a grace period. */
const GRACE = { terminationGracePeriodSeconds: 1 };

function podSpec(image: string): Json {
  return { ...GRACE, containers: [{ name: 'app', image }] };
}

/** One line per scenario in the run's output: the two digests and the node's pull count. */
function report(scenario: string, before: RunningBuild, after: RunningBuild, pulls: [number, number]): void {
  process.stdout.write(`      e2e node: ${scenario}: before ${before.digest} (${before.printed}, ${before.imagePullPolicy}), ` +
    `after ${after.digest} (${after.printed}, ${after.imagePullPolicy}); node manifest requests ${pulls[0]} -> ${pulls[1]}\n`);
}

describe('node: a new build pushed under the same tag, then a restart', () => {
  let cluster: TestCluster;
  let node: TestNode;

  before(() => {
    cluster = shared();
    node = cluster.node;
  });

  /**
   * Pushes build 1 of `repository` under `tag`, creates `object` (a workload of app=NAME), waits
   * for its pod and checks it runs build 1; then pushes build 2 under the same tag. Returns the
   * first pod's build, both digests and the node's manifest requests for the repository so far.
   */
  async function firstBuildRunning(ns: string, repository: string, tag: string, object: Json, create: string[] = ['create', '-f', '-']): Promise<{ first: RunningBuild; d1: string; d2: string; pulls: number }> {
    const d1 = node.images.pushBuild(repository, tag, 1);
    await cluster.kubectlOk([...create, '-n', ns], { stdin: manifest(object) });
    const first = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, `app=${object.metadata.name}`));
    expect(first.digest, 'the first pod runs build 1').to.equal(d1);
    expect(first.printed).to.equal(`${repository} build 1`);
    expect(node.registry.nodePulls(repository), 'the node pulled build 1 from the registry').to.not.be.empty;
    const pulls = node.registry.nodePulls(repository).length;
    const d2 = node.images.pushBuild(repository, tag, 2);
    expect(d2, 'build 2 is other content').to.not.equal(d1);
    expect(node.images.digest(node.images.ref(repository, tag)), 'the tag now points to build 2').to.equal(d2);
    return { first, d1, d2, pulls };
  }

  describe('kubectl rollout restart of a Deployment of :dev', () => {
    it('without pullfix: IfNotPresent, the restarted pod runs the OLD build and the node asks the registry nothing', async () => {
      const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
      const repository = 'restart-without-pullfix';
      const image = node.images.ref(repository, 'dev');
      const { first, d1, pulls } = await firstBuildRunning(ns, repository, 'dev', workload('Deployment', 'demo', ns, podSpec(image)));
      expect(first.imagePullPolicy, 'the API server defaulted :dev to IfNotPresent').to.equal('IfNotPresent');

      const after = await restartAndObserve(cluster, ns, 'deployment/demo', 'app=demo');
      const pullsAfter = node.registry.nodePulls(repository).length;
      report('rollout restart, no pullfix', first, after, [pulls, pullsAfter]);
      expect(after.pod).to.not.equal(first.pod);
      expect(after.digest, 'the stale build still runs').to.equal(d1);
      expect(after.printed).to.equal(`${repository} build 1`);
      expect(pullsAfter, 'no manifest request: the kubelet found the tag on the node').to.equal(pulls);
    });

    it('with pullfix (namespace policy mutable=Always): the restarted pod runs the NEW build', async () => {
      const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
      const repository = 'restart-with-pullfix';
      const image = node.images.ref(repository, 'dev');
      const { first, d2, pulls } = await firstBuildRunning(ns, repository, 'dev', workload('Deployment', 'demo', ns, podSpec(image)));
      expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'demo', ns)))).to.deep.equal({ 'containers/app': 'Always' });

      const after = await restartAndObserve(cluster, ns, 'deployment/demo', 'app=demo');
      const pullsAfter = node.registry.nodePulls(repository).length;
      report('rollout restart, pullfix mutable=Always', first, after, [pulls, pullsAfter]);
      expect(after.imagePullPolicy).to.equal('Always');
      expect(after.digest, 'the new build runs').to.equal(d2);
      expect(after.printed).to.equal(`${repository} build 2`);
      expect(pullsAfter, 'the kubelet resolved the tag again').to.be.greaterThan(pulls);
      expect(node.registry.nodePulls(repository).slice(pulls).some((r) => r.reference === 'dev'), 'a request for manifests/dev').to.equal(true);
    });
  });

  describe('imagePullPolicy written at pod level, applied with kubectl apply --validate=false', () => {
    // `:stable` is a tagged image: the config sets no policy for that class, so only the stray
    // field can make the node pull it again.
    const stray = (image: string): Json => ({ ...GRACE, ...strayPodSpec('Always', [{ name: 'app', image }]) });
    const apply = ['apply', '--validate=false', '-f', '-'];

    it('without pullfix: the field is dropped, the restarted pod runs the OLD build', async () => {
      const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
      const repository = 'stray-without-pullfix';
      const object = workload('Deployment', 'demo', ns, stray(node.images.ref(repository, 'stable')));
      const { first, d1, pulls } = await firstBuildRunning(ns, repository, 'stable', object, apply);
      expect(first.imagePullPolicy, 'the API server dropped the stray field and defaulted the container').to.equal('IfNotPresent');

      const after = await restartAndObserve(cluster, ns, 'deployment/demo', 'app=demo');
      const pullsAfter = node.registry.nodePulls(repository).length;
      report('stray field, no pullfix', first, after, [pulls, pullsAfter]);
      expect(after.digest).to.equal(d1);
      expect(after.printed).to.equal(`${repository} build 1`);
      expect(pullsAfter).to.equal(pulls);
    });

    it('with pullfix: the value reaches the container, the restarted pod runs the NEW build', async () => {
      const ns = await cluster.freshNamespace();
      const repository = 'stray-with-pullfix';
      const object = workload('Deployment', 'demo', ns, stray(node.images.ref(repository, 'stable')));
      const { first, d2, pulls } = await firstBuildRunning(ns, repository, 'stable', object, apply);
      expect(first.imagePullPolicy, 'pullfix moved the stray Always into the container').to.equal('Always');

      const after = await restartAndObserve(cluster, ns, 'deployment/demo', 'app=demo');
      const pullsAfter = node.registry.nodePulls(repository).length;
      report('stray field, pullfix', first, after, [pulls, pullsAfter]);
      expect(after.digest).to.equal(d2);
      expect(after.printed).to.equal(`${repository} build 2`);
      expect(pullsAfter).to.be.greaterThan(pulls);
    });
  });

  it("a ReplicaSet's pod deleted: its replacement runs the current build under Always", async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
    const repository = 'replicaset-pod-deleted';
    const object = workload('ReplicaSet', 'demo', ns, podSpec(node.images.ref(repository, 'dev')));
    const { first, d2, pulls } = await firstBuildRunning(ns, repository, 'dev', object);
    expect(first.imagePullPolicy).to.equal('Always');

    await cluster.kubectlOk(['delete', 'pod', first.pod, '-n', ns, '--wait=false']);
    const after = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo', [first.pod]));
    const pullsAfter = node.registry.nodePulls(repository).length;
    report('pod deleted, pullfix mutable=Always', first, after, [pulls, pullsAfter]);
    expect(after.digest).to.equal(d2);
    expect(after.printed).to.equal(`${repository} build 2`);
    expect(pullsAfter).to.be.greaterThan(pulls);
  });

  it('kubectl set image to :latest: pullfix gives the new image Always, and the node pulls the current :latest', async () => {
    // The node already has an older :latest (pulled by a pod pullfix leaves alone), so only
    // Always makes it fetch the current one: the API server keeps the IfNotPresent it defaulted
    // for :1.0 when the image changes.
    const repository = 'set-image-latest';
    const off = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
    const d1 = node.images.pushBuild(repository, 'latest', 1);
    await cluster.kubectlOk(['create', '-n', off, '-f', '-'], { stdin: manifest(workload('Pod', 'preload', off, { ...podSpec(node.images.ref(repository, 'latest')), restartPolicy: 'Never' }, { labels: { app: 'preload' } })) });
    const preload = await observe(cluster, off, await waitForNewRunningPod(cluster, off, 'app=preload'));
    expect(preload.digest).to.equal(d1);
    await cluster.kubectlOk(['delete', 'pod', 'preload', '-n', off, '--wait=true', '--timeout=60s']);
    const d2 = node.images.pushBuild(repository, 'latest', 2);

    const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
    node.images.pushBuild(repository, '1.0', 10);
    await cluster.kubectlOk(['create', '-n', ns, '-f', '-'], { stdin: manifest(workload('Deployment', 'demo', ns, podSpec(node.images.ref(repository, '1.0')))) });
    const first = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo'));
    expect(first.imagePullPolicy, 'a tagged image keeps its IfNotPresent').to.equal('IfNotPresent');
    const pulls = node.registry.nodePulls(repository).filter((r) => r.reference === 'latest').length;

    await cluster.kubectlOk(['set', 'image', 'deployment/demo', '-n', ns, `app=${node.images.ref(repository, 'latest')}`]);
    expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'demo', ns)))).to.deep.equal({ 'containers/app': 'Always' });
    await cluster.kubectlOk(['rollout', 'status', 'deployment/demo', '-n', ns, '--timeout=120s'], { timeoutMs: 130_000 });
    const after = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo', [first.pod]));
    const pullsAfter = node.registry.nodePulls(repository).filter((r) => r.reference === 'latest').length;
    report('set image :1.0 -> :latest, pullfix mutable=Always', first, after, [pulls, pullsAfter]);
    expect(after.imagePullPolicy).to.equal('Always');
    expect(after.digest, 'the current :latest, not the one the node had').to.equal(d2);
    expect(after.printed).to.equal(`${repository} build 2`);
    expect(pullsAfter).to.be.greaterThan(pulls);
  });

  it('pullfix audit --fix: a Deployment created while the webhook was unregistered is patched, rolled, and ends on the current build', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
    const repository = 'audit-fix';
    let setup: Awaited<ReturnType<typeof firstBuildRunning>>;
    await cluster.unregisterWebhook();
    try {
      setup = await firstBuildRunning(ns, repository, 'dev', workload('Deployment', 'demo', ns, podSpec(node.images.ref(repository, 'dev'))));
    } finally {
      await cluster.registerWebhook();
    }
    const { first, d2, pulls } = setup;
    expect(first.imagePullPolicy, 'created without the webhook: the default stands').to.equal('IfNotPresent');

    const audit = await cluster.pullfixCli(['audit', '-n', ns, '--config', 'manifests/overlays/kruise/config.yaml', '--fix']);
    expect(audit.status, `${audit.stdout}${audit.stderr}`).to.equal(0);
    await cluster.kubectlOk(['rollout', 'status', 'deployment/demo', '-n', ns, '--timeout=120s'], { timeoutMs: 130_000 });
    const after = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo', [first.pod]));
    const pullsAfter = node.registry.nodePulls(repository).length;
    report('audit --fix', first, after, [pulls, pullsAfter]);
    expect(after.imagePullPolicy).to.equal('Always');
    expect(after.digest).to.equal(d2);
    expect(after.printed).to.equal(`${repository} build 2`);
  });

  it("an operator-owned Deployment is left alone, but its ReplicaSet's Pods are patched on CREATE and run the current build", async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
    const repository = 'operator-owned';
    // The operator's object: any object with a uid does for the garbage collector; a ConfigMap
    // keeps the test free of a CRD. pullfix only looks at `controller: true`.
    await cluster.kubectlOk(['create', 'configmap', 'operator', '-n', ns]);
    const owner = await cluster.getJson('configmap', 'operator', ns);
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'operator', uid: owner.metadata.uid, controller: true }];
    const object = workload('Deployment', 'demo', ns, podSpec(node.images.ref(repository, 'dev')), { ownerReferences });
    const { first, d2, pulls } = await firstBuildRunning(ns, repository, 'dev', object);
    await expectOwnerLeftAlonePodPatched(cluster, ns);
    expect(first.imagePullPolicy, 'the Pod the ReplicaSet controller created was patched').to.equal('Always');

    await cluster.kubectlOk(['delete', 'pod', first.pod, '-n', ns, '--wait=false']);
    const after = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo', [first.pod]));
    const pullsAfter = node.registry.nodePulls(repository).length;
    report('operator-owned Deployment, pod deleted', first, after, [pulls, pullsAfter]);
    expect(after.digest).to.equal(d2);
    expect(after.printed).to.equal(`${repository} build 2`);
  });
});
