// `pullfix audit` end to end: the built CLI as a child process, KUBECONFIG pointing at a local
// stand-in for the API server (test/helpers/fake-kube-rest.ts) that answers as a real one.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Report } from '../../src/audit/policy-report.js';
import { FakeKubeRest, liveObject, type LiveOptions } from '../helpers/fake-kube-rest.js';
import { CLI, runCli as pullfix, runCommand } from '../helpers/run-cli.js';
import { spawn, spawnSync } from 'node:child_process';

function lines(...rows: string[]): string {
  return rows.map((r) => `${r}\n`).join('');
}

const owner = (kind: string, name: string): Record<string, unknown>[] => [
  { apiVersion: kind === 'CronJob' ? 'batch/v1' : 'apps/v1', kind, name, uid: '6c1b7f2e-0d4a-4b8e-9a57-2f1e0c9d8b7a', controller: true, blockOwnerDeletion: true },
];

function shop(name: string, rest: Omit<LiveOptions, 'namespace' | 'name'>): LiveOptions {
  return { namespace: 'shop', name, ...rest };
}

/** A cluster with one of each case: findings, explicit values, owned objects, opted-out namespaces. */
function populate(api: FakeKubeRest): void {
  api.addNamespace('shop', { 'pullfix.dev/mutable': 'Always' });
  api.addNamespace('quiet');
  api.addNamespace('legacy', { 'pullfix.dev/mode': 'off', 'pullfix.dev/mutable': 'Always' });
  api.addNamespace('kube-system', { 'pullfix.dev/mutable': 'Always' });

  // Defaulted IfNotPresent for a mutable tag; the sidecar's value was written by the user.
  api.add(liveObject('Deployment', shop('web', {
    containers: [
      { name: 'web', image: 'registry.example.com/shop/web:dev' },
      { name: 'log-shipper', image: 'fluent/fluent-bit:3.1', written: 'IfNotPresent' },
    ],
  })));
  // Written explicitly in the manifest: kept in mode default.
  api.add(liveObject('Deployment', shop('api', { containers: [{ name: 'api', image: 'registry.example.com/shop/api:main', written: 'IfNotPresent' }] })));
  // Labelled pullfix.dev/ignore: never reported.
  api.add(liveObject('Deployment', shop('ignored', { labels: { 'pullfix.dev/ignore': 'true' }, containers: [{ name: 'x', image: 'registry.example.com/x:dev' }] })));
  // Server-side applied: managedFields say the init container's policy was left to defaulting.
  api.add(liveObject('StatefulSet', shop('db', {
    applied: 'server-side',
    initContainers: [{ name: 'migrate', image: 'registry.example.com/shop/migrate:edge' }],
    containers: [{ name: 'db', image: 'postgres:16' }],
  })));
  // The classic mistake, kept in the last-applied annotation.
  api.add(liveObject('DaemonSet', shop('agent', { stray: 'Always', containers: [{ name: 'agent', image: 'registry.example.com/agent:1.4' }] })));
  // A ReplicaSet a Deployment owns is the Deployment's business; a bare one is audited.
  api.add(liveObject('ReplicaSet', shop('web-7c9d8', { ownerReferences: owner('Deployment', 'web'), containers: [{ name: 'web', image: 'registry.example.com/shop/web:dev' }] })));
  api.add(liveObject('ReplicaSet', shop('runner', { applied: 'create', containers: [{ name: 'runner', image: 'registry.example.com/runner:canary' }] })));
  // No tag: defaulted Always already.
  api.add(liveObject('ReplicationController', shop('legacy-rc', { containers: [{ name: 'nginx', image: 'nginx' }] })));
  api.add(liveObject('Job', shop('migrate-once', { containers: [{ name: 'migrate', image: 'registry.example.com/shop/migrate:dev' }] })));
  api.add(liveObject('Job', shop('report-28391', { ownerReferences: owner('CronJob', 'report'), containers: [{ name: 'report', image: 'registry.example.com/report:nightly' }] })));
  api.add(liveObject('CronJob', shop('report', { containers: [{ name: 'report', image: 'registry.example.com/report:nightly' }] })));
  api.add(liveObject('Pod', shop('debug', { containers: [{ name: 'shell', image: 'busybox:dev' }] })));
  api.add(liveObject('Pod', shop('web-7c9d8-x2x4z', { ownerReferences: owner('ReplicaSet', 'web-7c9d8'), containers: [{ name: 'web', image: 'registry.example.com/shop/web:dev' }] })));
  api.add(liveObject('PodTemplate', shop('worker', { containers: [{ name: 'worker', image: 'registry.example.com/worker:main' }] })));

  api.add(liveObject('Deployment', { namespace: 'quiet', name: 'hello', containers: [{ name: 'hello', image: 'nginx:1.27' }] }));
  api.add(liveObject('Deployment', { namespace: 'legacy', name: 'old', containers: [{ name: 'old', image: 'registry.example.com/old:dev' }] }));
  api.add(liveObject('Deployment', { namespace: 'kube-system', name: 'coredns', containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:dev' }] }));
}

const SHOP_TABLE = lines(
  'NAMESPACE   KIND          NAME           CONTAINER   CURRENT        WANTED   REASON',
  'shop        Deployment    web            web         IfNotPresent   Always   namespace policy for mutable images',
  'shop        StatefulSet   db             migrate     IfNotPresent   Always   namespace policy for mutable images',
  'shop        DaemonSet     agent          agent       IfNotPresent   Always   moved from pod level',
  'shop        DaemonSet     agent          -           Always         -        pod-level imagePullPolicy in the last-applied manifest: fix the manifest (pullfix fix)',
  'shop        ReplicaSet    runner         runner      IfNotPresent   Always   namespace policy for mutable images',
  'shop        Job           migrate-once   migrate     IfNotPresent   Always   namespace policy for mutable images (Job template is immutable: re-create the Job)',
  'shop        CronJob       report         report      IfNotPresent   Always   namespace policy for mutable images',
  'shop        Pod           debug          shell       IfNotPresent   Always   namespace policy for mutable images (Pod is immutable: re-create it)',
  'shop        PodTemplate   worker         worker      IfNotPresent   Always   namespace policy for mutable images',
);

const KINDS_PATHS = [
  '/apis/apps/v1/namespaces/shop/deployments',
  '/apis/apps/v1/namespaces/shop/statefulsets',
  '/apis/apps/v1/namespaces/shop/daemonsets',
  '/apis/apps/v1/namespaces/shop/replicasets',
  '/api/v1/namespaces/shop/replicationcontrollers',
  '/apis/batch/v1/namespaces/shop/jobs',
  '/apis/batch/v1/namespaces/shop/cronjobs',
  '/api/v1/namespaces/shop/pods',
  '/api/v1/namespaces/shop/podtemplates',
];

describe('pullfix audit', function () {
  this.timeout(30_000);
  let api: FakeKubeRest;
  let dir: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    api = await FakeKubeRest.start();
    populate(api);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-audit-'));
    env = { KUBECONFIG: api.writeKubeconfig(dir, { namespace: 'shop' }) };
  });

  afterEach(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('findings', () => {
    it("lists the context namespace's findings as an aligned table and exits 1", async () => {
      const run = await pullfix(['audit'], env);
      expect(run.stdout).to.equal(SHOP_TABLE);
      expect(run.stderr).to.equal('pullfix: 9 findings in 14 objects (namespace shop)\n');
      expect(run.status).to.equal(1);
    });

    it('reads Namespaces, then lists every kind in the namespace, with the kubeconfig token', async () => {
      await pullfix(['audit', '--namespace', 'shop'], env);
      const gets = api.requests.filter((r) => r.method === 'GET');
      expect(gets.map((r) => r.path)).to.deep.equal(['/api/v1/namespaces', ...KINDS_PATHS]);
      expect(gets.every((r) => r.query.limit === '500' && r.authorization === 'Bearer fake-token')).to.equal(true);
    });

    it('-o yaml prints the AuditReport of -o json, as kubectl -o yaml does', async () => {
      const json = await pullfix(['audit', '-n', 'shop', '--fix', '--dry-run=client', '-o', 'json'], env);
      const yaml = await pullfix(['audit', '-n', 'shop', '--fix', '--dry-run=client', '-o', 'yaml'], env);
      expect(yaml.status).to.equal(1);
      expect(yaml.stdout).to.match(/^apiVersion: pullfix.dev\/v1alpha1\nkind: AuditReport\n/);
      expect(parseAllDocuments(yaml.stdout).map((d) => d.toJS())).to.deep.equal([JSON.parse(json.stdout)]);
    });

    it('prints the same findings as JSON', async () => {
      const run = await pullfix(['audit', '-n', 'shop', '-o', 'json'], env);
      expect(run.status).to.equal(1);
      expect(run.stderr).to.equal('');
      const report = JSON.parse(run.stdout);
      expect(report).to.include({ apiVersion: 'pullfix.dev/v1alpha1', kind: 'AuditReport', context: 'fake', checked: 14 });
      expect(report.namespaces).to.deep.equal(['shop']);
      expect(report.warnings).to.deep.equal([]);
      expect(report.findings).to.have.length(9);
      expect(report.findings[0]).to.deep.equal({
        namespace: 'shop',
        kind: 'Deployment',
        apiVersion: 'apps/v1',
        name: 'web',
        container: 'web',
        containerList: 'containers',
        rule: 'namespace-policy',
        fieldPath: 'spec.template.spec.containers{web}.imagePullPolicy',
        current: 'IfNotPresent',
        wanted: 'Always',
        reason: 'namespace policy for mutable images',
        patchable: true,
      });
      expect(report.findings[1]).to.include({
        kind: 'StatefulSet',
        container: 'migrate',
        containerList: 'initContainers',
        fieldPath: 'spec.template.spec.initContainers{migrate}.imagePullPolicy',
      });
      expect(report.findings[3]).to.deep.equal({
        namespace: 'shop',
        kind: 'DaemonSet',
        apiVersion: 'apps/v1',
        name: 'agent',
        container: null,
        rule: 'pod-level-field',
        fieldPath: 'spec.template.spec.imagePullPolicy',
        current: 'Always',
        wanted: null,
        reason: 'pod-level imagePullPolicy in the last-applied manifest: fix the manifest (pullfix fix)',
        patchable: false,
      });
      expect(report.findings.filter((f: { patchable: boolean }) => !f.patchable).map((f: { kind: string }) => f.kind)).to.deep.equal(['DaemonSet', 'Job', 'Pod']);
    });

    it('-o report: one openreports.io/v1alpha1 Report per namespace, fail, pass and skip results on the objects read', async () => {
      const run = await pullfix(['audit', '-A', '-o', 'report'], env);
      expect(run.status).to.equal(1);
      const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Report);
      // -A leaves out kube-system, as the webhook does; legacy (mode off) and quiet are reported.
      expect(docs.map((r) => `${r.apiVersion} ${r.kind} ${r.metadata.namespace}/${r.metadata.name}`)).to.deep.equal([
        'openreports.io/v1alpha1 Report legacy/pullfix-audit',
        'openreports.io/v1alpha1 Report quiet/pullfix-audit',
        'openreports.io/v1alpha1 Report shop/pullfix-audit',
      ]);
      const [legacy, quiet, shopReport] = docs as [Report, Report, Report];
      expect(legacy.results.map((r) => `${r.result} ${r.resources[0]?.name}: ${r.message}`)).to.deep.equal(['skip old: not checked: mode off']);
      expect(quiet.summary).to.deep.equal({ pass: 2, fail: 0, warn: 0, error: 0, skip: 0 });
      // The table's nine findings are the shop report's nine failures.
      const fails = shopReport.results.filter((r) => r.result === 'fail');
      expect(fails).to.have.length(9);
      expect(shopReport.summary.fail).to.equal(9);
      expect(shopReport.summary.pass + shopReport.summary.fail + shopReport.summary.skip).to.equal(shopReport.results.length);
      const web = api.get('Deployment', 'shop', 'web') as { metadata: { uid: string } };
      expect(fails[0]).to.deep.include({
        source: 'pullfix',
        policy: 'pullfix',
        rule: 'namespace-policy',
        result: 'fail',
        severity: 'medium',
        scored: true,
        category: 'Image pull policy',
        message: 'container "web": imagePullPolicy is IfNotPresent, wants Always: namespace policy for mutable images',
        resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web', uid: web.metadata.uid, fieldPath: 'spec.template.spec.containers{web}.imagePullPolicy' }],
        properties: { container: 'web', containerList: 'containers', current: 'IfNotPresent', wanted: 'Always', fix: 'pullfix audit --fix' },
      });
      const agentField = fails.find((r) => r.rule === 'pod-level-field' && r.properties?.['container'] === undefined);
      expect(agentField?.message).to.equal('pod-level imagePullPolicy Always in the last-applied manifest: fix the manifest (pullfix fix)');
      // Each Report is about its namespace; its results name their objects.
      expect(docs.map((r) => r.scope)).to.deep.equal(['legacy', 'quiet', 'shop'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', name })));
      // No anchors or aliases (the results share one timestamp object): plain YAML any reader follows.
      expect(run.stdout).to.not.match(/[&*]a\d/);
      expect(parseAllDocuments(run.stdout).every((d) => !JSON.stringify(d.contents).includes('"alias"'))).to.equal(true);
      // No message says the same words twice.
      for (const r of shopReport.results) expect(r.message, r.message).to.not.match(/(\b\w[\w-]* \w+\b).*\b\1\b/);
      expect(agentField?.properties?.['fix']).to.equal('pullfix fix on the manifest');
      // Clean objects pass each rule; objects a controller owns are their owner's business.
      const api1 = shopReport.results.filter((r) => r.resources[0]?.name === 'api');
      expect(api1.map((r) => `${r.rule} ${r.result}`)).to.deep.equal(['namespace-policy pass', 'pod-level-field pass']);
      expect(shopReport.results.some((r) => r.resources[0]?.name === 'web-7c9d8')).to.equal(false);
      expect(shopReport.results.filter((r) => r.resources[0]?.name === 'ignored').map((r) => r.message)).to.deep.equal(['not checked: labelled pullfix.dev/ignore=true']);
    });

    it('-o report after --fix: what the patches resolved passes, what is left fails', async () => {
      const run = await pullfix(['audit', '-n', 'shop', '--fix', '-o', 'report'], env);
      expect(run.status).to.equal(1);
      const [report] = parseAllDocuments(run.stdout).map((d) => d.toJS() as Report);
      const web = report?.results.find((r) => r.resources[0]?.name === 'web' && r.rule === 'namespace-policy');
      expect(web).to.deep.include({ result: 'pass', message: 'container "web": imagePullPolicy is IfNotPresent, wants Always: namespace policy for mutable images (patched)' });
      expect(web?.properties?.['fix']).to.equal('patched by pullfix audit --fix');
      // Pods, Jobs and the manifest's stray field cannot be patched: still failures.
      expect(report?.results.filter((r) => r.result === 'fail').map((r) => `${r.resources[0]?.kind}/${r.resources[0]?.name}`)).to.deep.equal(['DaemonSet/agent', 'Job/migrate-once', 'Pod/debug']);
    });

    it('--exit-zero: the same findings, exit 0; errors still exit 2', async () => {
      const run = await pullfix(['audit', '--exit-zero'], env);
      expect(run).to.deep.equal({ status: 0, stdout: SHOP_TABLE, stderr: 'pullfix: 9 findings in 14 objects (namespace shop)\n' });
      api.deny({ verb: 'list', plural: 'pods', namespace: 'shop' });
      expect((await pullfix(['audit', '--exit-zero'], env)).status).to.equal(2);
    });

    it('exits 0 with nothing on stdout for a clean namespace', async () => {
      const run = await pullfix(['audit', '-n', 'quiet'], env);
      expect(run).to.deep.equal({ status: 0, stdout: '', stderr: 'pullfix: no findings in 1 object (namespace quiet)\n' });
    });

    it('reports nothing in a namespace labelled pullfix.dev/mode=off', async () => {
      const run = await pullfix(['audit', '-n', 'legacy', '-o', 'json'], env);
      expect(run.status).to.equal(0);
      expect(JSON.parse(run.stdout).findings).to.deep.equal([]);
    });

    it('uses the "default" namespace when the context names none', async () => {
      api.addNamespace('default');
      const run = await pullfix(['audit'], { KUBECONFIG: api.writeKubeconfig(dir) });
      expect(run.status).to.equal(0);
      expect(api.requests.slice(1).every((r) => r.path.includes('/namespaces/default/'))).to.equal(true);
    });

    it('--all-namespaces lists each kind cluster-wide and leaves out the namespaces the webhook does not serve', async () => {
      const run = await pullfix(['audit', '--all-namespaces'], env);
      expect(run.status).to.equal(1);
      expect(run.stdout).to.equal(SHOP_TABLE);
      expect(run.stderr).to.equal('pullfix: 9 findings in 16 objects (3 namespaces)\n');
      expect(api.requests.map((r) => r.path)).to.deep.equal(['/api/v1/namespaces', ...KINDS_PATHS.map((p) => p.replace('/namespaces/shop', ''))]);
    });

    it('--namespace kube-system audits it when asked by name', async () => {
      const run = await pullfix(['audit', '-n', 'kube-system', '-o', 'json'], env);
      expect(run.status).to.equal(1);
      expect(JSON.parse(run.stdout).findings.map((f: { name: string }) => f.name)).to.deep.equal(['coredns']);
    });

    it('reports invalid namespace labels once, as warnings', async () => {
      api.addNamespace('quiet', { 'pullfix.dev/mutable': 'always' });
      const run = await pullfix(['audit', '-n', 'quiet'], env);
      expect(run.stderr).to.equal(
        lines(
          'pullfix: warning: namespace quiet label pullfix.dev/mutable="always" is not one of Always, IfNotPresent, Never; ignored',
          'pullfix: no findings in 1 object (namespace quiet)',
        ),
      );
    });

    it('reads large collections page by page and shows progress every 100 objects with --progress', async () => {
      for (let i = 0; i < 1234; i++) {
        const name = `svc-${String(i).padStart(4, '0')}`;
        api.add(liveObject('Deployment', { namespace: 'quiet', name, containers: [{ name: 'app', image: `registry.example.com/${name}:1.0` }] }));
      }
      const run = await pullfix(['audit', '-n', 'quiet', '--progress'], env);
      expect(run.status).to.equal(0);
      const deploymentPages = api.requests.filter((r) => r.path === '/apis/apps/v1/namespaces/quiet/deployments');
      expect(deploymentPages.map((r) => r.query.continue === undefined)).to.deep.equal([true, false, false]);
      const progress = run.stderr.split('\n').filter((l) => l.includes('checked'));
      expect(progress).to.have.length(12);
      expect(progress[0]).to.equal('pullfix: checked 100 objects, 0 findings so far');
      expect(run.stderr).to.match(/no findings in 1235 objects \(namespace quiet\)\n$/);
    });

    it('shows progress by itself when stderr is a terminal (a real pty, from script(1))', async function () {
      if (spawnSync('script', ['--version'], { stdio: 'ignore' }).status !== 0) return this.skip();
      for (let i = 0; i < 150; i++) api.add(liveObject('Pod', { namespace: 'quiet', name: `p-${i}`, containers: [{ name: 'a', image: 'nginx:1.27' }] }));
      const command = [process.execPath, CLI, 'audit', '-n', 'quiet'].map((a) => `'${a}'`).join(' ');
      const run = await runCommand('script', ['-q', '-e', '-c', command, '/dev/null'], env);
      expect(run.stdout.replace(/\r\n/g, '\n')).to.equal('pullfix: checked 100 objects, 0 findings so far\npullfix: no findings in 151 objects (namespace quiet)\n');
      expect(run.status).to.equal(0);
    });

    it('prints no progress when stderr is not a terminal and --progress is not given', async () => {
      for (let i = 0; i < 150; i++) api.add(liveObject('Pod', { namespace: 'quiet', name: `p-${i}`, containers: [{ name: 'a', image: 'nginx:1.27' }] }));
      const run = await pullfix(['audit', '-n', 'quiet'], env);
      expect(run.stderr).to.equal('pullfix: no findings in 151 objects (namespace quiet)\n');
    });
  });

  describe('--fix', () => {
    const webPatch = (rv: string): unknown[] => [
      { op: 'test', path: '/metadata/resourceVersion', value: rv },
      { op: 'replace', path: '/spec/template/spec/containers/0/imagePullPolicy', value: 'Always' },
      { op: 'add', path: '/metadata/annotations/pullfix.dev~1changes', value: 'containers[web]: IfNotPresent->Always (policy mutable)' },
    ];

    it('sends one JSON patch per workload template, only the engine pull-policy ops, and never patches Pods or Jobs', async () => {
      const rv = (kind: string, name: string): string => api.get(kind, 'shop', name)?.metadata.resourceVersion;
      const expected = [
        { path: '/apis/apps/v1/namespaces/shop/deployments/web', body: webPatch(rv('Deployment', 'web')) },
        {
          path: '/apis/apps/v1/namespaces/shop/statefulsets/db',
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: rv('StatefulSet', 'db') },
            { op: 'replace', path: '/spec/template/spec/initContainers/0/imagePullPolicy', value: 'Always' },
            // Server-side applied: no annotations at all until now.
            { op: 'add', path: '/metadata/annotations', value: { 'pullfix.dev/changes': 'initContainers[migrate]: IfNotPresent->Always (policy mutable)' } },
          ],
        },
        {
          path: '/apis/apps/v1/namespaces/shop/daemonsets/agent',
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: rv('DaemonSet', 'agent') },
            { op: 'replace', path: '/spec/template/spec/containers/0/imagePullPolicy', value: 'Always' },
            { op: 'add', path: '/metadata/annotations/pullfix.dev~1changes', value: 'containers[agent]: IfNotPresent->Always (pod-level value)' },
          ],
        },
        {
          path: '/apis/apps/v1/namespaces/shop/replicasets/runner',
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: rv('ReplicaSet', 'runner') },
            { op: 'replace', path: '/spec/template/spec/containers/0/imagePullPolicy', value: 'Always' },
            { op: 'add', path: '/metadata/annotations', value: { 'pullfix.dev/changes': 'containers[runner]: IfNotPresent->Always (policy mutable)' } },
          ],
        },
        {
          path: '/apis/batch/v1/namespaces/shop/cronjobs/report',
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: rv('CronJob', 'report') },
            { op: 'replace', path: '/spec/jobTemplate/spec/template/spec/containers/0/imagePullPolicy', value: 'Always' },
            { op: 'add', path: '/metadata/annotations/pullfix.dev~1changes', value: 'containers[report]: IfNotPresent->Always (policy mutable)' },
          ],
        },
        {
          path: '/api/v1/namespaces/shop/podtemplates/worker',
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: rv('PodTemplate', 'worker') },
            { op: 'replace', path: '/template/spec/containers/0/imagePullPolicy', value: 'Always' },
            { op: 'add', path: '/metadata/annotations/pullfix.dev~1changes', value: 'containers[worker]: IfNotPresent->Always (policy mutable)' },
          ],
        },
      ];
      const run = await pullfix(['audit', '--fix'], env);
      expect(api.patches().map((p) => ({ path: p.path, body: p.body }))).to.deep.equal(expected);
      expect(api.patches().every((p) => p.contentType === 'application/json-patch+json' && Object.keys(p.query).length === 0)).to.equal(true);
      expect(run.stdout).to.equal(SHOP_TABLE);
      expect(run.stderr).to.equal(
        lines(
          'pullfix: patched Deployment shop/web',
          'pullfix: patched StatefulSet shop/db',
          'pullfix: patched DaemonSet shop/agent',
          'pullfix: patched ReplicaSet shop/runner',
          'pullfix: patched CronJob shop/report',
          'pullfix: patched PodTemplate shop/worker',
          'pullfix: 9 findings in 14 objects (namespace shop), 3 findings left',
        ),
      );
      // The Job, the Pod and the manifest's stray field are left for the user.
      expect(run.status).to.equal(1);
      const web = api.get('Deployment', 'shop', 'web');
      expect(web?.spec.template.spec.containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy)).to.deep.equal(['Always', 'IfNotPresent']);
      expect(web?.metadata.generation).to.equal(2);
    });

    it('finds nothing left to patch on a second run', async () => {
      await pullfix(['audit', '--fix'], env);
      const before = api.patches().length;
      const run = await pullfix(['audit', '-o', 'json'], env);
      expect(api.patches().length).to.equal(before);
      expect(JSON.parse(run.stdout).findings.map((f: { kind: string; name: string }) => `${f.kind}/${f.name}`)).to.deep.equal([
        'DaemonSet/agent',
        'Job/migrate-once',
        'Pod/debug',
      ]);
    });

    it('exits 0 when every finding was patched', async () => {
      const run = await pullfix(['audit', '-n', 'kube-system', '--fix'], env);
      expect(run.status).to.equal(0);
      expect(api.patches().map((p) => p.path)).to.deep.equal(['/apis/apps/v1/namespaces/kube-system/deployments/coredns']);
    });

    it('--dry-run sends the same patches with dryRun=All and changes nothing', async () => {
      const before = structuredClone(api.get('Deployment', 'shop', 'web'));
      const run = await pullfix(['audit', '--fix', '--dry-run', '-o', 'json'], env);
      expect(api.patches()).to.have.length(6);
      expect(api.patches().every((p) => p.query.dryRun === 'All')).to.equal(true);
      expect(api.patches()[0]?.body).to.deep.equal(webPatch(before?.metadata.resourceVersion));
      expect(api.get('Deployment', 'shop', 'web')).to.deep.equal(before);
      const report = JSON.parse(run.stdout);
      expect(report.patches[0]).to.deep.include({ namespace: 'shop', kind: 'Deployment', name: 'web', dryRun: true, outcome: 'patched' });
      // Nothing was changed, so every finding is still there.
      expect(run.status).to.equal(1);
    });

    it('refuses --dry-run without --fix', async () => {
      const run = await pullfix(['audit', '--dry-run'], env);
      expect(run).to.deep.equal({
        status: 2,
        stdout: '',
        stderr: 'pullfix: --dry-run: nothing to send without --fix; add --fix (server: the API server checks the patches with dryRun=All; client: they are printed, not sent)\n',
      });
      expect(api.requests).to.deep.equal([]);
    });

    it('--dry-run=server is the bare --dry-run: dryRun=All on every patch', async () => {
      const run = await pullfix(['audit', '--fix', '--dry-run=server'], env);
      expect(api.patches()).to.have.length(6);
      expect(api.patches().every((p) => p.query.dryRun === 'All')).to.equal(true);
      expect(run.stderr).to.include('pullfix: would patch Deployment shop/web (server dry run accepted)\n');
      expect(run.status).to.equal(1);
    });

    it('--dry-run=client computes the patches and sends none: only the reads reach the API server', async () => {
      const before = structuredClone(api.get('Deployment', 'shop', 'web'));
      const run = await pullfix(['audit', '--fix', '--dry-run=client', '-o', 'json'], env);
      expect(api.requests.filter((r) => r.method !== 'GET')).to.deep.equal([]);
      expect(api.get('Deployment', 'shop', 'web')).to.deep.equal(before);
      const report = JSON.parse(run.stdout);
      expect(report.patches).to.have.length(6);
      expect(report.patches[0]).to.deep.include({ kind: 'Deployment', name: 'web', dryRun: true, sent: false, outcome: 'patched' });
      expect(report.patches[0].patch).to.deep.equal(webPatch(before?.metadata.resourceVersion));
      expect(run.status).to.equal(1);
      const table = await pullfix(['audit', '--fix', '--dry-run=client'], env);
      expect(table.stderr).to.include('pullfix: would patch Deployment shop/web (client dry run: not sent)\n');
      expect(api.requests.filter((r) => r.method !== 'GET')).to.deep.equal([]);
    });

    it('--dry-run=none is no dry run; another mode is a usage error naming the flag', async () => {
      const bad = await pullfix(['audit', '--fix', '--dry-run=maybe'], env);
      expect(bad).to.deep.equal({
        status: 2,
        stdout: '',
        stderr: 'pullfix: --dry-run=maybe: not a dry-run mode; use --dry-run=server (the API server checks, stores nothing), --dry-run=client (print, send nothing) or none\n',
      });
      expect(api.requests).to.deep.equal([]);
      await pullfix(['audit', '--fix', '--dry-run=none'], env);
      expect(api.patches()).to.have.length(6);
      expect(api.patches().every((p) => p.query.dryRun === undefined)).to.equal(true);
    });

    it('reports a forbidden patch with the permission it needs, patches the rest, and exits 2', async () => {
      api.deny({ verb: 'patch', plural: 'cronjobs', namespace: 'shop' });
      const run = await pullfix(['audit', '--fix'], env);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.include('pullfix: not patched: forbidden: cannot patch cronjobs.batch report in namespace shop (needs patch on cronjobs.batch)\n');
      expect(run.stderr).to.include('pullfix: patched PodTemplate shop/worker\n');
    });

    it('does not patch an object that changed since it was read (the resourceVersion test fails)', async () => {
      api.onPatch = (kind, namespace, name) => {
        if (kind === 'Deployment') api.touch(kind, namespace, name);
      };
      const run = await pullfix(['audit', '--fix'], env);
      expect(run.stderr).to.include('pullfix: not patched: conflict: deployments.apps web in namespace shop changed since it was read; run the audit again\n');
      expect(run.stderr).to.include('pullfix: patched StatefulSet shop/db\n');
      expect(api.get('Deployment', 'shop', 'web')?.spec.template.spec.containers[0].imagePullPolicy).to.equal('IfNotPresent');
      expect(run.status).to.equal(2);
    });
  });

  describe("kubectl's flags: --kubeconfig, --context", () => {
    /** A kubeconfig whose current context points at a port nothing listens on, and a `fake` one. */
    async function twoContexts(): Promise<string> {
      const file = path.join(dir, 'two-contexts');
      const dead = `http://127.0.0.1:${await freePort()}`;
      writeFileSync(
        file,
        [
          'current-context: dead',
          'contexts:',
          '- {name: dead, context: {cluster: dead, user: x}}',
          '- {name: fake, context: {cluster: fake, user: x, namespace: shop}}',
          `clusters: [{name: dead, cluster: {server: "${dead}"}}, {name: fake, cluster: {server: "${api.url}"}}]`,
          'users: [{name: x, user: {token: fake-token}}]',
        ].join('\n'),
      );
      return file;
    }

    it('--kubeconfig FILE --context NAME: that file (not KUBECONFIG), that context and its namespace', async () => {
      const file = await twoContexts();
      const run = await pullfix(['audit', '--kubeconfig', file, '--context', 'fake'], { KUBECONFIG: path.join(dir, 'does-not-exist') });
      expect(run).to.deep.equal({ status: 1, stdout: SHOP_TABLE, stderr: 'pullfix: 9 findings in 14 objects (namespace shop)\n' });
      const json = await pullfix(['audit', '--context=fake', '-o', 'json'], { KUBECONFIG: file });
      expect(JSON.parse(json.stdout).context).to.equal('fake');
      // Without --context, the current one: its server is down.
      const dead = await pullfix(['audit', '--kubeconfig', file], {});
      expect(dead.status).to.equal(2);
      expect(dead.stderr).to.match(/^pullfix: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)\n$/);
    });

    it('an unknown --context or a missing --kubeconfig: one line naming it, exit 2, no request', async () => {
      const file = await twoContexts();
      const unknown = await pullfix(['audit', '--kubeconfig', file, '--context', 'prod'], {});
      expect(unknown).to.deep.equal({ status: 2, stdout: '', stderr: `pullfix: kubeconfig ${file}: context "prod" (--context) is not defined; contexts: dead, fake\n` });
      const missing = await pullfix(['audit', '--kubeconfig', path.join(dir, 'nope')], env);
      expect(missing).to.deep.equal({ status: 2, stdout: '', stderr: `pullfix: --kubeconfig ${path.join(dir, 'nope')}: no such file; give the path of a kubeconfig\n` });
      const none = await pullfix(['audit'], {});
      expect(none).to.deep.equal({ status: 2, stdout: '', stderr: 'pullfix: no cluster: no ~/.kube/config and not running in a cluster; set KUBECONFIG or pass --kubeconfig\n' });
      expect(api.requests).to.deep.equal([]);
    });
  });

  describe('errors', () => {
    it('names the missing permission when a list is forbidden (a real 403 Status) and exits 2', async () => {
      api.deny({ verb: 'list', plural: 'deployments', namespace: 'shop' });
      const run = await pullfix(['audit', '-n', 'shop'], env);
      expect(run).to.deep.equal({
        status: 2,
        stdout: '',
        stderr: 'pullfix: forbidden: cannot list deployments.apps in namespace shop (needs get/list on deployments.apps)\n',
      });
    });

    it('names the cluster-wide permission for --all-namespaces', async () => {
      api.deny({ verb: 'list', plural: 'pods' });
      const run = await pullfix(['audit', '-A'], env);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal('pullfix: forbidden: cannot list pods in all namespaces (needs get/list on pods, cluster-wide)\n');
    });

    it('says when Namespaces cannot be listed', async () => {
      api.deny({ verb: 'list', plural: 'namespaces' });
      const run = await pullfix(['audit'], env);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal('pullfix: forbidden: cannot list namespaces (needs get/list on namespaces)\n');
    });

    it('says when the API server cannot be reached (connection refused) and exits 2', async () => {
      const port = await freePort();
      const run = await pullfix(['audit'], { KUBECONFIG: api.writeKubeconfig(dir, { server: `http://127.0.0.1:${port}` }) });
      expect(run).to.deep.equal({
        status: 2,
        stdout: '',
        stderr: `pullfix: cannot reach the Kubernetes API at http://127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`,
      });
    });

    it('says when the namespace does not exist', async () => {
      const run = await pullfix(['audit', '-n', 'nope'], env);
      expect(run).to.deep.equal({ status: 2, stdout: '', stderr: 'pullfix: namespace "nope" not found\n' });
    });

    it('refuses an unknown output format before calling the API server', async () => {
      const run = await pullfix(['audit', '-o', 'xml'], env);
      expect(run).to.deep.equal({ status: 2, stdout: '', stderr: 'pullfix: -o "xml": not an output format; use table, json, yaml or report\n' });
      expect(api.requests).to.deep.equal([]);
    });
  });
});

/** A port nothing listens on: bound once, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
