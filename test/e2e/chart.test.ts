// charts/pullfix against the real API server: the lint, render and safety checks of
// test/manifests/chart.test.ts run here too (imported below), then `helm install` puts the
// chart into the e2e cluster and the API server accepts every object. No pod runs here (no
// scheduler, no kubelet), so the chart's webhooks point at a Service with no endpoints: pullfix
// is "down" for them, which shows where the fail-closed webhook is and is not called.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { type TestCluster, shared, waitFor } from './harness/cluster.js';
import { manifest, workload } from './harness/workloads.js';
import { buildHelm, chartDir, findHelm } from '../manifests/helm.js';
import '../manifests/chart.test.js';

type Json = Record<string, any>;

// make e2e builds what it needs: helm from its Go module, once (then cached).
const HELM = findHelm() ?? buildHelm();
process.env['PULLFIX_HELM'] = HELM;

function helm(cluster: TestCluster, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(HELM, [...args, '--kubeconfig', cluster.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('e2e: helm install charts/pullfix', () => {
  let cluster: TestCluster;
  let ns: string;
  const release = 'chart';
  const name = 'chart-pullfix';

  before(async function () {
    this.timeout(180_000);
    cluster = shared();
    ns = `chart-${cluster.runId}`;
    // No --wait: the Deployment's pods are never scheduled here.
    const install = await helm(cluster, ['install', release, chartDir, '--namespace', ns, '--create-namespace']);
    if (install.status !== 0) throw new Error(`helm install: ${install.stderr}`);
  });

  after(async function () {
    this.timeout(120_000);
    if (!cluster) return;
    // The chart's enforce webhook fails closed and nothing serves it: remove it before the next file.
    await helm(cluster, ['uninstall', release, '--namespace', ns]);
    await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('the API server accepted every object of the release', async () => {
    const listed = (await cluster.kubectlOk(['get', 'deployment,service,serviceaccount,configmap,secret,poddisruptionbudget,networkpolicy', '-n', ns, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name'])).stdout;
    expect(listed.trim().split('\n').sort()).to.deep.equal([
      `configmap/${name}-config`,
      `deployment.apps/${name}`,
      `networkpolicy.networking.k8s.io/${name}`,
      `poddisruptionbudget.policy/${name}`,
      `secret/${name}-tls`,
      `service/${name}`,
      `serviceaccount/${name}`,
    ]);
    for (const kind of ['clusterrole', 'clusterrolebinding', 'mutatingwebhookconfiguration']) await cluster.kubectlOk(['get', kind, name]);
    const status = await helm(cluster, ['status', release, '--namespace', ns, '-o', 'json']);
    expect((JSON.parse(status.stdout) as Json).info.status).to.equal('deployed');
  });

  it('stores the webhooks as rendered: the enforce rules and matchConditions, the fail-open share of enforce namespaces, the generated CA', async () => {
    const stored = await cluster.getJson('mutatingwebhookconfiguration', name);
    const [dflt, enforce, open] = stored.webhooks as Json[];
    expect(dflt?.name).to.equal('default.pullfix.dev');
    expect(enforce?.name).to.equal('enforce.pullfix.dev');
    expect(open?.name).to.equal('enforce-open.pullfix.dev');
    expect(open?.failurePolicy).to.equal('Ignore');
    expect(enforce?.matchConditions.map((c: Json) => c.name)).to.deep.equal(['not-controller-owned']);
    expect(open?.matchConditions.map((c: Json) => c.name)).to.deep.equal(['what-enforce-leaves-out']);
    expect(enforce?.rules.filter((r: Json) => r.resources.includes('pods')).map((r: Json) => r.operations)).to.deep.equal([['CREATE']]);
    const secret = await cluster.getJson('secret', `${name}-tls`, ns);
    expect(dflt?.clientConfig.caBundle).to.equal(secret.data['ca.crt']);
    expect(enforce?.clientConfig.service).to.deep.include({ name, namespace: ns, path: '/mutate', port: 443 });
  });

  describe('with nothing serving the chart\'s webhooks (pullfix "down")', () => {
    let enforced: string;

    before(async function () {
      this.timeout(120_000);
      // Objects made before the namespace is in enforce mode: the chart's default webhook
      // fails open on them.
      enforced = await cluster.freshNamespace();
      const spec = { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] };
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Pod', 'web-0', enforced, spec), workload('Job', 'once', enforced, spec)) });
      await cluster.kubectlOk(['label', 'namespace', enforced, 'pullfix.dev/mode=enforce']);
    });

    it('refuses a new Deployment in an enforce namespace: the chart\'s fail-closed webhook is called', async () => {
      // Bounded retry: the label reaches the API server's webhook matcher through its informer.
      await waitFor('the chart\'s enforce webhook to refuse', async () => {
        const result = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { stdin: manifest(workload('Deployment', 'refused', enforced, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] })) });
        // The call itself failed (no endpoints), not the matchConditions expression.
        if (result.status !== 0 && result.stderr.includes('failed calling webhook "enforce.pullfix.dev"') && !result.stderr.includes('expression')) return true;
        throw new Error(`status ${result.status}: ${result.stderr.trim()}`);
      }, { timeoutMs: 30_000, intervalMs: 500 });
    });

    it('admits a controller-owned ReplicaSet (matchConditions: the fail-open webhook takes it) and its update, as a rollout or a scale makes them', async () => {
      const ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: '3a6f1c0e-5d2b-4c8a-9e7f-1b2c3d4e5f60', controller: true }];
      const rs = workload('ReplicaSet', 'web-5d8f', enforced, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] }, { ownerReferences });
      const created = await cluster.kubectl(['create', '-f', '-'], { stdin: manifest(rs) });
      expect(created.status, created.stderr).to.equal(0);
      const scaled = await cluster.kubectl(['patch', 'replicaset', 'web-5d8f', '-n', enforced, '--type=merge', '-p', '{"spec":{"replicas":3}}']);
      expect(scaled.status, scaled.stderr).to.equal(0);
    });

    it('admits Pod and Job UPDATE (not in the enforce rules: pullfix only warns there; the fail-open webhook takes them)', async () => {
      const pod = await cluster.kubectl(['label', 'pod', 'web-0', '-n', enforced, 'example.com/tier=frontend']);
      expect(pod.status, pod.stderr).to.equal(0);
      const job = await cluster.kubectl(['label', 'job', 'once', '-n', enforced, 'example.com/tier=batch']);
      expect(job.status, job.stderr).to.equal(0);
    });
  });

  it('the API server accepts the objects rendered with the pod and metadata values set (server-side dry run)', async () => {
    const values = [
      '--set', 'commonLabels.team=platform',
      '--set', 'commonAnnotations.example\\.com/owner=platform',
      '--set', 'podSecurityContext.fsGroup=2000',
      '--set', 'securityContext.runAsUser=1001',
      '--set', 'priorityClassName=system-cluster-critical',
      '--set', 'logLevel=debug',
      '--set-json', 'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule"}]',
      '--set-json', 'tolerations=[{"key":"dedicated","operator":"Exists","effect":"NoSchedule"}]',
      '--set', 'staleAudit.enabled=true',
    ];
    const rendered = await helm(cluster, ['template', 'values', chartDir, '--namespace', ns, '--kube-version', '1.32.0', '--skip-tests', ...values]);
    expect(rendered.status, rendered.stderr).to.equal(0);
    const applied = await cluster.kubectl(['apply', '--dry-run=server', '-o', 'name', '-f', '-'], { stdin: rendered.stdout });
    expect(applied.status, applied.stderr).to.equal(0);
    expect(applied.stdout).to.include('deployment.apps/values-pullfix').and.include('cronjob.batch/values-pullfix-stale-audit');
  });

  it('helm upgrade keeps the generated certificate and caBundle (no churn), and takes new values', async function () {
    this.timeout(180_000);
    const before = await cluster.getJson('secret', `${name}-tls`, ns);
    const upgrade = await helm(cluster, ['upgrade', release, chartDir, '--namespace', ns, '--set', 'webhooks.enforce.timeoutSeconds=3']);
    expect(upgrade.status, upgrade.stderr).to.equal(0);
    const after = await cluster.getJson('secret', `${name}-tls`, ns);
    expect(after.data).to.deep.equal(before.data);
    const stored = await cluster.getJson('mutatingwebhookconfiguration', name);
    for (const w of stored.webhooks as Json[]) expect(w.clientConfig.caBundle, w.name).to.equal(before.data['ca.crt']);
    expect((stored.webhooks as Json[]).map((w) => w.timeoutSeconds)).to.deep.equal([5, 3, 5]);
  });
});
