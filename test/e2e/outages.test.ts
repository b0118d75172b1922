// What happens when a part is down (SPEC §8): with pullfix stopped, changes pullfix would not
// make still go through in an enforce namespace while new workloads there are refused
// (fail-closed), and default namespaces admit everything; with the API server restarted under a
// running pullfix, a label changed while pullfix's watch was broken is honoured once it is back.
import { expect } from 'chai';
import { type TestCluster, shared } from './harness/cluster.js';
import { manifest, podSpecOf, pullPolicies, workload } from './harness/workloads.js';

describe('e2e: outages', () => {
  let cluster: TestCluster;

  before(() => {
    cluster = shared();
  });

  describe('pullfix stopped', () => {
    let enforced: string;
    let plain: string;

    before(async () => {
      enforced = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce', 'pullfix.dev/tagged': 'Always' });
      plain = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
      const spec = { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] };
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'web', enforced, spec), workload('Pod', 'web-0', enforced, spec)) });
      const owner = await cluster.getJson('deployment', 'web', enforced);
      const ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner.metadata.uid, controller: true }];
      // The ReplicaSet a rollout would make (no controller-manager here), with the template pullfix gave its owner.
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('ReplicaSet', 'web-7c9d', enforced, podSpecOf(owner), { ownerReferences })) });
      await cluster.stopPullfix();
    });

    after(async () => {
      if (cluster.pullfixPid() === undefined) await cluster.startPullfix();
    });

    it('a label change on a Pod in an enforce namespace succeeds', async () => {
      const result = await cluster.kubectl(['label', 'pod', 'web-0', '-n', enforced, 'example.com/tier=frontend']);
      expect(result.status, result.stderr).to.equal(0);
    });

    it('an update of a controller-owned ReplicaSet in an enforce namespace succeeds (its replicas, as a rollout sets them)', async () => {
      // On the ReplicaSet itself, as the Deployment controller does, not on the scale subresource
      // (which no webhook rule names).
      const result = await cluster.kubectl(['patch', 'replicaset', 'web-7c9d', '-n', enforced, '--type=merge', '-p', '{"spec":{"replicas":3}}']);
      expect(result.status, result.stderr).to.equal(0);
    });

    it('a new Deployment in an enforce namespace is refused (fail-closed)', async () => {
      const deployment = workload('Deployment', 'refused', enforced, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] });
      const result = await cluster.kubectl(['create', '-f', '-'], { stdin: manifest(deployment) });
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.contain('enforce.pullfix.dev');
      const get = await cluster.kubectl(['get', 'deployment', 'refused', '-n', enforced]);
      expect(get.stderr).to.contain('NotFound');
    });

    it('a new Deployment in a default namespace is admitted unfixed (failurePolicy Ignore)', async () => {
      const deployment = workload('Deployment', 'admitted', plain, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] });
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(deployment) });
      const stored = await cluster.getJson('deployment', 'admitted', plain);
      expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    });
  });

  describe('the API server restarted while pullfix runs', () => {
    it('a namespace label changed while pullfix was cut off is honoured after it', async () => {
      const ns = await cluster.freshNamespace();
      await cluster.waitForPolicy(ns, 'registry.example/web:1.0', 'IfNotPresent');
      const pid = cluster.pullfixPid();
      await cluster.restartApiServer();
      // At once: pullfix's watch broke with the old API server and is still reconnecting.
      await cluster.kubectlOk(['label', 'namespace', ns, 'pullfix.dev/tagged=Always']);
      await cluster.waitForPolicy(ns, 'registry.example/web:1.0', 'Always', 90_000);
      const deployment = workload('Deployment', 'after-restart', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] });
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(deployment) });
      const stored = await cluster.getJson('deployment', 'after-restart', ns);
      expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
      expect(cluster.pullfixPid(), 'the same pullfix process throughout').to.equal(pid);
    });
  });
});
