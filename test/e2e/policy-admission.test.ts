// `pullfix policy` on the real API server, alone (the webhook configuration is removed for this
// file and registered again after): the generated MutatingAdmissionPolicy, newest API version,
// applied with kubectl; workloads created and updated in labelled namespaces; stored objects
// read back.
import { expect } from 'chai';
import { type TestCluster, shared } from './harness/cluster.js';
import { DIGEST, manifest, podSpecOf, pullPolicies, schemalessTemplateCrd, workload } from './harness/workloads.js';
import { generatePolicy, installPolicy, uninstallPolicy, writeConfig } from './policy-support.js';

type Json = Record<string, any>;

const CONFIG = {
  mode: 'default',
  policies: { mutable: 'Always' },
  exemptImages: ['localhost:5000/*'],
  podTemplates: [{ group: 'policy-e2e.example.com', kind: 'Widget', path: '/spec/template/spec' }],
};

// A custom resource whose pod template is schemaless, like OpenKruise's CloneSet.
const WIDGET_CRD = schemalessTemplateCrd('policy-e2e.example.com', 'v1', 'Widget', 'widgets');

const c = (name: string, image: string, imagePullPolicy?: string): Json => ({ name, image, ...(imagePullPolicy ? { imagePullPolicy } : {}) });

describe('e2e: pullfix policy, the API server alone', () => {
  let cluster: TestCluster;

  before(async function () {
    this.timeout(180_000);
    cluster = shared();
    await cluster.unregisterWebhook();
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: WIDGET_CRD });
    await cluster.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/widgets.policy-e2e.example.com']);
    await installPolicy(cluster, await generatePolicy(cluster, writeConfig(CONFIG)));
  });

  after(async function () {
    this.timeout(180_000);
    await uninstallPolicy(cluster);
    await cluster.registerWebhook();
  });

  async function create(object: Json, args: string[] = ['create']): Promise<Json> {
    await cluster.kubectlOk([...args, '-f', '-'], { stdin: manifest(object) });
    return cluster.getJson(object.kind.toLowerCase(), object.metadata.name, object.metadata.namespace);
  }

  it('sets the class policy from the namespace labels over the config, for containers, init containers and image volumes', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always', 'pullfix.dev/digest': 'Never' });
    const podSpec = {
      initContainers: [c('init', 'registry.example/tools:dev')],
      containers: [c('mutable', 'registry.example/web:main'), c('tagged', 'registry.example:5000/team/web:1.0'), c('digest', `registry.example/web@${DIGEST}`)],
      volumes: [{ name: 'data', image: { reference: 'registry.example/data:1.0' } }],
    };
    const stored = await create(workload('Deployment', 'web', ns, podSpec));
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({
      'initContainers/init': 'Always',
      'containers/mutable': 'Always',
      'containers/tagged': 'Always',
      'containers/digest': 'Never',
      'volumes/data': 'Always',
    });
  });

  it('keeps a value that is not the default for its image (explicit); mode enforce overrides it', async () => {
    const spec = { containers: [c('pinned', 'registry.example/web:dev', 'Never'), c('free', 'registry.example/web:dev')] };
    const def = await cluster.freshNamespace({});
    expect(pullPolicies(podSpecOf(await create(workload('StatefulSet', 'db', def, spec))))).to.deep.equal({ 'containers/pinned': 'Never', 'containers/free': 'Always' });
    const enforce = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce' });
    expect(pullPolicies(podSpecOf(await create(workload('StatefulSet', 'db', enforce, spec))))).to.deep.equal({ 'containers/pinned': 'Always', 'containers/free': 'Always' });
    // A mode label that is not a mode is ignored: the config's mode (default) holds.
    const typo = await cluster.freshNamespace({ 'pullfix.dev/mode': 'Enforce' });
    expect(pullPolicies(podSpecOf(await create(workload('StatefulSet', 'db', typo, spec))))).to.deep.equal({ 'containers/pinned': 'Never', 'containers/free': 'Always' });
  });

  it("classifies with the namespace's mutable-tags annotation, and leaves exempt and unparsable images alone", async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Never' }, { 'pullfix.dev/mutable-tags': '^(v\\d+|edge)$' });
    const spec = {
      containers: [
        c('v3', 'registry.example/web:v3'),
        c('main', 'registry.example/web:main'),
        c('exempt', 'localhost:5000/web:1.0'),
        c('unparsable', 'registry.example/Web:1.0'),
        c('notag', 'registry.example/web'),
      ],
    };
    expect(pullPolicies(podSpecOf(await create(workload('DaemonSet', 'agent', ns, spec))))).to.deep.equal({
      'containers/v3': 'Always',
      'containers/main': 'Never',
      'containers/exempt': 'IfNotPresent',
      'containers/unparsable': 'IfNotPresent',
      'containers/notag': 'Always',
    });
  });

  it('leaves alone namespaces in mode off, system namespaces, objects labelled ignore and controller-owned workloads', async () => {
    const spec = { containers: [c('app', 'registry.example/web:dev')] };
    const off = await cluster.freshNamespace({ 'pullfix.dev/mode': 'off', 'pullfix.dev/mutable': 'Always' });
    expect(pullPolicies(podSpecOf(await create(workload('Deployment', 'web', off, spec))))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    expect(pullPolicies(podSpecOf(await create(workload('Deployment', `web-${cluster.runId}`, 'kube-system', spec))))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    const ns = await cluster.freshNamespace({});
    const ignored = workload('Deployment', 'ignored', ns, spec, { labels: { 'pullfix.dev/ignore': 'true' } });
    expect(pullPolicies(podSpecOf(await create(ignored)))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    const owner = { apiVersion: 'example.com/v1', kind: 'Operator', name: 'op', uid: '00000000-0000-4000-8000-000000000001', controller: true };
    const owned = workload('Deployment', 'owned', ns, spec, { ownerReferences: [owner] });
    expect(pullPolicies(podSpecOf(await create(owned)))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
    // A Pod owned by a controller is still patched: its owner is not a pod template pullfix sees.
    const pod = workload('Pod', 'owned-pod', ns, spec, { ownerReferences: [owner] });
    expect(pullPolicies(podSpecOf(await create(pod)))).to.deep.equal({ 'containers/app': 'Always' });
  });

  it('patches Pods on CREATE and the ephemeral containers a request adds through the subresource', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    const stored = await create(workload('Pod', 'debug-me', ns, { containers: [c('app', 'registry.example/web:1.0')] }));
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
    const add = [{ op: 'add', path: '/spec/ephemeralContainers', value: [{ name: 'dbg', image: 'registry.example/debug:1.0', terminationMessagePolicy: 'File' }] }];
    await cluster.kubectlOk(['patch', 'pod', 'debug-me', '-n', ns, '--subresource=ephemeralcontainers', '--type=json', '-p', JSON.stringify(add)]);
    expect(pullPolicies(podSpecOf(await cluster.getJson('pod', 'debug-me', ns)))).to.deep.equal({ 'containers/app': 'Always', 'ephemeralContainers/dbg': 'Always' });
  });

  it('on UPDATE: a value defaulted for the old image follows the new one; a value the request writes is kept', async () => {
    const ns = await cluster.freshNamespace({});
    // :latest defaults to Always; 2.0 is tagged, a class with no policy here, so the default
    // for the new image (IfNotPresent) applies: the old image's default is not a choice.
    await create(workload('Deployment', 'moving', ns, { containers: [c('app', 'registry.example/web:latest')] }));
    await cluster.kubectlOk(['set', 'image', 'deployment/moving', '-n', ns, 'app=registry.example/web:2.0']);
    expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'moving', ns)))).to.deep.equal({ 'containers/app': 'IfNotPresent' });

    const stored = await create(workload('Deployment', 'patched', ns, { containers: [c('app', 'registry.example/web:dev')] }));
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
    // IfNotPresent is :dev's default, so only the change in this request shows it was chosen.
    const patch = [{ op: 'replace', path: '/spec/template/spec/containers/0/imagePullPolicy', value: 'IfNotPresent' }];
    await cluster.kubectlOk(['patch', 'deployment', 'patched', '-n', ns, '--type=json', '-p', JSON.stringify(patch)]);
    expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'patched', ns)))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
  });

  it('keeps a value a server-side apply configuration sets, even when it equals the default', async () => {
    const ns = await cluster.freshNamespace({});
    const deployment = workload('Deployment', 'ssa', ns, { containers: [c('pinned', 'registry.example/web:dev', 'IfNotPresent'), c('free', 'registry.example/web:dev')] });
    await cluster.kubectlOk(['apply', '--server-side', '--field-manager=ci-deployer', '-f', '-'], { stdin: manifest(deployment) });
    expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'ssa', ns)))).to.deep.equal({ 'containers/pinned': 'IfNotPresent', 'containers/free': 'Always' });
  });

  it('client-side apply: acts when the manifest sets no pull policy, leaves the object to the webhook when it sets one', async () => {
    const ns = await cluster.freshNamespace({});
    const none = workload('Deployment', 'none', ns, { containers: [c('app', 'registry.example/web:dev')] });
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: manifest(none) });
    expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'none', ns)))).to.deep.equal({ 'containers/app': 'Always' });
    // The last-applied annotation holds an imagePullPolicy (a container's, or a stray
    // pod-level one): CEL cannot parse it to tell which, so the policy changes nothing.
    const some = workload('Deployment', 'some', ns, { containers: [c('pinned', 'registry.example/web:dev', 'IfNotPresent'), c('free', 'registry.example/web:dev')] });
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: manifest(some) });
    expect(pullPolicies(podSpecOf(await cluster.getJson('deployment', 'some', ns)))).to.deep.equal({ 'containers/pinned': 'IfNotPresent', 'containers/free': 'IfNotPresent' });
  });

  it('patches Jobs on CREATE and CronJobs on CREATE and UPDATE', async () => {
    const ns = await cluster.freshNamespace({});
    const job = await create(workload('Job', 'once', ns, { containers: [c('app', 'registry.example/batch:dev')] }));
    expect(pullPolicies(podSpecOf(job))).to.deep.equal({ 'containers/app': 'Always' });
    await create(workload('CronJob', 'nightly', ns, { containers: [c('app', 'registry.example/batch:latest')] }));
    await cluster.kubectlOk(['set', 'image', 'cronjob/nightly', '-n', ns, 'app=registry.example/batch:1.1']);
    expect(pullPolicies(podSpecOf(await cluster.getJson('cronjob', 'nightly', ns)))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
  });

  it('sets the policy in a configured custom kind with a schemaless template, and leaves one with a stray field to the webhook', async () => {
    const ns = await cluster.freshNamespace({});
    const widget = (name: string, spec: Json): Json => ({ apiVersion: 'policy-e2e.example.com/v1', kind: 'Widget', metadata: { name, namespace: ns }, spec: { template: { spec } } });
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(widget('plain', { containers: [c('app', 'registry.example/web:dev'), c('pinned', 'registry.example/web:dev', 'Never')] })) });
    const plain = await cluster.getJson('widgets.policy-e2e.example.com', 'plain', ns);
    expect(pullPolicies(plain.spec.template.spec)).to.deep.equal({ 'containers/app': 'Always', 'containers/pinned': 'Never' });
    await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(widget('stray', { imagePullPolicy: 'IfNotPresent', containers: [c('app', 'registry.example/web:dev')] })) });
    const stray = await cluster.getJson('widgets.policy-e2e.example.com', 'stray', ns);
    expect(stray.spec.template.spec.imagePullPolicy).to.equal('IfNotPresent');
    expect(pullPolicies(stray.spec.template.spec)).to.deep.equal({ 'containers/app': '(none)' });
  });
});
