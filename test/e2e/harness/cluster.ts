/**
 * A real Kubernetes cluster for end-to-end tests, in the manner of controller-runtime's envtest
 * `ControlPlane`: one module per process (etcd.ts, kube-apiserver.ts, controller-manager.ts,
 * scheduler.ts, containerd.ts, kubelet.ts, registry.ts, pullfix-serve.ts), each with the same
 * start (which waits until ready, bounded) / stop shape and its own log file, composed here.
 *
 * Two shapes:
 *   TestCluster.start()                  etcd and kube-apiserver only (the API-server suite): no
 *                                        controller, no node; Pods stay Pending, a namespace's
 *                                        `default` ServiceAccount is made by freshNamespace().
 *   TestCluster.start({ node: true })    a one-node cluster (the node suite): also a registry,
 *                                        containerd, kube-controller-manager, kube-scheduler and
 *                                        a kubelet; containers really run, images are really pulled.
 *
 *   const cluster = await TestCluster.start({ node: true });
 *   await cluster.startPullfix();
 *   await cluster.registerWebhook();
 *   const ns = await cluster.freshNamespace({ 'pullfix.dev/mutable': 'Always' });
 *   await cluster.kubectlOk(['apply', '-n', ns, '-f', '-'], { stdin: manifest });
 *   await cluster.stop();                           // every process by PID, then the host restored
 *
 * Ports and directories are chosen per run, so a second API server on the machine does not
 * collide. Every process is stopped by PID in stop(), and killed on exit or SIGINT/SIGTERM once
 * installExitHandlers() (processes.ts) has run; the node's host changes are undone by
 * restoreHost() (host.ts) in stop() and on exit.
 *
 * Environment: PULLFIX_E2E_<BINARY> names each binary (KUBE_APISERVER, ETCD, KUBELET, ...: what
 * build.sh prints; else build.sh is run, which reuses its cache); PULLFIX_E2E_NO_WEBHOOK=1 makes
 * registerWebhook() do nothing (to see the suite fail without pullfix); PULLFIX_E2E_KEEP=1 keeps
 * the working directory (logs, certificates, etcd data) after stop().
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../helpers/fixtures.js';
import { ControllerManager } from './controller-manager.js';
import { Etcd } from './etcd.js';
import { type HostSnapshot, type NodeFootprint, createBridge, restoreHost, snapshotHost } from './host.js';
import { TestImages } from './images.js';
import { ApiServer, SERVICE_CIDR, SERVICE_IP } from './kube-apiserver.js';
import { KUBECTL, type KubectlOptions, type KubectlResult, run, warningsOf, writeKubeconfig } from './kubectl.js';
import { Kubelet, NODE_NAME } from './kubelet.js';
import { Containerd } from './containerd.js';
import { type ClusterPki, makeClusterPki, makeNodePki } from './pki.js';
import { type Started, freePorts, removeOnExit, waitFor, whenExiting } from './processes.js';
import { type ServingPair, makeServingPair, startPullfixServe } from './pullfix-serve.js';
import { Registry } from './registry.js';
import { Scheduler } from './scheduler.js';
import { webhookConfigurationFor } from './webhook-config.js';

export { type KubectlResult, pullfixWarnings, warningsOf } from './kubectl.js';
export { FEATURE_GATES } from './kube-apiserver.js';
export { installExitHandlers, killAllStarted, sleep, waitFor } from './processes.js';

type Json = Record<string, any>;

/** Where the webhook configuration and pullfix's config come from: the kruise overlay is the base plus OpenKruise's kinds. */
export const DEFAULT_KUSTOMIZE_DIR = 'manifests/overlays/kruise';
export const DEFAULT_PULLFIX_CONFIG = 'manifests/overlays/kruise/config.yaml';

export interface ClusterOptions {
  /** Start a node (registry, containerd, controller-manager, scheduler, kubelet) too. */
  node?: boolean;
  /** Kustomize directory (relative to the repository) the webhook configuration is rendered from. */
  kustomizeDir?: string;
}

export interface PullfixOptions {
  /** Config file (relative to the repository or absolute). Default: the kruise overlay's. */
  config?: string;
}

/** The binaries build.sh prints, by its names (KUBE_APISERVER=..., ETCD=..., ...). */
export type Binaries = Record<string, string>;

const API_BINARIES = ['KUBE_APISERVER', 'ETCD'];
const NODE_BINARIES = ['KUBELET', 'KUBE_CONTROLLER_MANAGER', 'KUBE_SCHEDULER', 'CONTAINERD', 'CONTAINERD_SHIM', 'CTR', 'CNI_BIN_DIR', 'CRANE', 'PAUSE'];

