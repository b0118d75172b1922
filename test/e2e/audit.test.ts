// `pullfix audit` against what really is in the cluster: a Deployment that got in while the
// webhook was not registered is found, `--fix` patches it, and a second audit is clean.
import { expect } from 'chai';
import { type TestCluster, shared } from './harness/cluster.js';
import { changesNote, manifest, podSpecOf, pullPolicies, workload } from './harness/workloads.js';

const CONFIG = 'manifests/overlays/kruise/config.yaml'; // the config pullfix serve runs with here

describe('e2e: pullfix audit', () => {
  let cluster: TestCluster;
  let ns: string;

  before(async () => {
    cluster = shared();
    ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    await cluster.unregisterWebhook();
    try {
      const deployment = workload('Deployment', 'legacy', ns, { containers: [{ name: 'app', image: 'registry.example/legacy:2.2' }] });
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(deployment) });
    } finally {
      await cluster.registerWebhook();
    }
  });

  it('the Deployment created without the webhook is off-policy as stored', async () => {
    const stored = await cluster.getJson('deployment', 'legacy', ns);
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'IfNotPresent' });
  });

  it('audit finds it (exit 1), --fix patches it, a second audit is clean (exit 0)', async () => {
    const first = await cluster.pullfixCli(['audit', '-n', ns, '--config', CONFIG]);
    expect(first.status, first.stderr).to.equal(1);
    expect(first.stdout).to.contain('legacy');

    const fix = await cluster.pullfixCli(['audit', '-n', ns, '--config', CONFIG, '--fix']);
    expect(fix.status, fix.stderr).to.equal(0);
    const stored = await cluster.getJson('deployment', 'legacy', ns);
    expect(pullPolicies(podSpecOf(stored))).to.deep.equal({ 'containers/app': 'Always' });
    expect(changesNote(stored)).to.be.a('string').and.not.be.empty;

    const second = await cluster.pullfixCli(['audit', '-n', ns, '--config', CONFIG]);
    expect(second.status, `${second.stdout}${second.stderr}`).to.equal(0);
  });
});
