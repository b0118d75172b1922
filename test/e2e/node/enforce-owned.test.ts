// An enforce namespace on a real node (SPEC §8): a Deployment owned by an operator's custom
// resource is left to its operator (pullfix never fights another controller), and the fail-closed
// webhook leaves controller-owned objects out; the Pods its ReplicaSet creates must still get the
// namespace's policy, from the fail-open share of enforce namespaces. Asserted on what runs: the
// pod on build 1 is replaced by one that pulls build 2 under the same tag. And with pullfix
// stopped, what the fail-closed webhook leaves out goes through: a label on a Pod, and the
// operator's Deployment scaled (its ReplicaSet's update and its new Pod, fail-open).
import { expect } from 'chai';
import { type TestCluster, shared } from '../harness/cluster.js';
import { livePods, observe, waitForNewRunningPod } from '../harness/running.js';
import { waitFor } from '../harness/processes.js';
import { expectOwnerLeftAlonePodPatched } from './owned.js';
import { manifest, schemalessTemplateCrd, workload } from '../harness/workloads.js';

type Json = Record<string, any>;

describe('node: an enforce namespace, an operator-owned Deployment', () => {
  let cluster: TestCluster;
  let ns: string;
  let group: string;
  const repository = 'enforce-owned';

  before(async () => {
    cluster = shared();
    ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always' });
    // The operator's API: a small schemaless CRD of its own group, not one pullfix patches.
    group = `ops-${cluster.runId}.e2e.pullfix.dev`;
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(schemalessTemplateCrd(group, 'v1', 'WebApp', 'webapps')) });
    await cluster.kubectlOk(['wait', '--for=condition=Established', `crd/webapps.${group}`, '--timeout=60s'], { timeoutMs: 70_000 });
  });

  after(async () => {
    if (cluster.pullfixPid() === undefined) await cluster.startPullfix();
    await cluster.kubectl(['delete', 'crd', `webapps.${group}`, '--ignore-not-found', '--wait=false']);
  });

  it("the Deployment is left alone; the Pods its ReplicaSet creates get Always and a pullfix.dev/changes note, and the replacement runs the new build", async () => {
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest({ apiVersion: `${group}/v1`, kind: 'WebApp', metadata: { name: 'shop', namespace: ns }, spec: { replicas: 1 } }) });
    const owner = await cluster.getJson(`webapps.${group}`, 'shop', ns);
    const ownerReferences = [{ apiVersion: `${group}/v1`, kind: 'WebApp', name: 'shop', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }];
    const d1 = cluster.node.images.pushBuild(repository, 'dev', 1);
    const spec = { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: cluster.node.images.ref(repository, 'dev') }] };
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'demo', ns, spec, { ownerReferences })) });

    const first = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo'));
    await expectOwnerLeftAlonePodPatched(cluster, ns);
    expect(first.imagePullPolicy, 'the Pod the ReplicaSet controller created got the namespace policy').to.equal('Always');
    expect(first.digest).to.equal(d1);

    const pulls = cluster.node.registry.nodePulls(repository).length;
    const d2 = cluster.node.images.pushBuild(repository, 'dev', 2);
    await cluster.kubectlOk(['delete', 'pod', first.pod, '-n', ns, '--wait=false']);
    const after = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo', [first.pod]));
    process.stdout.write(`      e2e node: enforce namespace, operator-owned Deployment, pod deleted: before ${first.digest} (${first.printed}, ${first.imagePullPolicy}), ` +
      `after ${after.digest} (${after.printed}, ${after.imagePullPolicy}); node manifest requests ${pulls} -> ${cluster.node.registry.nodePulls(repository).length}\n`);
    expect(after.imagePullPolicy).to.equal('Always');
    expect(after.digest, 'the replacement pulled the new build').to.equal(d2);
    expect(after.printed).to.equal(`${repository} build 2`);
  });

  it('with pullfix stopped: a label on a Pod goes through, and the Deployment scales (ReplicaSet update and new Pod admitted fail-open)', async () => {
    const [pod] = await livePods(cluster, ns, 'app=demo');
    expect(pod, 'the pod of the first test').to.not.equal(undefined);
    await cluster.stopPullfix();

    const label = await cluster.kubectl(['label', 'pod', pod!.metadata.name, '-n', ns, 'example.com/tier=frontend']);
    expect(label.status, label.stderr).to.equal(0);

    await cluster.kubectlOk(['scale', 'deployment/demo', '-n', ns, '--replicas=2']);
    const ready = await waitFor('two running pods', async () => {
      const live = await livePods(cluster, ns, 'app=demo');
      const running = live.filter((p) => p.status?.phase === 'Running' && ((p.status?.containerStatuses ?? []) as Json[]).every((s) => s.ready === true));
      return running.length === 2 ? running : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    expect(ready).to.have.length(2);
    const events = JSON.parse((await cluster.kubectlOk(['get', 'events', '-n', ns, '-o', 'json'])).stdout) as { items: Json[] };
    const refused = events.items.filter((e) => /FailedCreate/.test(e.reason as string) || /webhook/i.test(e.message as string));
    expect(refused.map((e) => `${e.reason}: ${e.message}`)).to.deep.equal([]);
  });
});
