import { expect } from 'chai';
import { kubeClient } from '../../src/cluster/kube-client.js';
import { WatchNamespaceSource } from '../../src/cluster/namespace-watch-source.js';
import { FakeKubeApi, eventually } from '../helpers/fake-kube-api.js';

const BACKOFF = { initialMs: 20, maxMs: 100 };

describe('WatchNamespaceSource', () => {
  let api: FakeKubeApi;
  let source: WatchNamespaceSource;

  beforeEach(async () => {
    api = await FakeKubeApi.start({
      default: {},
      payments: { 'pullfix.dev/mode': 'enforce', team: 'payments' },
    });
    source = new WatchNamespaceSource(kubeClient(api.endpoint()), { backoff: BACKOFF });
  });

  afterEach(async () => {
    await source.stop();
    await api.close();
  });

  const labels = (name: string): Record<string, string> | undefined => source.get(name)?.labels;

  it('is not synced before the first list, and serves the listed labels after it', async () => {
    expect(source.synced()).to.equal(false);
    expect(source.get('payments')).to.equal(undefined);
    expect(source.status()).to.deep.equal({ synced: false, connected: false, size: 0, errors: 0 });

    await source.start();

    expect(source.synced()).to.equal(true);
    // Only what decisions need: the pullfix.dev/ labels (not team, not kubernetes.io/...).
    expect(source.get('payments')).to.deep.equal({ name: 'payments', labels: { 'pullfix.dev/mode': 'enforce' }, annotations: {} });
    expect(labels('default')).to.deep.equal({});
    expect(source.get('nope')).to.equal(undefined);
    const status = source.status();
    expect(status).to.include({ synced: true, connected: true, size: 2, errors: 0 });
    expect(status.lastEventAt).to.be.instanceOf(Date);
    expect(api.count('list')).to.equal(1);
    await eventually(() => api.openWatches === 1, 'the watch');
    // Metadata only, in pages: the list as PartialObjectMetadataList, the watch as PartialObjectMetadata.
    expect(api.requests[0]).to.deep.equal({
      kind: 'list',
      accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
      limit: 500,
    });
    expect(api.requests[1]).to.deep.equal({
      kind: 'watch',
      resourceVersion: '102',
      accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json',
    });
  });

  it('hands out frozen plain data, not the objects parsed from the answers', async () => {
    await source.start();
    const info = source.get('payments');
    expect(Object.isFrozen(info)).to.equal(true);
    expect(Object.isFrozen(info?.labels)).to.equal(true);
    expect(Object.keys(info ?? {})).to.deep.equal(['name', 'labels', 'annotations']);
    expect(() => {
      (info?.labels as Record<string, string>)['pullfix.dev/mode'] = 'off';
    }).to.throw(TypeError);
  });

  it('keeps retrying a failing first list; start() resolves once it succeeds', async () => {
    api.fail({ on: 'list', status: 500, times: 3 });
    let started = false;
    const starting = source.start().then(() => (started = true));
    await eventually(() => source.status().errors >= 1, 'the first error');
    expect(started).to.equal(false);
    expect(source.synced()).to.equal(false);
    expect(source.status()).to.include({
      synced: false,
      connected: false,
      lastError: 'list namespaces: HTTP 500: fake API server: injected 500',
    });
    await starting;
    expect(source.synced()).to.equal(true);
    expect(source.status()).to.include({ synced: true, connected: true, size: 2, errors: 3 });
    expect(labels('payments')).to.include({ 'pullfix.dev/mode': 'enforce' });
  });

  it('follows ADDED, MODIFIED and DELETED events, and ignores BOOKMARKs', async () => {
    await source.start();
    await eventually(() => api.openWatches === 1, 'the watch');

    api.apply('payments', { 'pullfix.dev/mode': 'off' }, { 'pullfix.dev/mutable-tags': '^latest$' });
    await eventually(() => labels('payments')?.['pullfix.dev/mode'] === 'off', 'the MODIFIED event');
    expect(source.get('payments')).to.deep.equal({
      name: 'payments',
      labels: { 'pullfix.dev/mode': 'off' },
      annotations: { 'pullfix.dev/mutable-tags': '^latest$' },
    });

    api.apply('team-b', { 'pullfix.dev/tagged': 'IfNotPresent' });
    await eventually(() => source.get('team-b') !== undefined, 'the ADDED event');
    expect(labels('team-b')).to.include({ 'pullfix.dev/tagged': 'IfNotPresent' });

    api.bookmark();
    api.delete('default');
    await eventually(() => source.get('default') === undefined, 'the DELETED event');
    expect(source.status()).to.include({ size: 2, errors: 0, connected: true });
    expect(api.count('list')).to.equal(1);
  });

  it('keeps the last known labels through a dropped connection and 500s, then catches up from its resourceVersion', async () => {
    await source.start();
    await eventually(() => api.openWatches === 1, 'the watch');

    api.fail({ on: 'any', status: 500, times: Infinity });
    api.dropWatches();
    await eventually(() => source.status().errors >= 2, 'the failed reconnects');
    expect(source.synced()).to.equal(true);
    expect(source.status()).to.include({ synced: true, connected: false, size: 2 });
    expect(source.status().lastError).to.equal('watch namespaces: HTTP 500: fake API server: injected 500');

    // Changes while the source is disconnected: it still serves what it knew.
    api.apply('payments', { 'pullfix.dev/mode': 'default' });
    api.delete('default');
    expect(labels('payments')).to.include({ 'pullfix.dev/mode': 'enforce' });
    expect(source.get('default')).not.to.equal(undefined);

    api.recover();
    await eventually(() => labels('payments')?.['pullfix.dev/mode'] === 'default', 'the catch-up');
    await eventually(() => source.get('default') === undefined, 'the missed delete');
    expect(source.status()).to.include({ connected: true, size: 1 });
    // Caught up by watching from the last resourceVersion it saw: no second list.
    expect(api.count('list')).to.equal(1);
    expect(api.requests.filter((r) => r.kind === 'watch').every((r) => r.resourceVersion === '102')).to.equal(true);
  });

  it('keeps serving the last known labels while the API server is unreachable', async () => {
    await source.start();
    await eventually(() => api.openWatches === 1, 'the watch');
    await api.close();
    await eventually(() => source.status().errors >= 3, 'three failed reconnects');
    const status = source.status();
    expect(status).to.include({ synced: true, connected: false, size: 2 });
    expect(status.lastError).to.match(/ECONNREFUSED/);
    expect(source.synced()).to.equal(true);
    expect(labels('payments')).to.include({ 'pullfix.dev/mode': 'enforce' });
  });

  it('re-watches after the server ends a watch cleanly, without counting an error', async () => {
    await source.start();
    await eventually(() => api.openWatches === 1, 'the watch');
    api.endWatches();
    await eventually(() => api.count('watch') === 2 && api.openWatches === 1, 'the new watch');
    api.apply('default', { 'pullfix.dev/mode': 'off' });
    await eventually(() => labels('default')?.['pullfix.dev/mode'] === 'off', 'the event on the new watch');
    expect(source.status()).to.include({ errors: 0, connected: true });
  });

  const gone = [
    { how: 'an ERROR event with code 410 on reconnect', compact: 'event' as const },
    { how: 'HTTP 410 Gone with a Status on reconnect', compact: 'status' as const },
  ];
  for (const { how, compact } of gone) {
    it(`relists after ${how}, dropping namespaces deleted meanwhile`, async () => {
      await source.start();
      await eventually(() => api.openWatches === 1, 'the watch');

      api.fail({ on: 'any', status: 503, times: Infinity });
      api.dropWatches();
      await eventually(() => source.status().connected === false, 'the disconnect');
      api.apply('payments', { 'pullfix.dev/mode': 'off' });
      api.delete('default');
      api.apply('fresh', { 'pullfix.dev/digest': 'IfNotPresent' });
      api.compact(compact);
      api.recover();

      await eventually(() => api.count('list') === 2, 'the relist');
      await eventually(() => source.get('fresh') !== undefined, 'the relisted namespaces');
      expect(source.get('default')).to.equal(undefined);
      expect(labels('payments')).to.include({ 'pullfix.dev/mode': 'off' });
      expect(source.status()).to.include({ synced: true, connected: true, size: 2 });
      expect(source.status().errors).to.be.greaterThan(0);
    });
  }

  it('relists when an open watch gets an ERROR event with code 410', async () => {
    await source.start();
    await eventually(() => api.openWatches === 1, 'the watch');
    api.expireWatches();
    await eventually(() => api.count('list') === 2 && api.openWatches === 1, 'the relist and new watch');
    expect(source.status()).to.include({ synced: true, connected: true, size: 2, errors: 0 });
  });

  it('stop() closes the watch and cancels a pending retry; start() again resumes', async () => {
    await source.start();
    await eventually(() => api.openWatches === 1, 'the watch');
    await source.stop();
    await eventually(() => api.openWatches === 0, 'the watch to close');
    expect(source.status()).to.include({ synced: true, connected: false });
    expect(labels('payments')).to.include({ 'pullfix.dev/mode': 'enforce' });

    await source.start();
    await eventually(() => api.openWatches === 1, 'the new watch');
    api.fail({ on: 'any', status: 500, times: Infinity });
    api.dropWatches();
    await eventually(() => source.status().errors >= 1, 'an error');
    const requests = api.requests.length;
    await source.stop();
    await new Promise((r) => setTimeout(r, 250));
    expect(api.requests.length).to.equal(requests);
  });

  it('stop() before the first sync resolves start() with synced() false', async () => {
    api.fail({ on: 'list', status: 500, times: Infinity });
    const starting = source.start();
    await eventually(() => source.status().errors >= 1, 'the first error');
    await source.stop();
    await starting;
    expect(source.synced()).to.equal(false);
  });

  describe('pagination', () => {
    it('lists in pages of pageSize, following continue tokens, and watches from the list', async () => {
      for (let i = 0; i < 23; i++) api.apply(`ns-${String(i).padStart(2, '0')}`, i % 2 ? { 'pullfix.dev/mode': 'off' } : {});
      const paged = new WatchNamespaceSource(kubeClient(api.endpoint()), { backoff: BACKOFF, pageSize: 10 });
      try {
        await paged.start();
        expect(paged.status().size).to.equal(25);
        expect(api.requests.filter((r) => r.kind === 'list').map((r) => r.limit)).to.deep.equal([10, 10, 10]);
        expect(paged.get('ns-01')?.labels).to.deep.equal({ 'pullfix.dev/mode': 'off' });
        expect(paged.get('ns-22')?.labels).to.deep.equal({});
      } finally {
        await paged.stop();
      }
    });

    it('starts the list again when a continue token has expired', async () => {
      for (let i = 0; i < 5; i++) api.apply(`ns-${i}`, {});
      const paged = new WatchNamespaceSource(kubeClient(api.endpoint()), { backoff: BACKOFF, pageSize: 3 });
      api.expireNextContinue = true;
      try {
        await paged.start();
        expect(paged.status().size).to.equal(7);
        // Page 1, its continuation refused (410), then pages 1, 2, 3 of a fresh list.
        expect(api.count('list')).to.equal(5);
      } finally {
        await paged.stop();
      }
    });
  });

  it('keeps the same frozen object for a namespace whose pullfix.dev/ keys did not change', async () => {
    await source.start();
    await eventually(() => api.openWatches === 1, 'the watch');
    const before = source.get('payments');
    api.apply('payments', { 'pullfix.dev/mode': 'enforce', team: 'renamed' });
    api.apply('default', { 'pullfix.dev/mode': 'off' });
    await eventually(() => labels('default')?.['pullfix.dev/mode'] === 'off', 'the later event');
    expect(source.get('payments')).to.equal(before);
  });

  describe('lookup() of a namespace the watch has not delivered yet', () => {
    beforeEach(async () => {
      await source.start();
      await eventually(() => api.openWatches === 1, 'the watch');
    });

    it('reads it with one metadata-only GET and keeps it in the cache', async () => {
      api.applySilently('new-team', { 'pullfix.dev/mode': 'enforce', team: 'x' });
      expect(source.get('new-team')).to.equal(undefined);
      const read = await source.lookup('new-team');
      expect(read).to.deep.equal({ found: { name: 'new-team', labels: { 'pullfix.dev/mode': 'enforce' }, annotations: {} } });
      expect(source.get('new-team')).to.equal(read.found);
      expect(api.requests.filter((r) => r.kind === 'get')).to.deep.equal([
        { kind: 'get', name: 'new-team', accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json' },
      ]);
    });

    it('shares one GET between concurrent callers', async () => {
      api.applySilently('burst', { 'pullfix.dev/tagged': 'Always' });
      api.getDelayMs = 50;
      const reads = await Promise.all(Array.from({ length: 20 }, () => source.lookup('burst')));
      expect(new Set(reads.map((r) => r.found)).size).to.equal(1);
      expect(api.count('get')).to.equal(1);
    });

    it('gives up after the budget, says why, and asks again only after a while', async () => {
      const quick = new WatchNamespaceSource(kubeClient(api.endpoint()), { backoff: BACKOFF, lookupTimeoutMs: 100, lookupMemoMs: 200 });
      try {
        await quick.start();
        await eventually(() => api.openWatches === 2, 'the second watch');
        api.applySilently('slow', {});
        api.getDelayMs = 1000;
        const started = Date.now();
        const read = await quick.lookup('slow');
        expect(read).to.deep.equal({ failed: 'get namespace slow: no answer within 100 ms' });
        expect(Date.now() - started).to.be.below(900);
        await quick.lookup('slow');
        expect(api.count('get')).to.equal(1, 'remembered');
        await new Promise((resolve) => setTimeout(resolve, 300));
        await quick.lookup('slow');
        expect(api.count('get')).to.equal(2, 'asked again once the memo has expired');
      } finally {
        await quick.stop();
      }
    });

    it('reports an error status as a failure, and a 404 as no namespace', async () => {
      api.applySilently('broken', {});
      api.fail({ on: 'get', status: 403 });
      expect(await source.lookup('broken')).to.deep.equal({ failed: 'get namespace broken: HTTP 403: fake API server: injected 403' });
      expect(await source.lookup('nowhere')).to.deep.equal({});
    });

    it('never asks for a name that is not a namespace name', async () => {
      expect(await source.lookup('../pods')).to.deep.equal({});
      expect(await source.lookup('UPPER')).to.deep.equal({});
      expect(api.count('get')).to.equal(0);
    });
  });
});
