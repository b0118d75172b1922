// The namespace cache against the real API server: it asks for metadata only and the API
// server honours that (PartialObjectMetadataList pages, PartialObjectMetadata watch events
// and GET), it follows changes through the watch, and pullfix serve applies a namespace
// created a moment before the object (the watch or the lookup on a miss, whichever is first).
import { expect } from 'chai';
import { kubeClient } from '../../src/cluster/kube-client.js';
import { kubeconfigEndpoint } from '../../src/cluster/kube-endpoint.js';
import { LIST_ACCEPT, OBJECT_ACCEPT, WatchNamespaceSource } from '../../src/cluster/namespace-watch-source.js';
import { pullfixWarnings, shared, waitFor } from './harness/cluster.js';

describe('namespace cache against the real API server', () => {
  it('gets metadata only: the Accept headers the cache sends give PartialObjectMetadata pages and objects', async () => {
    const cluster = shared();
    const client = kubeClient(await kubeconfigEndpoint(cluster.kubeconfig));
    try {
      const page = (await client.getJson('/api/v1/namespaces?limit=2', LIST_ACCEPT)) as Record<string, any>;
      expect(page.kind).to.equal('PartialObjectMetadataList');
      expect(page.apiVersion).to.equal('meta.k8s.io/v1');
      expect(page.items).to.have.length(2);
      expect(page.items[0]).not.to.have.property('spec');
      expect(page.items[0]).not.to.have.property('status');
      expect(page.metadata.continue, 'more than two namespaces: a next page').to.be.a('string');
      const one = (await client.getJson('/api/v1/namespaces/default', OBJECT_ACCEPT)) as Record<string, any>;
      expect(one.kind).to.equal('PartialObjectMetadata');
      expect(one.metadata.name).to.equal('default');
      expect(one).not.to.have.property('spec');
    } finally {
      client.close();
    }
  });

  it('syncs from paginated lists, follows a label change through the watch, and keeps only pullfix.dev/ keys', async () => {
    const cluster = shared();
    const ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce', team: 'cache' }, { 'pullfix.dev/mutable-tags': '^edge$', note: 'x' });
    const source = new WatchNamespaceSource(kubeClient(await kubeconfigEndpoint(cluster.kubeconfig)), { pageSize: 3 });
    try {
      await source.start();
      expect(source.get(ns)).to.deep.equal({ name: ns, labels: { 'pullfix.dev/mode': 'enforce' }, annotations: { 'pullfix.dev/mutable-tags': '^edge$' } });
      expect(source.status().size).to.be.greaterThan(3, 'more namespaces than one page');
      await cluster.kubectlOk(['label', 'namespace', ns, 'pullfix.dev/mode=off', '--overwrite']);
      await waitFor('the MODIFIED event', async () => (source.get(ns)?.labels['pullfix.dev/mode'] === 'off' ? true : undefined), { timeoutMs: 10_000 });
      const created = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
      await waitFor('the ADDED event', async () => (source.get(created) ? true : undefined), { timeoutMs: 10_000 });
      expect(source.status()).to.include({ synced: true, connected: true, errors: 0 });
    } finally {
      await source.stop();
    }
  });

  it('reads a namespace the watch has not delivered with one GET', async () => {
    const cluster = shared();
    const ns = await cluster.freshNamespace({ 'pullfix.dev/digest': 'Always' });
    // A source that has listed but not watched: the namespace is new to it.
    const source = new WatchNamespaceSource(kubeClient(await kubeconfigEndpoint(cluster.kubeconfig)));
    try {
      const read = await source.lookup(ns);
      expect(read).to.deep.equal({ found: { name: ns, labels: { 'pullfix.dev/digest': 'Always' }, annotations: {} } });
      expect(await source.lookup('no-such-namespace-anywhere')).to.deep.equal({});
    } finally {
      await source.stop();
    }
  });

  it('pullfix serve applies the labels of a namespace created just before the object', async () => {
    const cluster = shared();
    const pod = (ns: string): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'fresh', namespace: ns },
      spec: { containers: [{ name: 'app', image: 'registry.example.com/team/app:1.2.3' }] },
    });
    for (let i = 0; i < 5; i++) {
      const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
      const result = await cluster.kubectlOk(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { stdin: pod(ns) });
      expect(JSON.parse(result.stdout).spec.containers[0].imagePullPolicy, pullfixWarnings(result).join('; ')).to.equal('Always');
    }
  });
});
