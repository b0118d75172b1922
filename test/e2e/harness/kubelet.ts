// The kubelet of the one node: its own root directory, a static configuration, and a client
// certificate from the test CA (user system:node:localhost, so the Node authorizer lets it
// register and read what its pods need). The node is named `localhost`, the name the API server
// dials (--kubelet-preferred-address-types=Hostname): the kubelet refuses a loopback node IP.
//
// Fixes this host needs (see docs/e2e.md, "What the node suite needs from the host"):
//   failCgroupV1: false          cgroups are v1 here; kubelet 1.35+ refuses them otherwise (KEP-5573);
//   cgroupDriver: cgroupfs       no systemd; containerd's runc options say the same;
//   cgroupRoot                   the run's own cgroup, so cleanup removes exactly what it made;
//   makeIPTablesUtilChains: false  no chain dropping 127.0.0.0/8 traffic (and no iptables here);
//   eviction and image GC thresholds at the floor: a shared disk must not evict the tests' pods.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeKubeconfig } from './kubectl.js';
import type { ClusterPki, NodePki } from './pki.js';
import { type Started, httpGet, mustBeAlive, startProcess, waitFor } from './processes.js';

export const NODE_NAME = 'localhost';

export interface KubeletOptions {
  binary: string;
  dir: string;
  apiServerUrl: string;
  pki: ClusterPki;
  nodePki: NodePki;
  containerdEndpoint: string;
  port: number;
  healthzPort: number;
  /** Relative to every cgroup hierarchy; created here, removed by restoreHost(). */
  cgroupRoot: string;
  podLogsDir: string;
}

/** Makes `relative` in every cgroup v1 hierarchy; a new cpuset inherits its parent's CPUs and memory nodes. */
function makeCgroupRoot(relative: string): void {
  const root = '/sys/fs/cgroup';
  for (const hierarchy of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'devices', 'freezer', 'systemd', 'hugetlb', 'net_cls', 'net_prio', 'perf_event']) {
    const parent = join(root, hierarchy);
    if (!existsSync(parent)) continue;
    const dir = join(parent, relative);
    mkdirSync(dir, { recursive: true });
    if (hierarchy === 'cpuset') {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, file), readFileSync(join(parent, file), 'utf8').trim() || '0');
    }
  }
}

export class Kubelet {
  private process: Started | undefined;
  readonly rootDir: string;

  constructor(private readonly opts: KubeletOptions) {
    this.rootDir = join(opts.dir, 'kubelet');
  }

  /** `kubelet --version`, e.g. `Kubernetes v1.37.2`. */
  version(): string {
    return execFileSync(this.opts.binary, ['--version'], { encoding: 'utf8' }).trim();
  }

  private writeConfig(): { config: string; kubeconfig: string } {
    const { dir, pki, nodePki } = this.opts;
    mkdirSync(this.rootDir, { recursive: true });
    mkdirSync(this.opts.podLogsDir, { recursive: true });
    const kubeconfig = join(dir, 'kubelet.kubeconfig');
    writeKubeconfig(kubeconfig, this.opts.apiServerUrl, pki.caCert, { clientCert: nodePki.nodeCert, clientKey: nodePki.nodeKey });
    const config = join(dir, 'kubelet-config.json');
    writeFileSync(config, JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${this.opts.cgroupRoot}`,
      containerRuntimeEndpoint: this.opts.containerdEndpoint,
      address: '127.0.0.1',
      port: this.opts.port,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: this.opts.healthzPort,
      tlsCertFile: nodePki.kubeletServingCert,
      tlsPrivateKeyFile: nodePki.kubeletServingKey,
      // Only the test CA's clients (the API server's kubelet client certificate) get in.
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: pki.caCert } },
      authorization: { mode: 'AlwaysAllow' },
      makeIPTablesUtilChains: false,
      failSwapOn: false,
      podLogsDir: this.opts.podLogsDir,
      evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      rotateCertificates: false,
      serverTLSBootstrap: false,
      // Status reaches the API server quickly: the tests wait on it.
      nodeStatusReportFrequency: '10s',
      syncFrequency: '10s',
      fileCheckFrequency: '10s',
      resolvConf: '',
    }, null, 2));
    return { config, kubeconfig };
  }

  /** Starts the kubelet and waits (bounded) until its /healthz answers; the Node's readiness is the cluster's wait. */
  async start(): Promise<void> {
    makeCgroupRoot(this.opts.cgroupRoot);
    const { config, kubeconfig } = this.writeConfig();
    const kubelet = startProcess('kubelet', this.opts.binary, [
      `--config=${config}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${this.rootDir}`,
      `--hostname-override=${NODE_NAME}`,
      '--v=2',
    ], join(this.opts.dir, 'kubelet.log'));
    this.process = kubelet;
    await waitFor('kubelet /healthz', async () => ((await httpGet(`http://127.0.0.1:${this.opts.healthzPort}/healthz`)).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
      guard: () => mustBeAlive(kubelet),
    });
  }

  /** Whether the kubelet is still running (a test that kills things checks this). */
  alive(): boolean {
    return this.process?.alive() ?? false;
  }

  async stop(): Promise<void> {
    await this.process?.stop(15_000);
  }
}
