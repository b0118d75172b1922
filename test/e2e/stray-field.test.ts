// The mistake pullfix exists for: imagePullPolicy written at pod level. The API server drops
// the field from built-in kinds while decoding, so pullfix finds it in kubectl's
// last-applied-configuration; in a schemaless custom resource it is in the object itself.
import { expect } from 'chai';
import { type TestCluster, pullfixWarnings, shared } from './harness/cluster.js';
import { WORKLOAD_KINDS, changesNote, manifest, podSpecOf, pullPolicies, resourceOf, schemalessTemplateCrd, strayPodSpec, workload } from './harness/workloads.js';

const CLONESET_CRD = schemalessTemplateCrd('apps.kruise.io', 'v1alpha1', 'CloneSet', 'clonesets');

function withoutVersion(object: Record<string, any>): Record<string, any> {
  const copy = structuredClone(object);
  delete copy.metadata.resourceVersion;
  return copy;
}

describe('e2e: a pod-level imagePullPolicy, applied with kubectl apply --validate=false', () => {
  let cluster: TestCluster;
  let ns: string;
  const podSpec = strayPodSpec(
    'Always',
    [
      { name: 'app', image: 'registry.example/shop/app:1.4.2' },
      { name: 'sidecar', image: 'registry.example/shop/proxy:2.0' },
    ],
    [{ name: 'migrate', image: 'registry.example/shop/migrate:1.4.2' }],
  );

  before(async () => {
    cluster = shared();
    ns = await cluster.freshNamespace();
  });

  for (const kind of WORKLOAD_KINDS.filter((k) => k !== 'ReplicaSet')) {
    it(`${kind}: every container and init container gets the value, with a warning and the note; a second apply changes nothing`, async () => {
      const name = `stray-${kind.toLowerCase()}`;
      const file = manifest(workload(kind, name, ns, podSpec));
      const first = await cluster.kubectlOk(['apply', '--validate=false', '-f', '-'], { stdin: file });
      expect(pullfixWarnings(first), first.stderr).to.not.be.empty;

      const stored = await cluster.getJson(resourceOf(kind), name, ns);
      expect(pullPolicies(podSpecOf(stored))).to.deep.equal({
        'containers/app': 'Always',
        'containers/sidecar': 'Always',
        'initContainers/migrate': 'Always',
      });
      expect(podSpecOf(stored)).to.not.have.property('imagePullPolicy');
      expect(changesNote(stored)).to.be.a('string').and.not.be.empty;

      // kubectl sends the stray field again (it is in last-applied, not in the live object), so it
      // says `configured`; what counts is that nothing is changed or stored.
      const second = await cluster.kubectlOk(['apply', '--validate=false', '-f', '-'], { stdin: file });
      expect(pullfixWarnings(second), second.stderr).to.deep.equal([]);
      const again = await cluster.getJson(resourceOf(kind), name, ns);
      // Compared without resourceVersion: the API server rewrites a Job on a no-op update (fields
      // it defaults on read get stored), with or without a webhook.
      expect(withoutVersion(again)).to.deep.equal(withoutVersion(stored));
    });
  }
});

describe('e2e: a schemaless custom resource (CloneSet-like) with the stray field in the object', () => {
  let cluster: TestCluster;
  let ns: string;

  before(async () => {
    cluster = shared();
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: CLONESET_CRD });
    await cluster.kubectlOk(['wait', '--for=condition=Established', 'crd/clonesets.apps.kruise.io', '--timeout=60s'], { timeoutMs: 70_000 });
    ns = await cluster.freshNamespace();
  });

  it('kubectl create: the value goes into every container, the stray field is removed from the stored object', async () => {
    const cloneSet = workload('CloneSet', 'web', ns, strayPodSpec('Never', [{ name: 'app', image: 'registry.example/web:3.1' }], [{ name: 'init', image: 'registry.example/init:3.1' }]));
    const created = await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(cloneSet) });
    expect(pullfixWarnings(created), created.stderr).to.not.be.empty;

    const stored = await cluster.getJson('clonesets.apps.kruise.io', 'web', ns);
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Never', 'initContainers/init': 'Never' });
    expect(podSpecOf(stored)).to.not.have.property('imagePullPolicy');
    expect(changesNote(stored)).to.be.a('string').and.not.be.empty;
  });
});
