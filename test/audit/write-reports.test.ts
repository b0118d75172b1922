// `pullfix audit --stale -o report --write-reports`: the Reports the audit prints, server-side
// applied to the API server (test/helpers/fake-kube-rest.ts, which answers apply as the API
// server does), first through writeReports in-process, then through the built CLI against a
// cluster with one stale pod and a registry that wants the pod's pull secret.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AuditError } from '../../src/audit/audit-error.js';
import { KubeApi } from '../../src/audit/kube-api.js';
import { endpointAgent, kubeconfigEndpoint } from '../../src/cluster/kube-endpoint.js';
import type { Report } from '../../src/audit/policy-report.js';
import { buildStaleReports, STALE_REPORT_NAME } from '../../src/audit/stale-report.js';
import type { StaleFinding } from '../../src/audit/stale.js';
import { writeReports } from '../../src/audit/write-reports.js';
import { FakeKubeRest, liveObject, type RecordedRequest } from '../helpers/fake-kube-rest.js';
import { runCli as pullfix } from '../helpers/run-cli.js';
import { populateStale, type StaleCluster } from '../helpers/stale-cluster.js';

const NOW = new Date('2025-06-02T10:00:00Z');
const PATH = (ns: string): string => `/apis/openreports.io/v1alpha1/namespaces/${ns}/reports/${STALE_REPORT_NAME}`;

const finding: StaleFinding = {
  type: 'stale',
  namespace: 'shop',
  kind: 'Deployment',
  name: 'web',
  pod: 'web-7c9d8-x2x4z',
  container: 'web',
  image: 'registry.example.com/shop/web:dev',
  runningDigest: `sha256:${'1'.repeat(64)}`,
  currentDigest: `sha256:${'2'.repeat(64)}`,
  imagePullPolicy: 'Always',
  pullsOnRestart: true,
};

/** The object as stored, less what the API server adds (uid, resourceVersion, managedFields...). */
function applied(api: FakeKubeRest, namespace: string): unknown {
  const stored = api.get('Report', namespace, STALE_REPORT_NAME);
  if (!stored) return undefined;
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, managedFields: _m, ...metadata } = stored.metadata;
  return { apiVersion: 'openreports.io/v1alpha1', kind: 'Report', ...stored, metadata };
}

const patches = (api: FakeKubeRest): RecordedRequest[] => api.requests.filter((r) => r.method === 'PATCH');

