/**
 * A real Kubernetes control plane for end-to-end tests, in the manner of controller-runtime's
 * envtest: etcd and kube-apiserver (built from their Go modules by test/e2e/cluster/build.sh)
 * on 127.0.0.1 only, `pullfix serve` on loopback watching Namespaces with the manifests' own
 * RBAC, and the manifests' own MutatingWebhookConfiguration pointed at it. Tests drive the real
 * kubectl and read back what the API server stored.
 *
 * There is no controller-manager, scheduler or kubelet: Pods stay Pending, Deployments never
 * get ReplicaSets, a namespace takes Pods only once its `default` ServiceAccount exists
 * (`freshNamespace` creates it), and a deleted namespace never goes away (names are unique per
 * run instead).
 *
 *   const cluster = await TestCluster.start();     // or shared(), set up by test/e2e/setup.ts
 *   await cluster.startPullfix();
 *   await cluster.registerWebhook();
 *   const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
 *   const result = await cluster.kubectl(['apply', '-n', ns, '-f', '-'], { stdin: manifest });
 *   await cluster.stop();                           // every process, by PID
 *
 * Every process is stopped by PID in stop(), and killed on exit or SIGINT/SIGTERM once
 * installExitHandlers() (processes.ts) has run. Every wait is bounded.
 *
 * Environment: PULLFIX_E2E_KUBE_APISERVER and PULLFIX_E2E_ETCD name the binaries (else
 * build.sh is run, which reuses its cache); PULLFIX_E2E_NO_WEBHOOK=1 makes registerWebhook()
 * do nothing (to see the suite fail without pullfix); PULLFIX_E2E_KEEP=1 keeps the working
 * directory (logs, certificates, etcd data) after stop().
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../helpers/fixtures.js';
import { KUBECTL, type KubectlOptions, type KubectlResult, run, warningsOf, writeKubeconfig } from './kubectl.js';
import { type ClusterPki, makeClusterPki } from './pki.js';
import { type Started, freePort, removeOnExit, startProcess, tail, waitFor } from './processes.js';
import { webhookConfigurationFor } from './webhook-config.js';

export { type KubectlResult, pullfixWarnings, warningsOf } from './kubectl.js';
export { installExitHandlers, killAllStarted, sleep, waitFor } from './processes.js';

type Json = Record<string, any>;

const SERVICE_CIDR = '10.0.0.0/24';
const SERVICE_IP = '10.0.0.1';
/** Where the webhook configuration and pullfix's config come from: the kruise overlay is the base plus OpenKruise's kinds. */
export const DEFAULT_KUSTOMIZE_DIR = 'manifests/overlays/kruise';
export const DEFAULT_PULLFIX_CONFIG = 'manifests/overlays/kruise/config.yaml';
/**
 * Extra feature gates (PULLFIX_E2E_FEATURE_GATES, e.g. `ImageVolume=true` for a kube-apiserver
 * before 1.35). None for v1.37: ImageVolume and MutatingAdmissionPolicy are GA there and no longer
 * gates (`kube-apiserver -h` lists neither), and the MutatingAdmissionPolicy admission plugin is
 * on by default; RUNTIME_CONFIG serves that API in its beta and alpha versions too.
 */
export const FEATURE_GATES = process.env.PULLFIX_E2E_FEATURE_GATES ?? '';
const RUNTIME_CONFIG = 'admissionregistration.k8s.io/v1beta1=true,admissionregistration.k8s.io/v1alpha1=true';

export interface ClusterOptions {
  /** Paths of the binaries; default: PULLFIX_E2E_KUBE_APISERVER / PULLFIX_E2E_ETCD, else build.sh. */
  apiServer?: string;
  etcd?: string;
  /** Kustomize directory (relative to the repository) the webhook configuration is rendered from. */
  kustomizeDir?: string;
}

export interface PullfixOptions {
  /** Config file (relative to the repository or absolute). Default: the kruise overlay's. */
  config?: string;
}

interface Binaries {
  apiServer: string;
  etcd: string;
}

