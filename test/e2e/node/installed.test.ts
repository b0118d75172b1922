// pullfix installed for real on the node: its image, built without a daemon (tools/build-image.sh)
// and pushed to the suite's registry, run by the kubelet from the Helm chart under the
// `restricted` Pod Security level; reviews reach its pods through the chart's Service (the API
// server resolves the Service to its endpoints: --enable-aggregator-routing, no kube-proxy). Then
// what users meet: an upgrade and a crash under a steady stream of creates, every pod gone, the
// uninstall, the certificate modes, `helm template` for GitOps, `helm test`, and the kustomize
// install (`make deploy`).
//
// The suite's own pullfix (a process on the host) is unregistered for this file and registered
// again after it, so every review here is served from a pod.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { repoPath } from '../../helpers/fixtures.js';
import { KUBE_VERSION, buildHelm, chartDir, findHelm } from '../../manifests/helm.js';
import { type TestCluster, type TestNode, shared, sleep, waitFor } from '../harness/cluster.js';
import { type KubectlResult, run as runCommand } from '../harness/kubectl.js';
import { livePods, observe, restartAndObserve, waitForNewRunningPod, waitForRunningPods } from '../harness/running.js';
import { CreateStream, type StreamCounts } from '../harness/stream.js';
import { changesNote, manifest, podSpecOf, pullPolicies, strayPodSpec, workload } from '../harness/workloads.js';

type Json = Record<string, any>;

const HELM = findHelm() ?? buildHelm();
const RELEASE = 'e2e';
const FULLNAME = 'e2e-pullfix';
const SELECTOR = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=webhook`;
/** Creates per second per namespace in the streams (the issue asks for at least 20). */
const RATE = 25;
const GRACE = { terminationGracePeriodSeconds: 1 };

/** Runs a command to completion (bounded); never throws for a non-zero exit. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 300_000): Promise<KubectlResult> {
  return runCommand(command, args, env, { timeoutMs });
}

/** GET over plain HTTP from the host to a pod IP (the health port): the path the kubelet's probes take. */
function podGet(ip: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${ip}:${port}${path}: no answer in 5 s`)));
    req.on('error', reject);
  });
}

/** Sum of a counter over all its label sets in a Prometheus text exposition. */
function counter(metrics: string, name: string): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function report(line: string): void {
  process.stdout.write(`      e2e node: ${line}\n`);
}

function describeCounts(what: string, c: StreamCounts): string {
  const reasons = Object.entries(c.reasons).map(([r, n]) => `${n}× ${r}`).join('; ');
  return `${what} in ${c.namespace}: sent ${c.sent}, refused ${c.refused}, created ${c.created}, patched ${c.patched}${reasons ? ` (${reasons})` : ''}`;
}

