// kube-apiserver for the test cluster, on 127.0.0.1 only; with a node, on the `kubernetes`
// Service's ClusterIP and port 443 instead (a host address on the node's bridge: pods reach it
// as in-cluster clients do, without kube-proxy), and with --enable-aggregator-routing, so that it
// calls webhook Services at their endpoints, the pod IPs, which the host reaches through the
// bridge. With a node, it reaches the kubelet
// by the Node's Hostname address (`localhost`: the kubelet refuses a loopback InternalIP) with a
// client certificate, and verifies the kubelet's serving certificate against the test CA.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPki } from './pki.js';
import { type Started, httpGet, mustBeAlive, startProcess, waitFor } from './processes.js';

export const SERVICE_CIDR = '10.0.0.0/24';
/** The `kubernetes` Service's ClusterIP: the first address of SERVICE_CIDR. */
export const SERVICE_IP = '10.0.0.1';
/**
 * Extra feature gates (PULLFIX_E2E_FEATURE_GATES, e.g. `ImageVolume=true` for a kube-apiserver
 * before 1.35). None for v1.37: ImageVolume and MutatingAdmissionPolicy are GA there and no longer
 * gates (`kube-apiserver -h` lists neither), and the MutatingAdmissionPolicy admission plugin is
 * on by default; RUNTIME_CONFIG serves that API in its beta and alpha versions too.
 */
export const FEATURE_GATES = process.env.PULLFIX_E2E_FEATURE_GATES ?? '';
const RUNTIME_CONFIG = 'admissionregistration.k8s.io/v1beta1=true,admissionregistration.k8s.io/v1alpha1=true';

export interface ApiServerOptions {
  binary: string;
  dir: string;
  port: number;
  etcdUrl: string;
  pki: ClusterPki;
  /** True when a kubelet will register: the kubelet-facing flags are set. */
  withNode: boolean;
  /** Address to listen on and advertise (default 127.0.0.1). */
  address?: string;
}

export class ApiServer {
  readonly url: string;
  private process: Started | undefined;

  constructor(private readonly opts: ApiServerOptions) {
    this.url = `https://${opts.address ?? '127.0.0.1'}:${opts.port}`;
  }

  private args(): string[] {
    const { pki, port } = this.opts;
    const address = this.opts.address ?? '127.0.0.1';
    return [
      `--etcd-servers=${this.opts.etcdUrl}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${port}`,
      `--tls-cert-file=${pki.apiServerCert}`,
      `--tls-private-key-file=${pki.apiServerKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=https://kubernetes.default.svc`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // One API server on loopback: nothing should maintain the `kubernetes` endpoints.
      '--endpoint-reconciler-type=none',
      `--runtime-config=${RUNTIME_CONFIG}`,
      ...(FEATURE_GATES ? [`--feature-gates=${FEATURE_GATES}`] : []),
      ...(this.opts.withNode
        ? [
            '--kubelet-preferred-address-types=Hostname,InternalIP',
            `--kubelet-client-certificate=${pki.adminCert}`,
            `--kubelet-client-key=${pki.adminKey}`,
            `--kubelet-certificate-authority=${pki.caCert}`,
            // Webhook Services are called at their endpoints (pod IPs), not their ClusterIP:
            // no kube-proxy routes ClusterIPs on this node.
            '--enable-aggregator-routing=true',
          ]
        : []),
      `--cert-dir=${join(this.opts.dir, 'apiserver-certs')}`,
      '--profiling=false',
      '--v=1',
    ];
  }

  /** Starts kube-apiserver and waits (bounded) until /readyz answers 200. */
  async start(): Promise<void> {
    const apiServer = startProcess('kube-apiserver', this.opts.binary, this.args(), join(this.opts.dir, 'kube-apiserver.log'));
    this.process = apiServer;
    const { pki } = this.opts;
    const tls = { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey) };
    await waitFor('kube-apiserver /readyz', async () => {
      const reply = await httpGet(`${this.url}/readyz`, tls);
      if (reply.status === 200) return true;
      throw new Error(`HTTP ${reply.status}: ${reply.body.split('\n').filter((l) => l.includes('failed')).join('; ')}`);
    }, { timeoutMs: 120_000, intervalMs: 500, guard: () => mustBeAlive(apiServer) });
  }

  async stop(): Promise<void> {
    await this.process?.stop(30_000);
  }
}