/** The binaries from PULLFIX_E2E_<NAME>, else from build.sh (which reuses its cache; 20 minutes cold). */
export function resolveBinaries(node: boolean): Binaries {
  const wanted = node ? [...API_BINARIES, ...NODE_BINARIES] : API_BINARIES;
  const fromEnv: Binaries = {};
  for (const name of wanted) {
    const value = process.env[`PULLFIX_E2E_${name}`];
    if (value) fromEnv[name] = value;
  }
  if (wanted.every((name) => fromEnv[name])) return fromEnv;
  const out = execFileSync('bash', [repoPath('test', 'e2e', 'cluster', 'build.sh'), node ? 'all' : 'api'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 90 * 60_000,
  });
  const built: Binaries = {};
  for (const line of out.trim().split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) built[line.slice(0, eq)] = line.slice(eq + 1);
  }
  for (const name of wanted) if (!built[name]) throw new Error(`test/e2e/cluster/build.sh printed no ${name}=PATH line: ${out}`);
  return { ...built, ...fromEnv };
}

/** The environment for children: no in-cluster credentials leaking in from a CI pod. */
function childEnv(kubeconfig: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  return env;
}

/** The `kubernetes` Service's port: where in-cluster clients expect the API server (KUBERNETES_SERVICE_PORT). */
const API_SERVICE_PORT = 443;

const NODE_PORTS = ['registry', 'privateRegistry', 'controllerManager', 'scheduler', 'kubelet', 'kubeletHealthz'] as const;
type NodePorts = Record<(typeof NODE_PORTS)[number], number>;

/** The node's parts that tests use directly: the registry (and its pull counter), images, the runtime. */
export interface TestNode {
  registry: Registry;
  images: TestImages;
  /** A second registry that wants Basic credentials (htpasswd): reached through pull secrets. */
  privateRegistry: Registry;
  /** Images in the private registry; crane pushes with its credentials. */
  privateImages: TestImages;
  containerd: Containerd;
  kubelet: Kubelet;
  name: string;
  /** What the node changes on the host, for the leftovers check. */
  footprint: NodeFootprint;
  hostBefore: HostSnapshot;
}

interface NodeProcesses extends TestNode {
  controllerManager: ControllerManager;
  scheduler: Scheduler;
}