describe('node: pullfix installed from its chart and its image', () => {
  let cluster: TestCluster;
  let node: TestNode;
  let releaseNs: string;
  let image: { repository: string; tag: string };
  const helm = (args: string[], timeoutMs = 300_000): Promise<KubectlResult> =>
    run(HELM, [...args, '--kubeconfig', cluster.kubeconfig], process.env, timeoutMs);
  const helmOk = async (args: string[], timeoutMs?: number): Promise<string> => {
    const r = await helm(args, timeoutMs);
    if (r.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const imageValues = (): string[] => ['--set', `image.repository=${image.repository}`, '--set', `image.tag=${image.tag}`];

  /** The chart's webhook pods, live ones only. */
  const webhookPods = (ns = releaseNs): Promise<Json[]> => livePods(cluster, ns, SELECTOR);

  /** Waits until `count` webhook pods are Ready (the kubelet's readiness probe) and no other is live. */
  async function waitForReady(count: number, ns = releaseNs, selector = SELECTOR): Promise<Json[]> {
    return waitFor(`${count} ready pullfix pods in ${ns}`, async () => {
      const pods = await livePods(cluster, ns, selector);
      const ready = pods.filter((p) => (p.status?.conditions as Json[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (ready.length === count && pods.length === count) return ready;
      throw new Error(`${ready.length} of ${pods.length} ready`);
    }, { timeoutMs: 180_000, intervalMs: 500 });
  }

  /** Reviews served by the pods, from their own /metrics (fetched from the host at each pod IP). */
  async function reviewsServed(pods: Json[]): Promise<number> {
    let sum = 0;
    for (const pod of pods) sum += counter((await podGet(pod.status.podIP as string, 8080, '/metrics')).body, 'pullfix_admission_requests_total');
    return sum;
  }

  before(async function () {
    this.timeout(15 * 60_000);
    cluster = shared();
    node = cluster.node;
    // The image, exactly as `make image IMAGE_PUSH=...` builds and pushes it.
    image = { repository: `${node.registry.host}/pullfix`, tag: 'e2e' };
    const started = Date.now();
    const built = await run('bash', [repoPath('tools', 'build-image.sh')], {
      ...process.env,
      IMAGE_OUT: join(cluster.dir, 'image-oci'),
      IMAGE_PUSH: `${image.repository}:${image.tag}`,
      IMAGE_INSECURE: '1',
      CRANE: cluster.binaries.CRANE as string,
    }, 14 * 60_000);
    if (built.status !== 0) throw new Error(`tools/build-image.sh exited ${built.status}: ${built.stderr.trim().split('\n').slice(-15).join('\n')}`);
    const facts = Object.fromEntries(built.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    report(`image built without a daemon and pushed in ${Math.round((Date.now() - started) / 1000)} s: ${image.repository}:${image.tag}@${facts.IMAGE_DIGEST ?? '?'} (${(Number(facts.IMAGE_COMPRESSED_BYTES) / 1048576).toFixed(1)} MiB compressed)`);

    await cluster.unregisterWebhook();
    releaseNs = `pullfix-chart-${cluster.runId}`;
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: releaseNs, labels: {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    } } } });
  });

  after(async function () {
    this.timeout(300_000);
    if (!cluster) return;
    await helm(['uninstall', RELEASE, '--namespace', releaseNs, '--wait', '--timeout', '120s']);
    await cluster.kubectl(['delete', 'namespace', releaseNs, '--wait=false']);
    await cluster.registerWebhook();
  });

  describe('helm install, certificate mode generate, namespace at Pod Security level restricted', () => {
    before(async function () {
      this.timeout(300_000);
      await helmOk(['install', RELEASE, chartDir, '--namespace', releaseNs, ...imageValues(), '--wait', '--timeout', '240s']);
    });

    it('the pods run the pushed image as non-root, and are Ready by the kubelet\'s own probes', async () => {
      const pods = await waitForReady(2);
      for (const pod of pods) {
        const container = (pod.spec.containers as Json[])[0] as Json;
        expect(container.readinessProbe?.httpGet?.path, 'a readiness probe the kubelet runs').to.equal('/readyz');
        expect(container.livenessProbe?.httpGet?.path).to.equal('/healthz');
        const status = (pod.status.containerStatuses as Json[])[0] as Json;
        expect(status.image).to.equal(`${image.repository}:${image.tag}`);
        expect(status.imageID).to.match(/@sha256:[0-9a-f]{64}$/);
        expect(status.ready).to.equal(true);
        // The probe's own answer, fetched from the host at the pod IP as the kubelet does.
        const readyz = await podGet(pod.status.podIP as string, 8080, '/readyz');
        expect(readyz.status, readyz.body).to.equal(200);
      }
      // The restricted level admitted the pods; a server-side dry run of the label says no pod violates it.
      const relabel = await cluster.kubectlOk(['label', '--dry-run=server', '--overwrite', 'namespace', releaseNs, 'pod-security.kubernetes.io/enforce=restricted']);
      expect(relabel.stderr, 'no Pod Security warning for the running pods').to.not.match(/violate|Warning/i);
      const events = JSON.parse((await cluster.kubectlOk(['get', 'events', '-n', releaseNs, '-o', 'json'])).stdout) as { items: Json[] };
      expect(events.items.filter((e) => e.reason === 'FailedCreate').map((e) => e.message)).to.deep.equal([]);
      report(`helm install (generate): ${pods.map((p) => `${p.metadata.name} Ready at ${p.status.podIP}`).join(', ')}`);
    });

    it('helm test runs a real admission check through the installed webhook', async () => {
      // The test pod is deleted once it succeeds (hook-succeeded), so there is no log to fetch:
      // its exit status is the check. A failed one stays, with its log (the case further down).
      const result = await helm(['test', RELEASE, '--namespace', releaseNs, '--timeout', '120s'], 150_000);
      expect(result.status, `${result.stdout}\n${result.stderr}`).to.equal(0);
      expect(result.stdout).to.match(/TEST SUITE: +e2e-pullfix-test\n.*\n.*\nPhase: +Succeeded/);
    });

    it('the seed scenario, served from the pods through the Service: stray field, push, restart, the new build runs', async () => {
      const pods = await webhookPods();
      const servedBefore = await reviewsServed(pods);
      const ns = await cluster.freshNamespace();
      const repository = 'chart-seed';
      const d1 = node.images.pushBuild(repository, 'stable', 1);
      const object = workload('Deployment', 'demo', ns, { ...GRACE, ...strayPodSpec('Always', [{ name: 'app', image: node.images.ref(repository, 'stable') }]) });
      await cluster.kubectlOk(['apply', '--validate=false', '-n', ns, '-f', '-'], { stdin: manifest(object) });
      const first = await observe(cluster, ns, await waitForNewRunningPod(cluster, ns, 'app=demo'));
      expect(first.imagePullPolicy, 'the chart\'s pullfix moved the stray Always into the container').to.equal('Always');
      expect(first.digest).to.equal(d1);
      const d2 = node.images.pushBuild(repository, 'stable', 2);
      const after = await restartAndObserve(cluster, ns, 'deployment/demo', 'app=demo');
      expect(after.digest, 'the new build runs').to.equal(d2);
      expect(after.printed).to.equal(`${repository} build 2`);
      const served = (await reviewsServed(pods)) - servedBefore;
      expect(served, 'the reviews were answered by the chart\'s pods').to.be.greaterThan(0);
      report(`seed scenario through the chart's Service: build 1 ${first.digest.slice(0, 19)}… -> build 2 ${after.digest.slice(0, 19)}… (Always); ${served} reviews served by the pods`);
    });

    it('helm template twice, with the Secret in the cluster (lookup), renders the same certificate; without a cluster it cannot', async () => {
      // helm template assumes Kubernetes 1.20 unless told, which the chart's kubeVersion refuses.
      const render = (): Promise<string> => helmOk(['template', RELEASE, chartDir, '--namespace', releaseNs, ...imageValues(), '--kube-version', KUBE_VERSION, '--dry-run=server']);
      const [a, b] = [await render(), await render()];
      expect(a, 'two renders with the Secret present').to.equal(b);
      const secret = await cluster.getJson('secret', `${FULLNAME}-tls`, releaseNs);
      expect(a).to.contain(`ca.crt: ${secret.data['ca.crt'] as string}`);
      // What a GitOps tool that renders offline gets: a new CA each time (the chart's README
      // says which settings avoid it).
      const offline = (): string => execFileSync(HELM, ['template', RELEASE, chartDir, '--namespace', releaseNs, '--kube-version', KUBE_VERSION], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const caOf = (text: string): string | undefined => /ca\.crt: (\S+)/.exec(text)?.[1];
      expect(caOf(offline())).to.not.equal(caOf(offline()));
    });

    describe('under a steady stream of creates', () => {
      let enforceNs: string;
      let defaultNs: string;
      const streamImage = 'registry.invalid/stream/app:dev';

      before(async () => {
        enforceNs = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce' });
        defaultNs = await cluster.freshNamespace();
      });

      it(`helm upgrade changing the config and rolling the pods, ${RATE} creates/s in each namespace: none refused, every create patched`, async function () {
        this.timeout(600_000);
        const before = (await webhookPods()).map((p) => p.metadata.name as string);
        const stream = new CreateStream(cluster, { rate: RATE, namespaces: [enforceNs, defaultNs], image: streamImage, prefix: 'upgrade' }).start('Always');
        try {
          await sleep(3000);
          // --set-string: an annotation's value must be a string, and --set would make 1 a number.
          const upgraded = await helm(['upgrade', RELEASE, chartDir, '--namespace', releaseNs, ...imageValues(), '--reuse-values',
            '--set', 'config.policies.tagged=Always', '--set-string', 'podAnnotations.pullfix-e2e/upgrade=1', '--wait', '--timeout', '240s'], 300_000);
          if (upgraded.status !== 0) throw new Error(`helm upgrade exited ${upgraded.status}: ${upgraded.stderr.trim()}`);
          // The old pods drain after the rollout reports done: keep the stream on until they are gone.
          await waitFor('the old pullfix pods to be gone', async () => {
            const live = (await webhookPods()).map((p) => p.metadata.name as string);
            return live.some((n) => before.includes(n)) ? undefined : true;
          }, { timeoutMs: 120_000, intervalMs: 500 });
          await sleep(3000);
        } finally {
          await stream.stop();
        }
        const enforce = stream.counts(enforceNs);
        const dflt = stream.counts(defaultNs);
        report(describeCounts(`helm upgrade under ${stream.achievedRate.toFixed(1)} creates/s`, enforce));
        report(describeCounts(`helm upgrade under ${stream.achievedRate.toFixed(1)} creates/s`, dflt));
        expect(stream.achievedRate).to.be.at.least(20);
        for (const c of [enforce, dflt]) {
          expect(c.refused, JSON.stringify(c.reasons)).to.equal(0);
          expect(c.unpatched, 'every create patched').to.deep.equal([]);
          expect(c.created).to.equal(c.sent);
        }
        // The new config is in effect: a tagged image gets Always now.
        await cluster.waitForPolicy(defaultNs, 'registry.invalid/stream/app:1.0', 'Always', 60_000);
      });

      it('one pullfix pod SIGKILLed through the runtime: nothing fails where the webhook fails open, few refusals where it fails closed', async function () {
        this.timeout(300_000);
        const pods = await waitForReady(2);
        const victim = pods[0] as Json;
        const containerId = ((victim.status.containerStatuses as Json[])[0]?.containerID as string).replace(/^containerd:\/\//, '');
        const restartsBefore = (victim.status.containerStatuses as Json[])[0]?.restartCount as number;
        const stream = new CreateStream(cluster, { rate: RATE, namespaces: [enforceNs, defaultNs], image: streamImage, prefix: 'crash' }).start('Always');
        let backAfter = 0;
        try {
          await sleep(3000);
          const killedAt = Date.now();
          node.containerd.ctr(['tasks', 'kill', '--signal', 'SIGKILL', containerId]);
          // The kubelet sees the container die, restarts it, and its readiness probe brings it back.
          await waitFor('the killed container to be restarted and Ready', async () => {
            const pod = await cluster.getJson('pod', victim.metadata.name as string, releaseNs);
            const status = (pod.status.containerStatuses as Json[])[0] as Json;
            return status.restartCount > restartsBefore && status.ready === true ? true : undefined;
          }, { timeoutMs: 120_000, intervalMs: 250 });
          backAfter = Date.now() - killedAt;
          await sleep(3000);
        } finally {
          await stream.stop();
        }
        const enforce = stream.counts(enforceNs);
        const dflt = stream.counts(defaultNs);
        report(describeCounts(`SIGKILL of ${victim.metadata.name as string} (back Ready after ${(backAfter / 1000).toFixed(1)} s)`, enforce));
        report(describeCounts('the same SIGKILL', dflt));
        expect(dflt.refused, 'fail-open namespace: no create fails').to.equal(0);
        expect(dflt.created).to.equal(dflt.sent);
        // Fail-closed namespace: only the reviews in flight on the killed pod and the ones sent to
        // it before the kubelet marks it not ready and its endpoint is withdrawn fail (measured: 6
        // to 16 of about 330); the other replica answers the rest. Bound: two seconds' worth.
        expect(enforce.refused, JSON.stringify(enforce.reasons)).to.be.at.most(2 * RATE);
        expect(enforce.created + enforce.refused).to.equal(enforce.sent);
        expect(enforce.unpatched, 'whatever the enforce webhook admitted, it patched').to.deep.equal([]);
      });

      it('every pullfix pod gone: kubelet status updates and scaling in an enforce namespace go through; helm test fails; helm uninstall leaves no webhook configuration', async function () {
        this.timeout(400_000);
        const repository = 'chart-outage';
        node.images.pushBuild(repository, 'dev', 1);
        const app = workload('Deployment', 'web', enforceNs, { ...GRACE, containers: [{ name: 'app', image: node.images.ref(repository, 'dev') }] });
        await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(app) });
        await waitForNewRunningPod(cluster, enforceNs, 'app=web');

        await cluster.kubectlOk(['scale', 'deployment', FULLNAME, '-n', releaseNs, '--replicas=0']);
        await waitFor('every pullfix pod to be gone', async () => ((await webhookPods()).length === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });

        await cluster.kubectlOk(['scale', 'deployment', 'web', '-n', enforceNs, '--replicas=2']);
        expect(await waitForRunningPods(cluster, enforceNs, 'app=web', 2)).to.have.length(2);
        const refused = await cluster.kubectl(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'new-app', enforceNs, { containers: [{ name: 'app', image: 'registry.invalid/app:dev' }] })) });
        expect(refused.status, 'a user\'s new Deployment is refused while pullfix is down (fail-closed)').to.not.equal(0);
        expect(refused.stderr).to.match(/enforce\.pullfix\.dev/);
        const test = await helm(['test', RELEASE, '--namespace', releaseNs, '--logs', '--timeout', '120s'], 150_000);
        expect(test.status, 'helm test fails when no pod serves the webhook').to.not.equal(0);
        expect(test.stdout + test.stderr).to.contain('pullfix helm test: FAIL: the dry-run Pod in namespace default came back with imagePullPolicy IfNotPresent and no pullfix.dev/changes note');

        await helmOk(['uninstall', RELEASE, '--namespace', releaseNs, '--wait', '--timeout', '120s']);
        const left = (await cluster.kubectlOk(['get', 'mutatingwebhookconfigurations', '-o', 'name'])).stdout.trim();
        expect(left, 'helm uninstall removed the webhook configuration').to.not.contain(FULLNAME);
        const secrets = (await cluster.kubectlOk(['get', 'secrets', '-n', releaseNs, '-o', 'name'])).stdout;
        expect(secrets, 'and the generated Secret').to.not.contain(`${FULLNAME}-tls`);
        await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'new-app', enforceNs, { containers: [{ name: 'app', image: 'registry.invalid/app:dev' }] })) });
        report(`all pullfix pods gone: enforce namespace scaled 1 -> 2 (both Running), a new Deployment refused; helm uninstall left ${left ? left.split('\n').join(', ') : 'no'} webhook configuration`);
      });
    });
  });

  describe('helm install, certificate mode secret', () => {
    it('with a pre-made certificate: Ready, and helm test passes', async function () {
      this.timeout(400_000);
      // Whatever an earlier failure left: this install starts from none.
      await helm(['uninstall', RELEASE, '--namespace', releaseNs, '--ignore-not-found', '--wait', '--timeout', '120s']);
      const dir = mkdtempSync(join(cluster.dir, 'chart-certs-'));
      execFileSync('bash', [repoPath('certs', 'make-dev-certs.sh'), dir, FULLNAME, releaseNs], { stdio: 'ignore' });
      await cluster.kubectlOk(['create', 'secret', 'tls', 'premade-tls', '-n', releaseNs, `--cert=${join(dir, 'tls.crt')}`, `--key=${join(dir, 'tls.key')}`]);
      await helmOk(['install', RELEASE, chartDir, '--namespace', releaseNs, ...imageValues(),
        '--set', 'certificates.mode=secret', '--set', 'certificates.secret.name=premade-tls',
        '--set', `certificates.secret.caBundle=${readFileSync(join(dir, 'ca.crt')).toString('base64')}`, '--wait', '--timeout', '240s']);
      const pods = await waitForReady(2);
      const test = await helm(['test', RELEASE, '--namespace', releaseNs, '--timeout', '120s'], 150_000);
      expect(test.status, `${test.stdout}\n${test.stderr}`).to.equal(0);
      const config = await cluster.getJson('mutatingwebhookconfiguration', FULLNAME);
      for (const w of config.webhooks as Json[]) expect(Buffer.from(w.clientConfig.caBundle as string, 'base64').toString()).to.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'));
      report(`helm install (secret): ${pods.length} pods Ready, helm test passed with the pre-made certificate`);
      await helmOk(['uninstall', RELEASE, '--namespace', releaseNs, '--wait', '--timeout', '120s']);
    });
  });

  describe('kubectl apply -k', () => {
    it('the kustomize install (make deploy: kubectl apply -k with a generated overlay) serves reviews from its pods', async function () {
      this.timeout(400_000);
      const kubectl = `kubectl --kubeconfig=${cluster.kubeconfig}`;
      const deployed = await run('make', ['-C', repoPath(), 'deploy', `KUBECTL=${kubectl}`, `IMAGE=${image.repository}:${image.tag}`], process.env, 300_000);
      try {
        expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}`).to.equal(0);
        const pods = await waitForReady(2, 'pullfix-system', 'app.kubernetes.io/name=pullfix,app.kubernetes.io/component=webhook');
        const servedBefore = await reviewsServed(pods);
        const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
        const created = await cluster.kubectlOk(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { stdin: manifest(workload('Deployment', 'probe', ns, { containers: [{ name: 'app', image: 'registry.invalid/app:dev' }] })) });
        const stored = JSON.parse(created.stdout) as Json;
        expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
        expect(changesNote(stored)).to.be.a('string');
        expect((await reviewsServed(pods)) - servedBefore, 'served by the kustomize install\'s pods').to.be.greaterThan(0);
        report(`kustomize install: ${pods.length} pods Ready in pullfix-system, a dry-run Deployment patched by them`);
      } finally {
        // The suite's own pullfix keeps the namespace and its RBAC; the rest goes.
        await cluster.kubectl(['delete', 'mutatingwebhookconfiguration', 'pullfix', '--ignore-not-found']);
        await cluster.kubectl(['delete', 'deployment,service,poddisruptionbudget,networkpolicy,configmap,secret', '-n', 'pullfix-system', '-l', 'app.kubernetes.io/name=pullfix', '--ignore-not-found', '--wait=true'], { timeoutMs: 120_000 });
        await cluster.kubectl(['delete', 'secret', 'pullfix-tls', '-n', 'pullfix-system', '--ignore-not-found']);
      }
    });
  });
});