describe('writeReports: server-side apply of the stale Reports', () => {
  let api: FakeKubeRest;
  let kube: KubeApi;
  let dir: string;
  const reports = (): Report[] => buildStaleReports(['shop', 'quiet'], [finding], NOW);

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-write-reports-'));
    api = await FakeKubeRest.start();
    api.addNamespace('shop');
    api.addNamespace('quiet');
    const endpoint = kubeconfigEndpoint(api.writeKubeconfig(dir));
    kube = new KubeApi(endpoint, endpointAgent(endpoint, { keepAlive: true }));
  });
  afterEach(async () => {
    kube.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('PATCHes each Report as apply-patch+yaml with fieldManager=pullfix and force, the body the Report printed', async () => {
    const outcomes = await writeReports(kube, reports(), undefined);
    expect(outcomes).to.deep.equal([
      { namespace: 'shop', name: STALE_REPORT_NAME, outcome: 'applied', dryRun: false },
      { namespace: 'quiet', name: STALE_REPORT_NAME, outcome: 'applied', dryRun: false },
    ]);
    expect(api.requests).to.deep.equal(
      reports().map((r) => ({
        method: 'PATCH',
        path: PATH(r.metadata.namespace),
        query: { fieldManager: 'pullfix', force: 'true' },
        contentType: 'application/apply-patch+yaml',
        authorization: 'Bearer fake-token',
        body: r,
      })),
    );
    expect(applied(api, 'shop')).to.deep.equal(reports()[0]);
    expect(api.get('Report', 'shop', STALE_REPORT_NAME)?.metadata.managedFields[0]).to.include({ manager: 'pullfix', operation: 'Apply' });
  });

  it('a namespace with nothing stale gets an empty Report: it replaces the last run\'s failures', async () => {
    await writeReports(kube, reports(), undefined);
    expect(applied(api, 'shop')).to.deep.include({ summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 } });
    expect(applied(api, 'quiet')).to.deep.include({ summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 }, results: [] });
    await writeReports(kube, buildStaleReports(['shop'], [], NOW), undefined);
    expect(applied(api, 'shop')).to.deep.include({ summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 }, results: [] });
  });

  it('dry run: dryRun=All, nothing stored', async () => {
    const outcomes = await writeReports(kube, reports(), 'server');
    expect(outcomes.map((o) => o.dryRun)).to.deep.equal([true, true]);
    expect(api.requests.map((r) => r.query)).to.deep.equal([
      { fieldManager: 'pullfix', force: 'true', dryRun: 'All' },
      { fieldManager: 'pullfix', force: 'true', dryRun: 'All' },
    ]);
    expect(api.get('Report', 'shop', STALE_REPORT_NAME)).to.equal(undefined);
  });

  const forbidden = `cannot write Report ${STALE_REPORT_NAME} in namespace shop: forbidden: x needs create and patch on reports.openreports.io (name ${STALE_REPORT_NAME}) in namespace shop`;
  it('403 on patch: names the namespace, the user and the permission; still writes the other namespaces', async () => {
    api.deny({ verb: 'patch', plural: 'reports', namespace: 'shop' });
    const outcomes = await writeReports(kube, reports(), undefined);
    expect(outcomes).to.deep.equal([
      { namespace: 'shop', name: STALE_REPORT_NAME, outcome: 'failed', dryRun: false, reason: forbidden },
      { namespace: 'quiet', name: STALE_REPORT_NAME, outcome: 'applied', dryRun: false },
    ]);
    expect(applied(api, 'quiet')).to.not.equal(undefined);
  });

  it('403 on create (the first apply creates the Report): the same message', async () => {
    api.deny({ verb: 'create', plural: 'reports', namespace: 'shop' });
    expect((await writeReports(kube, reports(), undefined))[0]?.reason).to.equal(forbidden);
    // Once it exists, patch alone is enough.
    api.addObject(reports()[0] as unknown as Record<string, unknown>);
    expect((await writeReports(kube, reports(), undefined))[0]?.outcome).to.equal('applied');
  });

  it('404 (no Report CRD): an AuditError saying to install it, after one request', async () => {
    api.removeResource('reports');
    const err = await writeReports(kube, reports(), undefined).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AuditError);
    expect((err as AuditError).message).to.equal(
      `cannot write Report ${STALE_REPORT_NAME} in namespace shop: the API server has no reports.openreports.io: install the openreports.io Report CRD (Kyverno 1.15 and later, or the openreports chart, installs it), or leave out --write-reports`,
    );
    expect(api.requests).to.have.length(1);
  });

  it('a namespace deleted since the audit read it: skipped, not an error', async () => {
    const outcomes = await writeReports(kube, buildStaleReports(['gone', 'quiet'], [], NOW), undefined);
    expect(outcomes.map((o) => o.outcome)).to.deep.equal(['namespace gone', 'applied']);
  });

  it('an unreachable API server: an AuditError, and no credential in it', async () => {
    await api.close();
    const err = (await writeReports(kube, reports(), undefined).catch((e: unknown) => e)) as AuditError;
    expect(err).to.be.instanceOf(AuditError);
    expect(err.message).to.match(new RegExp(`^cannot write Report ${STALE_REPORT_NAME} in namespace shop: cannot reach the Kubernetes API at http://127\\.0\\.0\\.1:\\d+: connection refused \\(ECONNREFUSED\\)$`));
    expect(err.message).to.not.contain('fake-token');
  });
});

