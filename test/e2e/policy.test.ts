// Namespace policy on CREATE (SPEC §3, §4, §5), through the real API server's defaulting,
// managedFields and webhook selectors.
import { expect } from 'chai';
import { type TestCluster, pullfixWarnings, shared } from './harness/cluster.js';
import { DIGEST, changesNote, manifest, podSpecOf, pullPolicies, strayPodSpec, workload } from './harness/workloads.js';

describe('e2e: namespace policy', () => {
  let cluster: TestCluster;

  before(() => {
    cluster = shared();
  });

  it('class policy from the namespace labels, per image class, on values the API server defaulted', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'IfNotPresent', 'pullfix.dev/tagged': 'Always', 'pullfix.dev/digest': 'Never' });
    const deployment = workload('Deployment', 'web', ns, {
      containers: [
        { name: 'mutable', image: 'registry.example/web:latest' },
        { name: 'tagged', image: 'registry.example/web:1.0' },
        { name: 'digest', image: `registry.example/web@${DIGEST}` },
      ],
    });
    const result = await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(deployment) });
    expect(pullfixWarnings(result)).to.have.length.of.at.least(3);
    const stored = await cluster.getJson('deployment', 'web', ns);
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/mutable': 'IfNotPresent', 'containers/tagged': 'Always', 'containers/digest': 'Never' });
    expect(changesNote(stored)).to.be.a('string').and.not.be.empty;
  });

  it('server-side apply with a field manager other than kubectl: the value it owns is explicit and kept', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
    const deployment = workload('Deployment', 'web', ns, {
      containers: [
        { name: 'pinned', image: 'registry.example/web:dev', imagePullPolicy: 'IfNotPresent' },
        { name: 'free', image: 'registry.example/web:dev' },
      ],
    });
    await cluster.kubectlOk(['apply', '--server-side', '--field-manager=ci-deployer', '-f', '-'], { stdin: manifest(deployment) });
    const stored = await cluster.getJson('deployment', 'web', ns);
    // `:dev` defaults to IfNotPresent; `free` did not set it, `pinned` did.
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/pinned': 'IfNotPresent', 'containers/free': 'Always' });
  });

  it('mode enforce: the class policy overrides a value the manifest sets', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always' });
    const deployment = workload('Deployment', 'web', ns, { containers: [{ name: 'app', image: 'registry.example/web:main', imagePullPolicy: 'Never' }] });
    const result = await cluster.kubectlOk(['apply', '-f', '-'], { stdin: manifest(deployment) });
    expect(pullfixWarnings(result)).to.not.be.empty;
    const stored = await cluster.getJson('deployment', 'web', ns);
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
  });

  it('mode off: nothing is touched, not even a stray field', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off', 'pullfix.dev/tagged': 'Always' });
    const deployment = workload('Deployment', 'web', ns, strayPodSpec('Always', [{ name: 'app', image: 'registry.example/web:1.0' }]));
    const result = await cluster.kubectlOk(['apply', '--validate=false', '-f', '-'], { stdin: manifest(deployment) });
    expect(pullfixWarnings(result)).to.deep.equal([]);
    const stored = await cluster.getJson('deployment', 'web', ns);
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    expect(changesNote(stored)).to.equal(undefined);
  });

  it('an object labelled pullfix.dev/ignore=true is left alone; its unlabelled twin is not', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    const spec = strayPodSpec('Never', [{ name: 'app', image: 'registry.example/web:1.0' }]);
    const ignored = workload('Deployment', 'ignored', ns, spec, { labels: { 'pullfix.dev/ignore': 'true' } });
    const twin = workload('Deployment', 'twin', ns, spec);
    await cluster.kubectlOk(['apply', '--validate=false', '-f', '-'], { stdin: manifest(ignored, twin) });
    const storedIgnored = await cluster.getJson('deployment', 'ignored', ns);
    expect(pullPolicies(podSpecOf(storedIgnored))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    expect(changesNote(storedIgnored)).to.equal(undefined);
    const storedTwin = await cluster.getJson('deployment', 'twin', ns);
    expect(pullPolicies(podSpecOf(storedTwin))).to.deep.equal({ 'containers/app': 'Never' });
  });

  it('a ReplicaSet owned by a controller is untouched; an unowned one is patched', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    const spec = { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] };
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'web', ns, spec)) });
    const owner = await cluster.getJson('deployment', 'web', ns);
    const ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner.metadata.uid, controller: true }];
    // What the Deployment controller would create (there is no controller-manager here).
    const owned = workload('ReplicaSet', 'web-6d4cf56db6', ns, spec, { ownerReferences });
    const unowned = workload('ReplicaSet', 'standalone', ns, spec);
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(owned, unowned) });
    const storedOwned = await cluster.getJson('replicaset', 'web-6d4cf56db6', ns);
    expect(pullPolicies(podSpecOf(storedOwned))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    expect(changesNote(storedOwned)).to.equal(undefined);
    const storedUnowned = await cluster.getJson('replicaset', 'standalone', ns);
    expect(pullPolicies(podSpecOf(storedUnowned))).to.deep.equal({ 'containers/app': 'Always' });
  });

  it('kubectl create --dry-run=server: the answer is patched, nothing is stored', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    const deployment = workload('Deployment', 'web', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] });
    const result = await cluster.kubectlOk(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { stdin: manifest(deployment) });
    expect(pullfixWarnings(result)).to.not.be.empty;
    expect(pullPolicies(podSpecOf(JSON.parse(result.stdout)))).to.deep.equal({ 'containers/app': 'Always' });
    const get = await cluster.kubectl(['get', 'deployment', 'web', '-n', ns]);
    expect(get.status).to.not.equal(0);
    expect(get.stderr).to.contain('NotFound');
  });
});
