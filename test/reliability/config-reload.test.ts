// Issue item 5: config reload, laid out as a ConfigMap volume is (config.yaml -> ..data/config.yaml,
// ..data -> a timestamped directory, swapped atomically). A broken file is refused, the last
// good one kept, the error logged and counted; a later good file is picked up; reviews sent
// meanwhile are all answered.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '../helpers/certs.js';
import { podReview } from '../helpers/objects.js';
import {
  checkAnswer,
  describeLoad,
  keepAliveAgent,
  type LoadResult,
  metric,
  post,
  runLoad,
  scrape,
  startWebhook,
  until,
  watchProcessErrors,
  type Webhook,
} from './helpers.js';

const FAILED = 'config reload failed; keeping the last good config';

describe('reliability: config reload', function () {
  this.timeout(60_000);
  let dir: string;
  let hook: Webhook;
  let agent: https.Agent;
  let version = 0;
  let stopLoad = false;
  let load: Promise<LoadResult>;
  let processErrors: ReturnType<typeof watchProcessErrors>;

  /** What the kubelet does on a ConfigMap update: a new directory, then one atomic symlink swap. */
  function publish(text: string | undefined): void {
    const next = `..v${++version}`;
    mkdirSync(join(dir, next));
    if (text !== undefined) writeFileSync(join(dir, next, 'config.yaml'), text);
    symlinkSync(next, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  }

  before(async () => {
    processErrors = watchProcessErrors();
    dir = makeTempDir();
    publish('mode: default\npolicies: {tagged: Never}\n');
    symlinkSync(join('..data', 'config.yaml'), join(dir, 'config.yaml'));
    hook = await startWebhook({ configFile: join(dir, 'config.yaml'), pollIntervalMs: 50 });
    agent = keepAliveAgent(hook.ca, 4);
    load = runLoad({ port: hook.server.port, ca: hook.ca, agent: keepAliveAgent(hook.ca, 8), connections: 8, durationMs: 50_000, stop: () => stopLoad });
  });
  after(async () => {
    stopLoad = true;
    await load;
    agent?.destroy();
    await hook?.stop();
    removeDir(dir);
    processErrors.stop();
    expect(processErrors.errors).to.deep.equal([]);
  });

  /** The policy a defaulted tagged-image container ends up with (undefined: untouched). */
  async function policy(): Promise<string | undefined> {
    const review = podReview([{ name: 'app', image: 'registry.example.com/shop/api:1.4.2', imagePullPolicy: 'IfNotPresent' }], { namespace: 'shop' });
    review.request.uid = randomUUID();
    const ops = checkAnswer(await post(hook.server.port, JSON.stringify(review), { agent, ca: hook.ca }), review.request.uid);
    const op = ops.find((o) => o.path === '/spec/containers/0/imagePullPolicy' && o.op === 'replace');
    return op && 'value' in op ? (op.value as string) : undefined;
  }
  const reloads = async (result: 'ok' | 'failed'): Promise<number> => metric(await scrape(hook.server.healthPort), 'pullfix_config_reloads_total', { result }) ?? 0;
  const failures = (): Array<Record<string, unknown>> => hook.logs.filter((l) => l.msg === FAILED);

  it('starts with the file it was given', async () => {
    expect(await policy()).to.equal('Never');
  });

  const broken: Array<[string, string | undefined, RegExp]> = [
    ['YAML that does not parse', 'mode: default\npolicies: {tagged: [\n', /./],
    ['a value that is not allowed', 'mode: sometimes\n', /mode/],
    ['an unknown field', 'mode: default\npolicy: {tagged: Always}\n', /policy/],
    ['a tag pattern that is not a regular expression', "mutableTags: '('\n", /mutableTags/],
    ['the file gone from the volume', undefined, /ENOENT|does not exist|no such file/i],
  ];
  broken.forEach(([what, text, mentions], i) => {
    it(`refuses ${what}: keeps the last good config, logs and counts it`, async () => {
      publish(text);
      await until(async () => (await reloads('failed')) === i + 1, 'the failed reload to be counted');
      expect(await policy()).to.equal('Never');
      const logged = failures().at(-1);
      expect(logged, 'an error log line').to.not.equal(undefined);
      expect(logged?.level).to.equal(50);
      expect(logged?.file).to.equal(join(dir, 'config.yaml'));
      expect(String(logged?.error)).to.match(mentions);
      expect(failures()).to.have.length(i + 1);
      expect(await reloads('ok')).to.equal(0);
    });
  });

  it('picks up the next good file', async () => {
    publish('mode: default\npolicies: {tagged: Always}\n');
    await until(async () => (await reloads('ok')) === 1, 'the reload');
    expect(await policy()).to.equal('Always');
    expect(hook.logs.some((l) => l.msg === 'config reloaded')).to.equal(true);
    expect(await reloads('failed')).to.equal(broken.length);
  });

  it('and a later good one again, without counting the unchanged polls between', async () => {
    publish('mode: off\n');
    await until(async () => (await reloads('ok')) === 2, 'the second reload');
    expect(await policy()).to.equal(undefined);
    await new Promise((r) => setTimeout(r, 300)); // six polls of an unchanged file
    expect(await reloads('ok')).to.equal(2);
    expect(await reloads('failed')).to.equal(broken.length);
  });

  it('answered every review sent during the reloads', async () => {
    stopLoad = true;
    const result = await load;
    console.log(`      during reloads: ${describeLoad(result)}`);
    expect(result.failed, describeLoad(result)).to.equal(0);
    expect(result.ok).to.be.greaterThan(50);
  });
});