describe('pullfix audit --stale -o report --write-reports', function () {
  this.timeout(30_000);
  let api: FakeKubeRest;
  let cluster: StaleCluster;
  let dir: string;
  let env: Record<string, string>;
  const args = (...extra: string[]): string[] => ['audit', '--stale', '-n', 'shop', '-n', 'quiet', '-o', 'report', '--write-reports', '--insecure-registry', cluster.registry.host, ...extra];

  beforeEach(async () => {
    api = await FakeKubeRest.start();
    cluster = await populateStale(api);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-write-reports-'));
    env = { KUBECONFIG: api.writeKubeconfig(dir) };
  });
  afterEach(async () => {
    await api.close();
    await cluster.registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the Reports it prints, one per namespace named, and reads only those namespaces', async () => {
    const run = await pullfix(args(), env);
    expect(run.status).to.equal(1);
    const printed = parseAllDocuments(run.stdout).map((d) => d.toJS() as Report);
    expect(printed.map((r) => `${r.metadata.namespace} ${r.summary.fail}`)).to.deep.equal(['shop 1', 'quiet 0']);
    expect(applied(api, 'shop')).to.deep.equal(printed[0]);
    expect(applied(api, 'quiet')).to.deep.equal(printed[1]);
    expect(patches(api).map((p) => `${p.path} ${p.contentType}`)).to.deep.equal([`${PATH('shop')} application/apply-patch+yaml`, `${PATH('quiet')} application/apply-patch+yaml`]);
    expect(run.stderr).to.contain(`pullfix: wrote Report ${STALE_REPORT_NAME} in 2 namespaces\n`);
    // -n: each namespace read by name (a Role there can allow it), never the list of all.
    const reads = api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces') && !r.path.includes('/', '/api/v1/namespaces/'.length));
    expect(reads.map((r) => r.path)).to.deep.equal(['/api/v1/namespaces/shop', '/api/v1/namespaces/quiet']);
  });

  it('the next run, nothing stale: the Report is emptied, exit 0', async () => {
    await pullfix(args(), env);
    cluster.rollBack();
    const run = await pullfix(args(), env);
    expect(run.status).to.equal(0);
    expect(applied(api, 'shop')).to.deep.include({ summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 }, results: [] });
  });

  it('--dry-run: dryRun=All, nothing stored', async () => {
    const run = await pullfix(args('--dry-run'), env);
    expect(patches(api).every((p) => p.query.dryRun === 'All')).to.equal(true);
    expect(patches(api)).to.have.length(2);
    expect(api.get('Report', 'shop', STALE_REPORT_NAME)).to.equal(undefined);
    expect(run.stderr).to.contain(`pullfix: would write (server dry run accepted) Report ${STALE_REPORT_NAME} in 2 namespaces\n`);
  });

  it('--dry-run=client: the Reports printed, the restarts planned from what was read, nothing written', async () => {
    const run = await pullfix([...args('--dry-run=client'), '--fix'], env);
    expect(api.requests.filter((r) => r.method !== 'GET')).to.deep.equal([]);
    expect(api.get('Report', 'shop', STALE_REPORT_NAME)).to.equal(undefined);
    expect(parseAllDocuments(run.stdout).map((d) => (d.toJS() as Report).metadata.namespace)).to.deep.equal(['shop', 'quiet']);
    expect(run.stderr).to.contain('pullfix: would restart Deployment shop/web (imagePullPolicy Always on web) (client dry run: not sent)\n');
    expect(run.stderr).to.contain(`pullfix: would write (client dry run: not sent) Report ${STALE_REPORT_NAME} in 2 namespaces\n`);
    expect(run.status).to.equal(1);
  });

  it('--progress: a line every 100 containers checked', async () => {
    const release = `${cluster.registry.host}/shop/web:1.0`;
    for (let i = 0; i < 120; i++) {
      const pod = liveObject('Pod', { namespace: 'quiet', name: `hello-${i}`, containers: [{ name: 'hello', image: release }] });
      pod.status = { ...pod.status, containerStatuses: [{ name: 'hello', image: release, imageID: `${cluster.registry.host}/shop/web@${cluster.build2}`, ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2025-06-02T09:14:30Z' } } }] };
      api.add(pod);
    }
    const run = await pullfix(args('--progress'), env);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('pullfix: checked'))).to.deep.equal(['pullfix: checked 100 containers']);
    const quiet = await pullfix(args(), env);
    expect(quiet.stderr).to.not.contain('pullfix: checked');
  });

  it('403 in one namespace: says so, writes the other, exits 2', async () => {
    api.deny({ verb: 'patch', plural: 'reports', namespace: 'shop' });
    const run = await pullfix(args(), env);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.contain(`pullfix: cannot write Report ${STALE_REPORT_NAME} in namespace shop: forbidden: x needs create and patch on reports.openreports.io (name ${STALE_REPORT_NAME}) in namespace shop\n`);
    expect(run.stderr).to.contain(`pullfix: wrote Report ${STALE_REPORT_NAME} in namespace quiet\n`);
    expect(run.stderr).to.not.contain('fake-token');
    expect(run.stderr).to.not.contain('s3cret');
  });

  it('no Report CRD: the Reports are still printed, the error says what to install, exit 2 (--exit-zero too)', async () => {
    api.removeResource('reports');
    for (const extra of [[], ['--exit-zero']]) {
      const run = await pullfix(args(...extra), env);
      expect(run.status).to.equal(2);
      expect(parseAllDocuments(run.stdout)).to.have.length(2);
      expect(run.stderr).to.equal(
        `pullfix: cannot write Report ${STALE_REPORT_NAME} in namespace shop: the API server has no reports.openreports.io: install the openreports.io Report CRD (Kyverno 1.15 and later, or the openreports chart, installs it), or leave out --write-reports\n`,
      );
    }
  });

  it('--exit-zero: exit 0 with stale findings (a CronJob\'s Job succeeds); the Reports carry them', async () => {
    const run = await pullfix(args('--exit-zero'), env);
    expect(run.status).to.equal(0);
    expect(applied(api, 'shop')).to.deep.include({ summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 } });
  });

  it('refuses --write-reports without -o report or without --stale, and -n twice without --stale, before any request', async () => {
    const cases: Array<[string[], string]> = [
      [['audit', '--stale', '-n', 'shop', '--write-reports'], 'pullfix: --write-reports goes with -o report: it applies the Report objects it prints\n'],
      [['audit', '--stale', '-n', 'shop', '-o', 'json', '--write-reports'], 'pullfix: --write-reports goes with -o report: it applies the Report objects it prints\n'],
      [['audit', '-n', 'shop', '-o', 'report', '--write-reports'], 'pullfix: --registry-config, --insecure-registry, --all-tags and --write-reports go with --stale\n'],
      [['audit', '-n', 'shop', '-n', 'quiet'], 'pullfix: --namespace is given once, except with --stale\n'],
      [['audit', '--stale', '-n', 'shop', '-A'], 'pullfix: --namespace and --all-namespaces cannot be used together\n'],
    ];
    for (const [argv, stderr] of cases) expect(await pullfix(argv, env), argv.join(' ')).to.deep.equal({ status: 2, stdout: '', stderr });
    expect(api.requests).to.deep.equal([]);
  });

  it('a namespace that does not exist, or one it may not read, is an error naming it', async () => {
    expect(await pullfix(['audit', '--stale', '-n', 'nope'], env)).to.deep.equal({ status: 2, stdout: '', stderr: 'pullfix: namespace "nope" not found\n' });
    api.deny({ verb: 'get', plural: 'namespaces', namespace: 'shop' });
    expect(await pullfix(['audit', '--stale', '-n', 'shop'], env)).to.deep.equal({ status: 2, stdout: '', stderr: 'pullfix: forbidden: cannot get namespaces shop (needs get on namespaces)\n' });
  });
});
