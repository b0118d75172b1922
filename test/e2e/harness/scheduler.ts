// kube-scheduler for the node cluster: binds Pods to the one node, as the admin, on loopback,
// without leader election.
import { join } from 'node:path';
import { type Started, startProcess, waitForHealthz } from './processes.js';

export interface SchedulerOptions {
  binary: string;
  dir: string;
  port: number;
  kubeconfig: string;
}

export class Scheduler {
  private process: Started | undefined;

  constructor(private readonly opts: SchedulerOptions) {}

  async start(): Promise<void> {
    const { kubeconfig, port, dir } = this.opts;
    this.process = startProcess('kube-scheduler', this.opts.binary, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'scheduler-certs')}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ], join(dir, 'kube-scheduler.log'));
    await waitForHealthz(this.process, port);
  }

  async stop(): Promise<void> {
    await this.process?.stop(10_000);
  }
}
