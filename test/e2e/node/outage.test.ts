// pullfix down on a real node (SPEC section 8): in an enforce namespace, whose webhook fails
// closed, the controllers and the kubelet must still get through — the ReplicaSet controller's
// Pod creates, the deployment controller's ReplicaSet updates, the kubelet's status writes — so
// a scale or a crashed pod is never blocked by pullfix's outage.
import { expect } from 'chai';
import { type TestCluster, shared } from '../harness/cluster.js';
import { waitForRunningPods } from '../harness/running.js';
import { manifest, workload } from '../harness/workloads.js';

type Json = Record<string, any>;

describe('node: pullfix stopped, an enforce namespace', () => {
  let cluster: TestCluster;
  let ns: string;

  before(async () => {
    cluster = shared();
    ns = await cluster.freshNamespace({ 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always' });
    const image = cluster.node.images.ref('outage', 'dev');
    cluster.node.images.pushBuild('outage', 'dev', 1);
    await cluster.kubectlOk(['create', '-n', ns, '-f', '-'], { stdin: manifest(workload('Deployment', 'demo', ns, { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image }] })) });
    await cluster.kubectlOk(['rollout', 'status', 'deployment/demo', '-n', ns, '--timeout=120s'], { timeoutMs: 130_000 });
    await cluster.stopPullfix();
  });

  after(async () => {
    if (cluster.pullfixPid() === undefined) await cluster.startPullfix();
  });

  it('kubectl scale: the ReplicaSet is updated, its new Pod created and run, its status written; nothing refused', async () => {
    await cluster.kubectlOk(['scale', 'deployment/demo', '-n', ns, '--replicas=2']);
    const pods = await waitForRunningPods(cluster, ns, 'app=demo', 2);
    expect(pods).to.have.length(2);
    const events = JSON.parse((await cluster.kubectlOk(['get', 'events', '-n', ns, '-o', 'json'])).stdout) as { items: Json[] };
    const refused = events.items.filter((e) => /Failed|Error/.test(e.reason as string) || /webhook/i.test(e.message as string));
    expect(refused.map((e) => `${e.reason}: ${e.message}`)).to.deep.equal([]);
  });

  it('a new Deployment from a user is refused while pullfix is down (fail-closed), so the outage is visible', async () => {
    const spec = { containers: [{ name: 'app', image: cluster.node.images.ref('outage', 'dev') }] };
    const result = await cluster.kubectl(['create', '-n', ns, '-f', '-'], { stdin: manifest(workload('Deployment', 'refused', ns, spec)) });
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain('enforce.pullfix.dev');
  });
});
