// Mocha root hooks for the node suite (test/e2e/node/.mocharc.json requires this file): one
// one-node cluster (etcd, kube-apiserver, controller-manager, scheduler, containerd, kubelet, a
// registry), one pullfix and the manifests' webhook configuration for every node test file; all
// stopped by PID afterwards, the host put back as it was, and checked: a leftover process,
// mount, network interface, cgroup, sysctl or firewall change fails the run.
import type { Context } from 'mocha';
import { TestCluster, installExitHandlers, setShared, shared } from '../harness/cluster.js';
import { leftovers } from '../harness/host.js';

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    // Binaries missing: build.sh runs first (about 20 minutes); otherwise a few seconds.
    this.timeout(95 * 60_000);
    installExitHandlers();
    const cluster = await TestCluster.start({ node: true });
    setShared(cluster);
    const info = (await cluster.getJson('node', cluster.node.name)).status.nodeInfo as Record<string, string>;
    process.stdout.write(`e2e node: ${cluster.node.name} kubelet ${info.kubeletVersion}, ${info.containerRuntimeVersion} (${cluster.node.containerd.version()}), ` +
      `${info.osImage ?? ''} ${info.kernelVersion}; API server ${cluster.apiServerVersion()}; registry ${cluster.node.registry.host}\n`);
    await cluster.startPullfix();
    await cluster.registerWebhook();
    if (process.env.PULLFIX_E2E_NO_WEBHOOK === '1') process.stdout.write('e2e node: PULLFIX_E2E_NO_WEBHOOK=1: the webhook configuration is not registered\n');
  },

  async afterAll(this: Context): Promise<void> {
    this.timeout(120_000);
    let cluster: TestCluster;
    try {
      cluster = shared();
    } catch {
      return; // beforeAll failed before the cluster existed
    }
    setShared(undefined);
    const { hostBefore, footprint } = cluster.node;
    await cluster.stop();
    const left = leftovers(hostBefore, footprint);
    if (left.length > 0) throw new Error(`the node suite left these on the host:\n  ${left.join('\n  ')}`);
    process.stdout.write(`e2e node: host clean after the run: no process, mount, interface (${footprint.bridge}), cgroup (${footprint.cgroupRoot}), ` +
      'log link, directory or sysctl left; firewall rules unchanged\n');
  },
};
