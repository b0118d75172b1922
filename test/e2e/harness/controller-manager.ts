// kube-controller-manager for the node cluster: the controllers a user's rollout goes through
// (deployment, replicaset, job, garbage collector, namespace, serviceaccount and its token
// controller, the root CA publisher that every Pod's projected token volume needs, node
// lifecycle), as the admin, on loopback, without leader election.
import { join } from 'node:path';
import type { ClusterPki } from './pki.js';
import { type Started, startProcess, waitForHealthz } from './processes.js';

export interface ControllerManagerOptions {
  binary: string;
  dir: string;
  port: number;
  kubeconfig: string;
  pki: ClusterPki;
}

export class ControllerManager {
  private process: Started | undefined;

  constructor(private readonly opts: ControllerManagerOptions) {}

  async start(): Promise<void> {
    const { kubeconfig, pki, port, dir } = this.opts;
    this.process = startProcess('kube-controller-manager', this.opts.binary, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'controller-manager-certs')}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=false',
      // One node on loopback: no node IPAM (the CNI config names the pod range), no cloud.
      '--allocate-node-cidrs=false',
      '--profiling=false',
      '--v=1',
    ], join(dir, 'kube-controller-manager.log'));
    await waitForHealthz(this.process, port);
  }

  async stop(): Promise<void> {
    await this.process?.stop(10_000);
  }
}
