import { expect } from 'chai';
import { InformerNamespaceSource } from '../../src/cluster/namespace-informer-source.js';
import { FakeKubeApi, eventually } from '../helpers/fake-kube-api.js';

const BACKOFF = { initialMs: 20, maxMs: 100 };

describe('InformerNamespaceSource', () => {
  let api: FakeKubeApi;
  let source: InformerNamespaceSource;

  beforeEach(async () => {
    api = await FakeKubeApi.start({
      default: {},
      payments: { 'pullfix.dev/mode': 'enforce', team: 'payments' },
    });
    source = new InformerNamespaceSource(api.kubeConfig(), { backoff: BACKOFF });
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
    expect(source.get('payments')).to.deep.equal({
      name: 'payments',
      labels: { 'pullfix.dev/mode': 'enforce', team: 'payments', 'kubernetes.io/metadata.name': 'payments' },
      annotations: {},
    });
    expect(labels('default')).to.deep.equal({ 'kubernetes.io/metadata.name': 'default' });
    expect(source.get('nope')).to.equal(undefined);
    const status = source.status();
    expect(status).to.include({ synced: true, connected: true, size: 2, errors: 0 });
    expect(status.lastEventAt).to.be.instanceOf(Date);
    expect(api.count('list')).to.equal(1);
    await eventually(() => api.openWatches === 1, 'the watch');
    expect(api.requests[1]).to.deep.equal({ kind: 'watch', resourceVersion: '102' });
  });

  it('hands out frozen plain data, not the informer objects', async () => {
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
      labels: { 'pullfix.dev/mode': 'off', 'kubernetes.io/metadata.name': 'payments' },
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
    expect(source.status().lastError).to.equal('watch namespaces: HTTP 500 Internal Server Error');

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
    api.apply('default', { team: 'core' });
    await eventually(() => labels('default')?.team === 'core', 'the event on the new watch');
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
});
