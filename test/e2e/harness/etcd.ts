// etcd for the test cluster: one member on loopback, its data in the run's directory.
import { join } from 'node:path';
import { type Started, httpGet, mustBeAlive, startProcess, waitFor } from './processes.js';

export interface EtcdOptions {
  binary: string;
  /** The run's directory: data in etcd/, log in etcd.log. */
  dir: string;
  port: number;
  peerPort: number;
}

export class Etcd {
  readonly url: string;
  private process: Started | undefined;

  constructor(private readonly opts: EtcdOptions) {
    this.url = `http://127.0.0.1:${opts.port}`;
  }

  /** Starts etcd and waits (bounded) until /health says healthy. */
  async start(): Promise<void> {
    const peer = `http://127.0.0.1:${this.opts.peerPort}`;
    const etcd = startProcess('etcd', this.opts.binary, [
      '--name=e2e',
      `--data-dir=${join(this.opts.dir, 'etcd')}`,
      `--listen-client-urls=${this.url}`,
      `--advertise-client-urls=${this.url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e2e=${peer}`,
      // A throwaway store: durability buys nothing here and fsync costs seconds on a busy disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], join(this.opts.dir, 'etcd.log'));
    this.process = etcd;
    await waitFor('etcd /health', async () => ((await httpGet(`${this.url}/health`)).body.includes('"health":"true"') ? true : undefined), {
      timeoutMs: 30_000,
      guard: () => mustBeAlive(etcd),
    });
  }

  async stop(): Promise<void> {
    await this.process?.stop(10_000);
  }
}