function resolveBinaries(opts: ClusterOptions): Binaries {
  const apiServer = opts.apiServer ?? process.env.PULLFIX_E2E_KUBE_APISERVER;
  const etcd = opts.etcd ?? process.env.PULLFIX_E2E_ETCD;
  if (apiServer && etcd) return { apiServer, etcd };
  // Reuses cached binaries; builds them (15-20 minutes cold) only when missing.
  const out = execFileSync('bash', [repoPath('test', 'e2e', 'cluster', 'build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 90 * 60_000,
  });
  const [builtApiServer, builtEtcd] = out.trim().split('\n');
  if (!builtApiServer || !builtEtcd) throw new Error(`test/e2e/cluster/build.sh printed no binary paths: ${out}`);
  return { apiServer: apiServer ?? builtApiServer, etcd: etcd ?? builtEtcd };
}

/** GET over HTTP(S) on loopback; resolves with the status and body, rejects on a connection error. */
function get(url: string, tls?: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { ...tls, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 5 s`)));
    req.on('error', reject);
  });
}

/** The environment for children: no in-cluster credentials leaking in from a CI pod. */
function childEnv(kubeconfig: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  return env;
}

export class TestCluster {
  readonly runId = randomBytes(3).toString('hex');
  /** The admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfig: string;
  readonly apiServerUrl: string;
  private etcdProcess: Started | undefined;
  private apiServerProcess: Started | undefined;
  private pullfixProcess: Started | undefined;
  private pullfixKubeconfig: string | undefined;
  private pullfixCerts: { ca: string; cert: string; key: string } | undefined;
  private probeNamespace: string | undefined;
  private namespaceCount = 0;
  private webhookRegistered = false;
  private readonly dirCleanup: { forget(): void };

  private constructor(
    readonly dir: string,
    readonly binaries: Binaries,
    readonly pki: ClusterPki,
    readonly ports: { etcd: number; etcdPeer: number; apiServer: number; pullfix: number; pullfixHealth: number },
    private readonly kustomizeDir: string,
  ) {
    this.apiServerUrl = `https://127.0.0.1:${ports.apiServer}`;
    this.dirCleanup = removeOnExit(dir);
    this.kubeconfig = join(dir, 'admin.kubeconfig');
    writeKubeconfig(this.kubeconfig, this.apiServerUrl, pki.caCert, { clientCert: pki.adminCert, clientKey: pki.adminKey });
  }

  /** Starts etcd and kube-apiserver and waits (bounded) until the API server is ready. */
  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    const binaries = resolveBinaries(opts);
    const dir = mkdtempSync(join(tmpdir(), 'pullfix-e2e-'));
    const ports = {
      etcd: await freePort(),
      etcdPeer: await freePort(),
      apiServer: await freePort(),
      pullfix: await freePort(),
      pullfixHealth: await freePort(),
    };
    let pki: ClusterPki;
    try {
      pki = makeClusterPki(join(dir, 'pki'), SERVICE_IP);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const cluster = new TestCluster(dir, binaries, pki, ports, opts.kustomizeDir ?? DEFAULT_KUSTOMIZE_DIR);
    try {
      await cluster.startEtcd();
      await cluster.startApiServer();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** `kube-apiserver --version`, e.g. `Kubernetes v1.37.2`. */
  apiServerVersion(): string {
    return execFileSync(this.binaries.apiServer, ['--version'], { encoding: 'utf8' }).trim();
  }

  private async startEtcd(): Promise<void> {
    const client = `http://127.0.0.1:${this.ports.etcd}`;
    const peer = `http://127.0.0.1:${this.ports.etcdPeer}`;
    const etcd = startProcess('etcd', this.binaries.etcd, [
      '--name=e2e',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e2e=${peer}`,
      // A throwaway store: durability buys nothing here and fsync costs seconds on a busy disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], join(this.dir, 'etcd.log'));
    this.etcdProcess = etcd;
    await waitFor('etcd /health', async () => ((await get(`${client}/health`)).body.includes('"health":"true"') ? true : undefined), {
      timeoutMs: 30_000,
      guard: () => this.mustBeAlive(etcd),
    });
  }

  private apiServerArgs(): string[] {
    const { pki, ports } = this;
    return [
      `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiServer}`,
      `--tls-cert-file=${pki.apiServerCert}`,
      `--tls-private-key-file=${pki.apiServerKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=https://kubernetes.default.svc`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // No other API server and no kubelet: nothing should maintain the `kubernetes` endpoints.
      '--endpoint-reconciler-type=none',
      `--runtime-config=${RUNTIME_CONFIG}`,
      ...(FEATURE_GATES ? [`--feature-gates=${FEATURE_GATES}`] : []),
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      '--profiling=false',
      '--v=1',
    ];
  }

  private async startApiServer(): Promise<void> {
    const apiServer = startProcess('kube-apiserver', this.binaries.apiServer, this.apiServerArgs(), join(this.dir, 'kube-apiserver.log'));
    this.apiServerProcess = apiServer;
    const tls = { ca: readFileSync(this.pki.caCert), cert: readFileSync(this.pki.adminCert), key: readFileSync(this.pki.adminKey) };
    await waitFor('kube-apiserver /readyz', async () => {
      const reply = await get(`${this.apiServerUrl}/readyz`, tls);
      if (reply.status === 200) return true;
      throw new Error(`HTTP ${reply.status}: ${reply.body.split('\n').filter((l) => l.includes('failed')).join('; ')}`);
    }, { timeoutMs: 120_000, intervalMs: 500, guard: () => this.mustBeAlive(apiServer) });
  }

  private mustBeAlive(process: Started): void {
    if (!process.alive()) throw new Error(`${process.name} exited; last lines of ${process.logFile}:\n${tail(process.logFile)}`);
  }

  /** Stops kube-apiserver by PID and starts it again on the same port and etcd; pullfix keeps running. */
  async restartApiServer(): Promise<void> {
    await this.apiServerProcess?.stop(30_000);
    await this.startApiServer();
  }

  /** Runs the real kubectl with the admin kubeconfig. Never throws for a non-zero exit: check `status`. */
  kubectl(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
    return run(KUBECTL, args, { ...childEnv(this.kubeconfig), ...opts.env }, opts);
  }

  /** kubectl that must succeed: throws with kubectl's stderr otherwise. */
  async kubectlOk(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
    const result = await this.kubectl(args, opts);
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
    return result;
  }

  /** Runs the pullfix CLI (`node dist/src/cli/main.js ARGS`) with the admin kubeconfig, as a user would. */
  pullfixCli(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
    return run(process.execPath, [repoPath('dist', 'src', 'cli', 'main.js'), ...args], { ...childEnv(this.kubeconfig), ...opts.env }, opts);
  }

  /** The object as the API server stored it (`kubectl get -o json`). */
  async getJson(resource: string, name: string, namespace?: string): Promise<Json> {
    const ns = namespace ? ['-n', namespace] : [];
    return JSON.parse((await this.kubectlOk(['get', resource, name, ...ns, '-o', 'json'])).stdout) as Json;
  }

  /**
   * A namespace no earlier run used, with `labels` and `annotations`, and its `default`
   * ServiceAccount (no controller-manager makes it, and Pods need it).
   */
  async freshNamespace(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<string> {
    const name = `e2e-${this.runId}-${++this.namespaceCount}`;
    await this.kubectlOk(['create', '-f', '-'], { stdin: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } } });
    await this.kubectlOk(['create', 'serviceaccount', 'default', '-n', name]);
    return name;
  }

  /** The running pullfix's PID, or undefined. */
  pullfixPid(): number | undefined {
    return this.pullfixProcess?.alive() ? this.pullfixProcess.pid : undefined;
  }

  /** https://127.0.0.1:PORT/mutate */
  get webhookUrl(): string {
    return `https://127.0.0.1:${this.ports.pullfix}/mutate`;
  }

  /**
   * `pullfix serve` on loopback, with the informer path: KUBECONFIG holds a token of the
   * ServiceAccount the manifests create, bound to the manifests' ClusterRole (namespaces:
   * get, list, watch), as in a cluster. Waits until /readyz answers 200.
   */
  async startPullfix(opts: PullfixOptions = {}): Promise<void> {
    if (this.pullfixProcess?.alive()) throw new Error('pullfix is already running');
    if (!this.pullfixKubeconfig) this.pullfixKubeconfig = await this.pullfixIdentity();
    if (!this.pullfixCerts) {
      const certDir = join(this.dir, 'pullfix-certs');
      execFileSync('bash', [repoPath('certs', 'make-dev-certs.sh'), certDir], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.pullfixCerts = { ca: join(certDir, 'ca.crt'), cert: join(certDir, 'tls.crt'), key: join(certDir, 'tls.key') };
    }
    const config = opts.config ?? DEFAULT_PULLFIX_CONFIG;
    const pullfix = startProcess('pullfix', process.execPath, [
      repoPath('dist', 'src', 'cli', 'main.js'),
      'serve',
      '--config', config.startsWith('/') ? config : repoPath(config),
      '--tls-cert', this.pullfixCerts.cert,
      '--tls-key', this.pullfixCerts.key,
      '--host', '127.0.0.1',
      '--port', String(this.ports.pullfix),
      '--health-port', String(this.ports.pullfixHealth),
    ], join(this.dir, 'pullfix.log'), childEnv(this.pullfixKubeconfig));
    this.pullfixProcess = pullfix;
    await waitFor('pullfix /readyz', async () => ((await get(`http://127.0.0.1:${this.ports.pullfixHealth}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      guard: () => this.mustBeAlive(pullfix),
    });
  }

  /** SIGTERM to pullfix (SIGKILL after 10 s); resolves once it has exited. */
  async stopPullfix(): Promise<void> {
    await this.pullfixProcess?.stop();
  }

  private async pullfixIdentity(): Promise<string> {
    await this.kubectlOk(['apply', '-f', repoPath('manifests', 'base', 'namespace.yaml'), '-f', repoPath('manifests', 'base', 'rbac.yaml')]);
    // TokenRequest is served by the API server itself; no token controller is needed.
    const token = (await this.kubectlOk(['create', 'token', 'pullfix', '-n', 'pullfix-system', '--duration=12h'])).stdout.trim();
    const file = join(this.dir, 'pullfix.kubeconfig');
    writeKubeconfig(file, this.apiServerUrl, this.pki.caCert, { token });
    return file;
  }

  /**
   * Applies the MutatingWebhookConfiguration rendered from the manifests with `kubectl kustomize`,
   * each webhook's clientConfig rewritten to this pullfix, and waits (bounded) until the API
   * server really calls it: a server-side dry run of a Pod that pullfix changes comes back with
   * pullfix's warning. With PULLFIX_E2E_NO_WEBHOOK=1, does nothing.
   */
  async registerWebhook(): Promise<void> {
    if (process.env.PULLFIX_E2E_NO_WEBHOOK === '1') return;
    if (!this.pullfixCerts) throw new Error('startPullfix() first: the webhook configuration needs its CA');
    const rendered = (await this.kubectlOk(['kustomize', repoPath(this.kustomizeDir)])).stdout;
    const config = webhookConfigurationFor(rendered, this.webhookUrl, readFileSync(this.pullfixCerts.ca, 'utf8'));
    await this.kubectlOk(['apply', '-f', '-'], { stdin: config });
    this.webhookRegistered = true;
    await waitFor('the API server to call pullfix', async () => ((await this.probe()) ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  }

  /** Deletes the webhook configuration and waits (bounded) until the API server stops calling pullfix. */
  async unregisterWebhook(): Promise<void> {
    if (!this.webhookRegistered) return;
    await this.kubectlOk(['delete', 'mutatingwebhookconfiguration', 'pullfix', '--ignore-not-found']);
    this.webhookRegistered = false;
    await waitFor('the API server to stop calling pullfix', async () => ((await this.probe()) ? undefined : true), { timeoutMs: 60_000, intervalMs: 500 });
  }

  /** True when a dry-run Pod that pullfix would change comes back with pullfix's warning. */
  private async probe(): Promise<boolean> {
    this.probeNamespace ??= await this.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'webhook-probe', namespace: this.probeNamespace },
      spec: { containers: [{ name: 'probe', image: 'registry.example/pullfix-e2e-probe:1.0' }] },
    };
    const result = await this.kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], { stdin: pod });
    if (result.status !== 0) throw new Error(`probe: ${result.stderr.trim()}`);
    return warningsOf(result).some((w) => w.startsWith('pullfix: '));
  }

  /**
   * Waits (bounded) until pullfix gives a container of `image` the policy `expected` in
   * `namespace`, judged by server-side dry runs of a Pod: how a test knows pullfix's namespace
   * cache has caught up with a label change. Stores nothing.
   */
  async waitForPolicy(namespace: string, image: string, expected: string, timeoutMs = 30_000): Promise<void> {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'policy-probe', namespace },
      spec: { containers: [{ name: 'probe', image }] },
    };
    await waitFor(`pullfix to give ${image} imagePullPolicy ${expected} in namespace ${namespace}`, async () => {
      const result = await this.kubectlOk(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { stdin: pod });
      const got = (JSON.parse(result.stdout) as Json).spec.containers[0].imagePullPolicy as string;
      if (got === expected) return true;
      throw new Error(`got ${got}`);
    }, { timeoutMs, intervalMs: 500 });
  }

  /** Stops pullfix, kube-apiserver and etcd by PID, in that order; removes the working directory unless PULLFIX_E2E_KEEP=1. */
  async stop(): Promise<void> {
    for (const child of [this.pullfixProcess, this.apiServerProcess, this.etcdProcess]) {
      if (child) await child.stop(child.name === 'kube-apiserver' ? 30_000 : 10_000);
    }
    if (process.env.PULLFIX_E2E_KEEP === '1') process.stderr.write(`e2e: logs, certificates and etcd data kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
    this.dirCleanup.forget();
  }
}

let current: TestCluster | undefined;

/** The cluster the root hook (test/e2e/setup.ts) started for every e2e file. */
export function shared(): TestCluster {
  if (!current) throw new Error('no e2e cluster: run the e2e suite with its mocha config (make e2e), which starts one');
  return current;
}

export function setShared(cluster: TestCluster | undefined): void {
  current = cluster;
}
