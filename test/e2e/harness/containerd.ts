// containerd for the node: its own root, state, socket and configuration under the run's
// directory, runc from the host, the CNI plugins built by build.sh, and the suite's registries
// over plain HTTP (certs.d). No public registry can be reached, so the sandbox image is the
// suite's own pause image in that registry.
//
// Fixes this host needs (see docs/e2e.md, "What the node suite needs from the host"):
//   restrict_oom_score_adj   the VM forbids lowering oom_score_adj: without it every sandbox
//                            fails with "can't get final child's PID from pipe: EOF";
//   netns_mounts_under_state_dir   network namespaces mounted under the run, not /var/run/netns;
//   NRI and tracing off      nothing else on the host to talk to.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Started, mustBeAlive, startProcess, waitFor } from './processes.js';

export interface ContainerdOptions {
  binary: string;
  /** containerd-shim-runc-v2; its directory goes first on containerd's PATH. */
  shim: string;
  ctr: string;
  runc: string;
  cniBinDir: string;
  /** Directory for containerd's root, state, config and socket. */
  dir: string;
  /** `host:port` of each of the suite's registries, served over plain HTTP. */
  registries: readonly string[];
  sandboxImage: string;
  /** The CNI network: a gateway bridge without masquerade or port mapping, so no iptables. */
  bridge: string;
  /** The Service range: the pods' one route, through the bridge's gateway to the host. */
  serviceCidr: string;
  podSubnet: string;
}

const DISABLED_PLUGINS = [
  'io.containerd.nri.v1.nri',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.blockfile',
  'io.containerd.snapshotter.v1.erofs',
];

const toml = (value: string): string => JSON.stringify(value);

export class Containerd {
  readonly socket: string;
  readonly endpoint: string;
  private readonly configFile: string;
  private readonly cniConfDir: string;
  private process: Started | undefined;

  constructor(private readonly opts: ContainerdOptions) {
    this.socket = join(opts.dir, 'containerd.sock');
    this.endpoint = `unix://${this.socket}`;
    this.configFile = join(opts.dir, 'config.toml');
    this.cniConfDir = join(opts.dir, 'net.d');
  }

  /** `containerd --version`, e.g. `containerd github.com/containerd/containerd/v2 v2.4.2`. */
  version(): string {
    return execFileSync(this.opts.binary, ['--version'], { encoding: 'utf8' }).trim();
  }

  private writeConfig(): void {
    const { dir, registries } = this.opts;
    mkdirSync(this.cniConfDir, { recursive: true });
    for (const registry of registries) {
      const hostsDir = join(dir, 'certs.d', registry);
      mkdirSync(hostsDir, { recursive: true });
      writeFileSync(join(hostsDir, 'hosts.toml'), [
        `server = ${toml(`http://${registry}`)}`,
        `[host.${toml(`http://${registry}`)}]`,
        '  capabilities = ["pull", "resolve"]',
        '',
      ].join('\n'));
    }
    writeFileSync(join(this.cniConfDir, '10-pullfix-e2e.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: 'pullfix-e2e',
      plugins: [{
        type: 'bridge',
        bridge: this.opts.bridge,
        // The bridge holds the subnet's gateway address: the host (the kubelet's probes, the API
        // server calling webhook pods) reaches pod IPs through it. Pods get one route, to the
        // Service range through the host, where the API server listens on the `kubernetes`
        // ClusterIP; no default route, no masquerade, no port mapping, so no firewall rule.
        isGateway: true,
        ipMasq: false,
        hairpinMode: false,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: this.opts.podSubnet }]],
          routes: [{ dst: this.opts.serviceCidr }],
          dataDir: join(dir, 'cni-ipam'),
        },
      }],
    }, null, 2));
    writeFileSync(this.configFile, [
      'version = 3',
      `root = ${toml(join(dir, 'root'))}`,
      `state = ${toml(join(dir, 'state'))}`,
      `disabled_plugins = ${JSON.stringify(DISABLED_PLUGINS)}`,
      '[grpc]',
      `  address = ${toml(this.socket)}`,
      '[ttrpc]',
      `  address = ${toml(`${this.socket}.ttrpc`)}`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${toml(join(dir, 'opt'))}`,
      '[plugins."io.containerd.cri.v1.images"]',
      '  snapshotter = "overlayfs"',
      '  [plugins."io.containerd.cri.v1.images".pinned_images]',
      `    sandbox = ${toml(this.opts.sandboxImage)}`,
      '  [plugins."io.containerd.cri.v1.images".registry]',
      `    config_path = ${toml(join(dir, 'certs.d'))}`,
      '[plugins."io.containerd.cri.v1.runtime"]',
      '  restrict_oom_score_adj = true',
      '  netns_mounts_under_state_dir = true',
      '  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]',
      '    runtime_type = "io.containerd.runc.v2"',
      '    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]',
      `      BinaryName = ${toml(this.opts.runc)}`,
      '      SystemdCgroup = false',
      '  [plugins."io.containerd.cri.v1.runtime".cni]',
      `    bin_dirs = [${toml(this.opts.cniBinDir)}]`,
      `    conf_dir = ${toml(this.cniConfDir)}`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '',
    ].join('\n'));
  }

  /** Starts containerd and waits (bounded) until its API answers. */
  async start(): Promise<void> {
    this.writeConfig();
    const env = { ...process.env, PATH: `${dirname(this.opts.shim)}:${dirname(this.opts.runc)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const containerd = startProcess('containerd', this.opts.binary, ['--config', this.configFile, '--log-level', 'info'], join(this.opts.dir, '..', 'containerd.log'), env);
    this.process = containerd;
    await waitFor('containerd to answer', async () => {
      if (!existsSync(this.socket)) return undefined;
      execFileSync(this.opts.ctr, ['--address', this.socket, 'version'], { stdio: 'ignore', timeout: 5000 });
      return true;
    }, { timeoutMs: 30_000, guard: () => mustBeAlive(containerd) });
  }

  /** `ctr --address SOCKET -n k8s.io ARGS`: the runtime's own view, under the kubelet. Throws with ctr's stderr. */
  ctr(args: string[]): string {
    try {
      return execFileSync(this.opts.ctr, ['--address', this.socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (err) {
      throw new Error(`ctr ${args.join(' ')}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`);
    }
  }

  /**
   * Kills and deletes every task the kubelet left (containers and sandboxes), so each shim
   * exits by itself, then stops containerd. What still runs after that, restoreHost() kills.
   */
  async stop(): Promise<void> {
    if (this.process?.alive()) {
      let tasks: string[] = [];
      try {
        tasks = this.ctr(['tasks', 'list', '--quiet']).split('\n').filter(Boolean);
      } catch {
        // containerd is not answering: restoreHost() cleans up by PID and mount
      }
      for (const id of tasks) {
        try {
          this.ctr(['tasks', 'kill', '--signal', 'SIGKILL', '--all', id]);
        } catch {
          // stopped already
        }
      }
      for (const id of tasks) {
        try {
          await waitFor(`task ${id} to be deleted`, async () => {
            try {
              this.ctr(['tasks', 'delete', id]);
            } catch (err) {
              // The CRI plugin deletes a task itself once it has exited.
              if (!/not found/.test((err as Error).message)) throw err;
            }
            return true;
          }, { timeoutMs: 10_000, intervalMs: 200 });
        } catch {
          // restoreHost() kills what is left by PID
        }
      }
    }
    await this.process?.stop(10_000);
  }
}
