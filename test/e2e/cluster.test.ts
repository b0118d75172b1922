// The test cluster itself: what the other e2e files (and suites to come: MutatingAdmissionPolicy,
// Helm chart) rely on it to serve.
import { expect } from 'chai';
import { type TestCluster, shared } from './harness/cluster.js';
import { pullPolicies } from './harness/workloads.js';

describe('e2e: the test cluster', () => {
  let cluster: TestCluster;

  before(() => {
    cluster = shared();
  });

  it('runs kube-apiserver 1.34 or newer (image volumes, MutatingAdmissionPolicy)', async () => {
    const version = JSON.parse((await cluster.kubectlOk(['get', '--raw', '/version'])).stdout) as { major: string; minor: string; gitVersion: string };
    expect(Number(version.major), version.gitVersion).to.equal(1);
    expect(Number.parseInt(version.minor, 10), version.gitVersion).to.be.at.least(34);
  });

  it('serves MutatingAdmissionPolicy in v1, v1beta1 and v1alpha1', async () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha1']) {
      const list = JSON.parse((await cluster.kubectlOk(['get', '--raw', `/apis/admissionregistration.k8s.io/${version}`])).stdout) as { resources: { name: string }[] };
      expect(list.resources.map((r) => r.name), version).to.include.members(['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings']);
    }
  });

  it('accepts image volumes and defaults their pullPolicy by tag, as for containers', async () => {
    // In a namespace pullfix leaves alone, so this is the API server's own doing.
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off' });
    const volume = (name: string, reference: string): object => ({ name, image: { reference } });
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'volumes', namespace: ns },
      spec: { containers: [{ name: 'app', image: 'registry.example/web:1.0' }], volumes: [volume('tagged', 'registry.example/m:7'), volume('latest', 'registry.example/m:latest')] },
    };
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: pod });
    const stored = await cluster.getJson('pod', 'volumes', ns);
    expect(pullPolicies(stored.spec)).to.deep.equal({ 'containers/app': 'IfNotPresent', 'volumes/tagged': 'IfNotPresent', 'volumes/latest': 'Always' });
  });

  it("gives pullfix the manifests' permissions and no more", async () => {
    const as = ['--as=system:serviceaccount:pullfix-system:pullfix'];
    for (const verb of ['get', 'list', 'watch']) {
      expect((await cluster.kubectl(['auth', 'can-i', verb, 'namespaces', ...as])).stdout.trim(), verb).to.equal('yes');
    }
    expect((await cluster.kubectl(['auth', 'can-i', 'list', 'pods', '-A', ...as])).stdout.trim()).to.equal('no');
    expect((await cluster.kubectl(['auth', 'can-i', 'update', 'namespaces', ...as])).stdout.trim()).to.equal('no');
  });
});
