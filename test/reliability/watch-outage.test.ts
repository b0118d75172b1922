// Issue item 4: the namespace list/watch goes through an outage. The real server, with an
// WatchNamespaceSource on an endpoint that points at the fake API server, while that
// server fails the first lists, drops the watch, answers 500s, and then 410 Gone. Admission
// keeps using the last known labels, the cache relists and catches up, the metrics show the
// outage, and /readyz follows SPEC §6: not ready before the first sync; ready once synced;
// still ready while disconnected.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type https from 'node:https';
import { kubeClient } from '../../src/cluster/kube-client.js';
import { WatchNamespaceSource } from '../../src/cluster/namespace-watch-source.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { podReview } from '../helpers/objects.js';
import { captureLogger, checkAnswer, getHealth, keepAliveAgent, metric, post, scrape, startWebhook, until, watchProcessErrors, type Webhook } from './helpers.js';

describe('reliability: namespace watch outage', function () {
  this.timeout(60_000);
  let api: FakeKubeApi;
  let hook: Webhook;
  let agent: https.Agent;
  let processErrors: ReturnType<typeof watchProcessErrors>;
  const sourceLogs = captureLogger('debug');

  before(async () => {
    processErrors = watchProcessErrors();
    api = await FakeKubeApi.start({
      default: {},
      payments: { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/tagged': 'Always' },
    });
    // The API server is down when pullfix starts (lists and the lookup of one namespace alike).
    api.fail({ on: 'any', status: 500, times: Number.POSITIVE_INFINITY });
    const source = new WatchNamespaceSource(kubeClient(api.endpoint()), { logger: sourceLogs.logger, backoff: { initialMs: 20, maxMs: 200 } });
    hook = await startWebhook({ namespaces: source });
    agent = keepAliveAgent(hook.ca, 4);
  });
  after(async () => {
    agent?.destroy();
    await hook?.stop();
    await api?.close();
    processErrors.stop();
    expect(processErrors.errors).to.deep.equal([]);
  });

  /** Whether a Pod in `namespace` gets the `payments` policy (tagged images: Always). */
  async function patchedIn(namespace: string): Promise<boolean> {
    const review = podReview([{ name: 'app', image: 'registry.example.com/shop/api:1.4.2', imagePullPolicy: 'IfNotPresent' }], { namespace });
    review.request.uid = randomUUID();
    const reply = await post(hook.server.port, JSON.stringify(review), { agent, ca: hook.ca });
    return checkAnswer(reply, review.request.uid).length > 0;
  }
  const readyz = async (): Promise<{ status: number; text: string }> => getHealth(hook.server.healthPort, '/readyz');
  const gauge = async (name: string): Promise<number> => metric(await scrape(hook.server.healthPort), name) ?? Number.NaN;
  /** Seconds since the cache last heard from the API server; undefined while it never has. */
  const lastEventAge = async (): Promise<number | undefined> => {
    const at = metric(await scrape(hook.server.healthPort), 'pullfix_namespace_cache_last_event_timestamp_seconds');
    return at === undefined ? undefined : Date.now() / 1000 - at;
  };

  it('before the first sync: not ready, answers with config defaults, the metrics say why', async () => {
    await until(async () => (await gauge('pullfix_namespace_cache_errors_total')) >= 2, 'failed lists');
    const ready = await readyz();
    expect(ready.status).to.equal(503);
    expect(ready.text).to.include('[-]namespaces');
    expect(await gauge('pullfix_namespace_cache_synced')).to.equal(0);
    expect(await gauge('pullfix_namespace_cache_connected')).to.equal(0);
    expect(await lastEventAge(), 'no event yet: the timestamp is absent').to.equal(undefined);
    // Still answering (the webhook never blocks admission on its cache): config defaults apply.
    expect(await patchedIn('payments')).to.equal(false);
  });

  it('after the first sync: ready, and the namespace labels apply', async () => {
    api.recover();
    await until(async () => (await readyz()).status === 200, '/readyz to turn 200');
    expect(await patchedIn('payments')).to.equal(true);
    expect(await patchedIn('default')).to.equal(false);
    expect(await gauge('pullfix_namespace_cache_synced')).to.equal(1);
    expect(await gauge('pullfix_namespace_cache_size')).to.equal(2);
    await until(async () => (await gauge('pullfix_namespace_cache_connected')) === 1 && api.openWatches === 1, 'the watch');
  });

  it('dropped watch, then 500s: stays ready, serves the last known labels, the metrics show the outage', async () => {
    const errorsBefore = await gauge('pullfix_namespace_cache_errors_total');
    api.fail({ on: 'any', status: 500, times: Number.POSITIVE_INFINITY });
    api.dropWatches();
    await until(async () => (await gauge('pullfix_namespace_cache_errors_total')) >= errorsBefore + 3, 'failed reconnects');
    expect(await gauge('pullfix_namespace_cache_connected')).to.equal(0);
    expect(await gauge('pullfix_namespace_cache_synced')).to.equal(1);

    // Changes the cache cannot see while the API server is unreachable; then its watch history
    // is compacted, so the resourceVersion pullfix holds is too old to resume from.
    api.apply('payments', { 'pullfix.dev/mode': 'off' });
    api.apply('team-new', { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/tagged': 'Always' });
    api.compact('status');

    for (let i = 0; i < 20; i++) expect(await patchedIn('payments'), 'last known labels of payments').to.equal(true);
    expect(await patchedIn('team-new'), 'a namespace the cache has not seen').to.equal(false);
    const ready = await readyz();
    expect(ready.status, ready.text).to.equal(200);
    expect(ready.text).to.include('[+]namespaces');
    await until(async () => ((await lastEventAge()) ?? 0) > 0.2, 'the last event to age');
    expect(sourceLogs.lines.some((l) => l.msg === 'namespace watch failed; keeping the last known namespaces and retrying')).to.equal(true);
  });

  it('410 Gone on reconnect: relists and catches up', async () => {
    const staleRv = api.requests.filter((r) => r.kind === 'watch').at(-1)?.resourceVersion;
    const from = api.requests.length;
    api.recover();
    await until(async () => !(await patchedIn('payments')), 'the missed label change to apply', 15_000, 50);
    expect(await patchedIn('team-new')).to.equal(true);
    await until(async () => (await gauge('pullfix_namespace_cache_connected')) === 1, 'connected again');
    // It tried to resume from where it was, was told that is gone (410), and listed again.
    const after = api.requests.slice(from);
    const resumed = after.findIndex((r) => r.kind === 'watch' && r.resourceVersion === staleRv);
    expect(resumed, JSON.stringify(after)).to.be.at.least(0);
    expect(after.slice(resumed + 1).some((r) => r.kind === 'list'), JSON.stringify(after)).to.equal(true);
    expect(await gauge('pullfix_namespace_cache_size')).to.equal(3);
    expect((await readyz()).status).to.equal(200);
  });

  it('410 as an ERROR event on an open watch: relists, and follows live changes after', async () => {
    await until(() => api.openWatches === 1, 'the watch');
    const listsBefore = api.count('list');
    api.compact('event');
    api.expireWatches();
    await until(() => api.count('list') > listsBefore && api.openWatches === 1, 'the relist and a new watch');
    api.apply('payments', { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/tagged': 'Always' });
    await until(async () => patchedIn('payments'), 'a live change after the relist', 15_000, 50);
    expect(await gauge('pullfix_namespace_cache_connected')).to.equal(1);
    expect(await lastEventAge()).to.be.below(5);
    expect((await readyz()).status).to.equal(200);
  });
});
