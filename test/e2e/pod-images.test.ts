// Images a pod pulls besides its containers: ephemeral containers added by `kubectl debug`
// (the pods/ephemeralcontainers subresource) and image volumes (spec.volumes[].image).
import { expect } from 'chai';
import { type TestCluster, pullfixWarnings, shared } from './harness/cluster.js';
import { changesNote, manifest, pullPolicies, strayPodSpec, workload } from './harness/workloads.js';

describe('e2e: ephemeral containers and image volumes', () => {
  let cluster: TestCluster;

  before(() => {
    cluster = shared();
  });

  it('kubectl debug: the ephemeral container it adds gets the class policy', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Pod', 'target', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] })) });
    const debug = await cluster.kubectlOk(['debug', 'target', '-n', ns, '--image=registry.example/tools/debug:2.3', '--container=debugger', '--profile=general']);
    expect(pullfixWarnings(debug), debug.stderr).to.not.be.empty;
    const stored = await cluster.getJson('pod', 'target', ns);
    expect(pullPolicies(stored.spec)).to.deep.equal({ 'containers/app': 'Always', 'ephemeralContainers/debugger': 'Always' });
  });

  it('a Pod with an image volume: the volume gets the class policy', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    const pod = workload('Pod', 'with-volume', ns, {
      containers: [{ name: 'app', image: 'registry.example/web:1.0', volumeMounts: [{ name: 'model', mountPath: '/model' }] }],
      volumes: [{ name: 'model', image: { reference: 'registry.example/models/small:7' } }],
    });
    const result = await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(pod) });
    expect(pullfixWarnings(result)).to.not.be.empty;
    const stored = await cluster.getJson('pod', 'with-volume', ns);
    expect(pullPolicies(stored.spec)).to.deep.equal({ 'containers/app': 'Always', 'volumes/model': 'Always' });
  });

  it('a Pod with an image volume and a stray pod-level value: the volume gets the value too', async () => {
    const ns = await cluster.freshNamespace();
    const pod = workload('Pod', 'stray-volume', ns, {
      ...strayPodSpec('Never', [{ name: 'app', image: 'registry.example/web:1.0', volumeMounts: [{ name: 'model', mountPath: '/model' }] }]),
      volumes: [{ name: 'model', image: { reference: 'registry.example/models/small:7' } }],
    });
    await cluster.kubectlOk(['apply', '--validate=false', '-f', '-'], { stdin: manifest(pod) });
    const stored = await cluster.getJson('pod', 'stray-volume', ns);
    expect(pullPolicies(stored.spec)).to.deep.equal({ 'containers/app': 'Never', 'volumes/model': 'Never' });
    expect(changesNote(stored)).to.be.a('string').and.not.be.empty;
  });
});