export class TestCluster {
  readonly runId = randomBytes(3).toString('hex');
  /** The admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfig: string;
  readonly apiServerUrl: string;
  private readonly etcd: Etcd;
  private readonly apiServer: ApiServer;
  private nodeProcesses: NodeProcesses | undefined;
  private pullfixProcess: Started | undefined;
  private pullfixKubeconfig: string | undefined;
  private pullfixCerts: ServingPair | undefined;
  private probeNamespace: string | undefined;
  private namespaceCount = 0;
  private webhookRegistered = false;
  private hostUndo: { forget(): void } | undefined;
  private readonly dirCleanup: { forget(): void };

  private constructor(
    readonly dir: string,
    readonly binaries: Binaries,
    readonly pki: ClusterPki,
    readonly ports: Record<'etcd' | 'etcdPeer' | 'apiServer' | 'pullfix' | 'pullfixHealth', number>,
    private readonly kustomizeDir: string,
    withNode: boolean,
  ) {
    this.etcd = new Etcd({ binary: binaries.ETCD as string, dir, port: ports.etcd, peerPort: ports.etcdPeer });
    // With a node, pods are clients too: the API server listens where in-cluster config points
    // them, the `kubernetes` Service's ClusterIP and port (a host address on the node's bridge).
    this.apiServer = new ApiServer({
      binary: binaries.KUBE_APISERVER as string, dir, etcdUrl: this.etcd.url, pki, withNode,
      ...(withNode ? { address: SERVICE_IP, port: API_SERVICE_PORT } : { port: ports.apiServer }),
    });
    this.apiServerUrl = this.apiServer.url;
    this.dirCleanup = removeOnExit(dir);
    this.kubeconfig = join(dir, 'admin.kubeconfig');
    writeKubeconfig(this.kubeconfig, this.apiServerUrl, pki.caCert, { clientCert: pki.adminCert, clientKey: pki.adminKey });
  }

  /** Starts etcd and kube-apiserver (and, with `node`, the node) and waits (bounded) until they are ready. */
  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    const withNode = opts.node ?? false;
    const binaries = resolveBinaries(withNode);
    const dir = mkdtempSync(join(tmpdir(), 'pullfix-e2e-'));
    const [etcd, etcdPeer, apiServer, pullfix, pullfixHealth, ...nodePorts] = (await freePorts(5 + NODE_PORTS.length)) as [number, number, number, number, number, ...number[]];
    const ports = { etcd, etcdPeer, apiServer, pullfix, pullfixHealth };
    let pki: ClusterPki;
    try {
      pki = makeClusterPki(join(dir, 'pki'), SERVICE_IP);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const cluster = new TestCluster(dir, binaries, pki, ports, opts.kustomizeDir ?? DEFAULT_KUSTOMIZE_DIR, withNode);
    try {
      if (withNode) cluster.prepareHost();
      await cluster.etcd.start();
      await cluster.apiServer.start();
      if (withNode) await cluster.startNode(Object.fromEntries(NODE_PORTS.map((name, i) => [name, nodePorts[i] as number])) as NodePorts);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private footprint: NodeFootprint | undefined;
  private hostBefore: HostSnapshot | undefined;

  /**
   * Records the host, arranges for it to be put back on any exit, and creates the node's bridge
   * with the API server's address (before the API server starts: it listens there).
   */
  private prepareHost(): void {
    const footprint: NodeFootprint = {
      dir: this.dir,
      podLogsDir: join(this.dir, 'pod-logs'),
      bridge: `pf${this.runId}`,
      // A /24 per run, so two runs on one machine do not share a bridge subnet.
      podSubnet: `10.254.${Number.parseInt(this.runId.slice(0, 2), 16)}.0/24`,
      cgroupRoot: `pullfix-e2e-${this.runId}`,
    };
    const hostBefore = snapshotHost();
    this.footprint = footprint;
    this.hostBefore = hostBefore;
    // On an exit without stop() (a crash, ^C), the exit handlers undo what the node did to the host.
    this.hostUndo = whenExiting(() => restoreHost(hostBefore, footprint));
    createBridge(footprint.bridge, footprint.podSubnet.replace(/\.0\/24$/, '.1/24'), SERVICE_IP);
  }

  /**
   * The registry first (the sandbox image must be in it before containerd asks), then
   * containerd, the controllers, and the kubelet; waits until the Node is Ready and schedulable.
   */
  private async startNode(ports: NodePorts): Promise<void> {
    const b = this.binaries as Required<Binaries>;
    const footprint = this.footprint as NodeFootprint;
    const hostBefore = this.hostBefore as HostSnapshot;
    const registry = new Registry({ dir: this.dir, port: ports.registry });
    await registry.start();
    const images = new TestImages(b.CRANE as string, registry.host, join(this.dir, 'images'));
    const privateRegistry = new Registry({ dir: join(this.dir, 'private-registry'), port: ports.privateRegistry, auth: { user: 'pullfix-e2e', password: randomBytes(12).toString('hex') } });
    await privateRegistry.start();
    const privateImages = new TestImages(b.CRANE as string, privateRegistry.host, join(this.dir, 'private-images'), privateRegistry.auth);
    const sandboxImage = `${registry.host}/pause:1`;
    images.pushPause(b.PAUSE as string, sandboxImage);
    const containerd = new Containerd({
      binary: b.CONTAINERD as string,
      shim: b.CONTAINERD_SHIM as string,
      ctr: b.CTR as string,
      runc: process.env.PULLFIX_E2E_RUNC ?? '/usr/sbin/runc',
      cniBinDir: b.CNI_BIN_DIR as string,
      dir: join(this.dir, 'containerd'),
      registries: [registry.host, privateRegistry.host],
      sandboxImage,
      bridge: footprint.bridge,
      podSubnet: footprint.podSubnet,
      serviceCidr: SERVICE_CIDR,
    });
    const controllerManager = new ControllerManager({ binary: b.KUBE_CONTROLLER_MANAGER as string, dir: this.dir, port: ports.controllerManager, kubeconfig: this.kubeconfig, pki: this.pki });
    const scheduler = new Scheduler({ binary: b.KUBE_SCHEDULER as string, dir: this.dir, port: ports.scheduler, kubeconfig: this.kubeconfig });
    const kubelet = new Kubelet({
      binary: b.KUBELET as string,
      dir: this.dir,
      apiServerUrl: this.apiServerUrl,
      pki: this.pki,
      nodePki: makeNodePki(join(this.dir, 'pki'), NODE_NAME),
      containerdEndpoint: containerd.endpoint,
      port: ports.kubelet,
      healthzPort: ports.kubeletHealthz,
      cgroupRoot: footprint.cgroupRoot,
      podLogsDir: footprint.podLogsDir,
    });
    this.nodeProcesses = { registry, images, privateRegistry, privateImages, containerd, kubelet, controllerManager, scheduler, name: NODE_NAME, footprint, hostBefore };
    await containerd.start();
    await controllerManager.start();
    await scheduler.start();
    await kubelet.start();
    await waitFor(`node ${NODE_NAME} to be Ready and schedulable`, async () => {
      const node = await this.getJson('node', NODE_NAME);
      const ready = (node.status?.conditions as Json[] | undefined)?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') throw new Error(`Ready=${ready?.status ?? 'unknown'}: ${ready?.message ?? ''}`);
      const taints = ((node.spec?.taints ?? []) as Json[]).map((t) => `${t.key}:${t.effect}`);
      if (taints.length > 0) throw new Error(`taints ${taints.join(', ')}`);
      return true;
    }, { timeoutMs: 90_000, intervalMs: 500, guard: () => {
      if (!kubelet.alive()) throw new Error(`kubelet exited; see ${join(this.dir, 'kubelet.log')}`);
    } });
  }

  /** The node of a cluster started with `node: true`. */
  get node(): TestNode {
    if (!this.nodeProcesses) throw new Error('this cluster has no node: start it with TestCluster.start({ node: true })');
    return this.nodeProcesses;
  }

  get hasNode(): boolean {
    return this.nodeProcesses !== undefined;
  }

  /** `kube-apiserver --version`, e.g. `Kubernetes v1.37.2`. */
  apiServerVersion(): string {
    return execFileSync(this.binaries.KUBE_APISERVER as string, ['--version'], { encoding: 'utf8' }).trim();
  }

  /** Stops kube-apiserver by PID and starts it again on the same port and etcd; pullfix keeps running. */
  async restartApiServer(): Promise<void> {
    await this.apiServer.stop();
    await this.apiServer.start();
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
   * ServiceAccount, which Pods need: created here when there is no controller-manager, and
   * waited for (it makes it) when there is.
   */
  async freshNamespace(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<string> {
    const name = `e2e-${this.runId}-${++this.namespaceCount}`;
    await this.kubectlOk(['create', '-f', '-'], { stdin: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } } });
    const created = await this.kubectl(['create', 'serviceaccount', 'default', '-n', name]);
    // kubectl says `serviceaccounts "default" already exists` when the controller-manager was first.
    if (created.status !== 0 && !/already exists|AlreadyExists/.test(created.stderr)) throw new Error(`kubectl create serviceaccount default -n ${name}: ${created.stderr.trim()}`);
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

  /** `pullfix serve` on loopback as the manifests' ServiceAccount (pullfix-serve.ts); waits until ready. */
  async startPullfix(opts: PullfixOptions = {}): Promise<void> {
    if (this.pullfixProcess?.alive()) throw new Error('pullfix is already running');
    this.pullfixKubeconfig ??= await this.pullfixIdentity();
    this.pullfixCerts ??= makeServingPair(this.dir);
    const config = opts.config ?? DEFAULT_PULLFIX_CONFIG;
    this.pullfixProcess = await startPullfixServe({
      dir: this.dir,
      port: this.ports.pullfix,
      healthPort: this.ports.pullfixHealth,
      kubeconfig: this.pullfixKubeconfig,
      config: config.startsWith('/') ? config : repoPath(config),
      env: childEnv(this.pullfixKubeconfig),
    }, this.pullfixCerts);
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

  /**
   * Stops everything by PID in reverse order of start (pullfix, the node, kube-apiserver, etcd),
   * undoes the node's host changes, and removes the working directory unless PULLFIX_E2E_KEEP=1.
   */
  async stop(): Promise<void> {
    await this.pullfixProcess?.stop();
    const node = this.nodeProcesses;
    if (node) {
      await node.kubelet.stop();
      await node.containerd.stop();
      await node.scheduler.stop();
      await node.controllerManager.stop();
    }
    await this.apiServer.stop();
    await this.etcd.stop();
    if (node) {
      await node.registry.stop();
      await node.privateRegistry.stop();
    }
    if (this.hostBefore && this.footprint) {
      restoreHost(this.hostBefore, this.footprint);
      this.hostUndo?.forget();
    }
    if (process.env.PULLFIX_E2E_KEEP === '1') process.stderr.write(`e2e: logs, certificates and etcd data kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
    this.dirCleanup.forget();
  }
}

let current: TestCluster | undefined;

/** The cluster the root hook (test/e2e/setup.ts or test/e2e/node/setup.ts) started for every e2e file. */
export function shared(): TestCluster {
  if (!current) throw new Error('no e2e cluster: run the e2e suite with its mocha config (make e2e), which starts one');
  return current;
}

export function setShared(cluster: TestCluster | undefined): void {
  current = cluster;
}
