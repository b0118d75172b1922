// Mocha root hooks for the e2e suite (test/e2e/.mocharc.json requires this file): one cluster,
// one pullfix and the webhook configuration for every e2e file, all stopped by PID afterwards;
// on SIGINT, SIGTERM or an exit without afterAll, the exit handlers kill what is left.
import type { Context } from 'mocha';
import { TestCluster, installExitHandlers, setShared, shared } from './harness/cluster.js';

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    // Binaries missing: build.sh runs first (15-20 minutes); otherwise about 20 s.
    this.timeout(95 * 60_000);
    installExitHandlers();
    const cluster = await TestCluster.start();
    setShared(cluster);
    process.stderr.write(`e2e: ${cluster.apiServerVersion()} at ${cluster.apiServerUrl}, pullfix at ${cluster.webhookUrl}\n`);
    await cluster.startPullfix();
    await cluster.registerWebhook();
    if (process.env.PULLFIX_E2E_NO_WEBHOOK === '1') process.stderr.write('e2e: PULLFIX_E2E_NO_WEBHOOK=1: the webhook configuration is not registered\n');
  },

  async afterAll(this: Context): Promise<void> {
    this.timeout(90_000);
    let cluster: TestCluster | undefined;
    try {
      cluster = shared();
    } catch {
      return; // beforeAll failed before the cluster existed
    }
    setShared(undefined);
    await cluster.stop();
  },
};
