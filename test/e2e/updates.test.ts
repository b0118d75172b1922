// UPDATE requests as real clients send them (SPEC §4 rules 3-7): what was defaulted for an old
// image is not the user's choice for a new one, a namespace label changed after creation takes
// effect on the next update, and a value changed in the request itself is the user's.
import { expect } from 'chai';
import { type TestCluster, shared } from './harness/cluster.js';
import { changesNote, manifest, podSpecOf, pullPolicies, workload } from './harness/workloads.js';

type Creator = 'kubectl apply' | 'kubectl create';
const CREATORS: Creator[] = ['kubectl apply', 'kubectl create'];

describe('e2e: updates', () => {
  let cluster: TestCluster;

  before(() => {
    cluster = shared();
  });

  async function deploy(creator: Creator, ns: string, image: string, name = 'web'): Promise<void> {
    const deployment = workload('Deployment', name, ns, { containers: [{ name: 'app', image }] });
    await cluster.kubectlOk(creator === 'kubectl apply' ? ['apply', '-f', '-'] : ['create', '-f', '-'], { stdin: manifest(deployment) });
  }

  async function policyOf(ns: string, name = 'web'): Promise<string | undefined> {
    return pullPolicies(podSpecOf(await cluster.getJson('deployment', name, ns)))['containers/app'];
  }

  for (const creator of CREATORS) {
    it(`kubectl set image to :latest on a Deployment made by ${creator}: the value defaulted for the old tag gives way to the class policy`, async () => {
      const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
      await deploy(creator, ns, 'registry.example/web:1.0');
      expect(await policyOf(ns)).to.equal('IfNotPresent');
      await cluster.kubectlOk(['set', 'image', 'deployment/web', 'app=registry.example/web:latest', '-n', ns]);
      expect(await policyOf(ns)).to.equal('Always');
    });

    it(`a namespace label added after a Deployment made by ${creator}: the next update of any kind applies it`, async () => {
      const ns = await cluster.freshNamespace();
      await deploy(creator, ns, 'registry.example/web:1.0');
      expect(await policyOf(ns)).to.equal('IfNotPresent');
      await cluster.kubectlOk(['label', 'namespace', ns, 'pullfix.dev/tagged=Always']);
      await cluster.waitForPolicy(ns, 'registry.example/web:1.0', 'Always');
      // An update that touches nothing near the containers.
      await cluster.kubectlOk(['annotate', 'deployment/web', '-n', ns, 'example.com/owner=team-a']);
      const stored = await cluster.getJson('deployment', 'web', ns);
      expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
      expect(changesNote(stored)).to.be.a('string').and.not.be.empty;
    });

    it(`kubectl patch of a container's imagePullPolicy on a Deployment made by ${creator} is kept`, async () => {
      const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
      await deploy(creator, ns, 'registry.example/web:latest');
      expect(await policyOf(ns)).to.equal('Always');
      const patch = { spec: { template: { spec: { containers: [{ name: 'app', imagePullPolicy: 'IfNotPresent' }] } } } };
      await cluster.kubectlOk(['patch', 'deployment/web', '-n', ns, '-p', JSON.stringify(patch)]);
      expect(await policyOf(ns)).to.equal('IfNotPresent');
    });
  }

  it('a namespace created in the same kubectl apply as its workload: its labels apply', async () => {
    const probe = await cluster.freshNamespace(); // only for a unique name
    const ns = `${probe}-same-apply`;
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'pullfix.dev/tagged': 'Always' } } };
    const deployment = workload('Deployment', 'web', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] });
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: manifest(namespace, deployment) });
    expect(await policyOf(ns)).to.equal('Always');
  });
});
