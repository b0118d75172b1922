// What the node changes on the host outside its run's directory, and how each change is undone.
// The kubelet sets kernel sysctls and writes a few fixed paths; containerd's shims outlive it;
// the CNI bridge is a host interface; kubelet and containerd mount under the run's directory.
// snapshotHost() records the host before the node starts; restoreHost() puts it back, and
// leftovers() lists what is still there (what the node suite's last test asserts is empty).
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The sysctls the node changes: the kubelet's (pkg/kubelet/cm: setupKernelTunables, unless
 * protectKernelDefaults), and IPv4 forwarding, which the CNI bridge plugin turns on for a
 * gateway bridge (isGateway).
 */
export const NODE_SYSCTLS = ['vm.overcommit_memory', 'vm.panic_on_oom', 'kernel.panic', 'kernel.panic_on_oops', 'kernel.keys.root_maxkeys', 'kernel.keys.root_maxbytes', 'net.ipv4.ip_forward'];

/** Fixed paths the kubelet and containerd write whatever their configured directories. */
const FIXED_DIRS = ['/var/lib/kubelet', '/var/log/containers', '/run/containerd'];

const CGROUP_ROOT = '/sys/fs/cgroup';

export interface HostSnapshot {
  sysctls: Record<string, string>;
  /** Which of FIXED_DIRS existed before the node started (those are left, only our entries go). */
  existed: Record<string, boolean>;
  /** Firewall rules before, where the host has a tool to list them (none here: no iptables or nft). */
  firewall: string | undefined;
}

function sysctlPath(name: string): string {
  return join('/proc/sys', ...name.split('.'));
}

function readSysctl(name: string): string {
  return readFileSync(sysctlPath(name), 'utf8').trim();
}

/** iptables-save / nft list ruleset output, or undefined when neither tool is installed. */
export function firewallRules(): string | undefined {
  for (const [tool, args] of [['iptables-save', []], ['nft', ['list', 'ruleset']]] as const) {
    try {
      // Counters change by themselves; the rules are what must be restored.
      return execFileSync(tool, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(/\[\d+:\d+\]/g, '');
    } catch {
      // not installed (or not permitted): try the next one
    }
  }
  return undefined;
}

export function snapshotHost(): HostSnapshot {
  const sysctls: Record<string, string> = {};
  for (const name of NODE_SYSCTLS) if (existsSync(sysctlPath(name))) sysctls[name] = readSysctl(name);
  const existed: Record<string, boolean> = {};
  for (const dir of FIXED_DIRS) existed[dir] = existsSync(dir);
  return { sysctls, existed, firewall: firewallRules() };
}

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    // mountinfo escapes spaces and the like as octal; the test directories have none.
    .map((point) => point.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8))));
  return [...new Set(points)].sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

/** Unmounts everything at or under `dir`, deepest first; lazily when a mount is busy. */
export function unmountUnder(dir: string): void {
  for (const point of mountsUnder(dir)) {
    try {
      execFileSync('umount', [point], { stdio: 'ignore' });
    } catch {
      try {
        execFileSync('umount', ['-l', point], { stdio: 'ignore' });
      } catch {
        // already gone with its parent
      }
    }
  }
}

/** PIDs of processes whose command line mentions `text` (e.g. the run's directory). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** PIDs in a cgroup subtree (every v1 hierarchy that has it). */
export function processesInCgroup(relative: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (pid) pids.add(Number(pid));
    } catch {
      // not a cgroup directory
    }
    for (const entry of entries) if (lstatSync(join(dir, entry)).isDirectory()) walk(join(dir, entry));
  };
  for (const hierarchy of readdirSync(CGROUP_ROOT)) walk(join(CGROUP_ROOT, hierarchy, relative));
  return [...pids];
}

/** The cgroup directories named `relative` that exist, in any hierarchy. */
export function cgroupsNamed(relative: string): string[] {
  return readdirSync(CGROUP_ROOT)
    .map((hierarchy) => join(CGROUP_ROOT, hierarchy, relative))
    .filter((dir) => existsSync(dir));
}

/** Removes a cgroup subtree, children first (rmdir: a cgroup with processes stays, and says so). */
function removeCgroupTree(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (lstatSync(child).isDirectory()) removeCgroupTree(child);
  }
  rmdirSync(dir);
}

export function removeCgroups(relative: string): string[] {
  const failed: string[] = [];
  for (const dir of cgroupsNamed(relative)) {
    try {
      removeCgroupTree(dir);
    } catch (err) {
      failed.push(`${dir}: ${(err as Error).message}`);
    }
  }
  return failed;
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function deleteLink(name: string): void {
  if (linkExists(name)) execFileSync('ip', ['link', 'delete', name], { stdio: 'ignore' });
}

/**
 * Creates the node's bridge before anything else, with two addresses: `gateway` (CIDR form, the
 * pod subnet's gateway, which the CNI bridge plugin would add itself) and `serviceIp` (a /32, the
 * `kubernetes` Service's ClusterIP), so the API server can listen there and pods reach it at
 * KUBERNETES_SERVICE_HOST:443 the way kube-proxy would route them (there is none here). The
 * plugin adopts the bridge: it finds its gateway address first (the kernel lists an interface's
 * IPv4 addresses in the order they were added) and leaves both alone.
 */
export function createBridge(name: string, gateway: string, serviceIp: string): void {
  if (linkExists(name)) throw new Error(`network interface ${name} exists already: another run with the same id?`);
  const ip = (...args: string[]): void => {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  ip('link', 'add', 'name', name, 'type', 'bridge');
  try {
    ip('addr', 'add', gateway, 'dev', name);
    ip('addr', 'add', `${serviceIp}/32`, 'dev', name);
    ip('link', 'set', name, 'up');
  } catch (err) {
    deleteLink(name);
    throw err;
  }
}

/** Symlinks in /var/log/containers that point into `podLogsDir` (the kubelet makes one per container). */
function containerLogLinks(podLogsDir: string): string[] {
  const dir = '/var/log/containers';
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((entry) => join(dir, entry))
    .filter((link) => {
      try {
        return readlinkSync(link).startsWith(`${podLogsDir}/`);
      } catch {
        return false;
      }
    });
}

export interface NodeFootprint {
  /** The run's directory: every mount, shim and config of the node is under it. */
  dir: string;
  podLogsDir: string;
  bridge: string;
  /** The pods' subnet on the bridge, e.g. 10.254.55.0/24; its first address is the gateway. */
  podSubnet: string;
  /** The kubelet's cgroup root, relative to each hierarchy (e.g. `pullfix-e2e-ab12cd`). */
  cgroupRoot: string;
}

function kill(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/**
 * Puts the host back as `before` found it: kills what is left of the node's processes (shims
 * and containers, by PID), unmounts under the run's directory deepest first, deletes the
 * bridge, the cgroups, the kubelet's log links and the fixed directories it created, and
 * restores the sysctls. Safe to call twice.
 */
export function restoreHost(before: HostSnapshot, node: NodeFootprint): void {
  kill(processesMentioning(node.dir));
  kill(processesInCgroup(node.cgroupRoot));
  unmountUnder(node.dir);
  deleteLink(node.bridge);
  for (const link of containerLogLinks(node.podLogsDir)) rmSync(link, { force: true });
  // Processes leave a cgroup a moment after SIGKILL; try a few times.
  for (let i = 0; i < 20 && removeCgroups(node.cgroupRoot).length > 0; i++) execFileSync('sleep', ['0.1']);
  for (const [dir, existed] of Object.entries(before.existed)) {
    if (!existed && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
  for (const [name, value] of Object.entries(before.sysctls)) {
    if (readSysctl(name) !== value) writeFileSync(sysctlPath(name), value);
  }
}

/** What the node left on the host, one line each; empty when restoreHost() did its job. */
export function leftovers(before: HostSnapshot, node: NodeFootprint): string[] {
  const found: string[] = [];
  for (const pid of processesMentioning(node.dir)) found.push(`process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`);
  for (const pid of processesInCgroup(node.cgroupRoot)) found.push(`process ${pid} in cgroup ${node.cgroupRoot}`);
  for (const point of mountsUnder(node.dir)) found.push(`mount ${point}`);
  if (linkExists(node.bridge)) found.push(`network interface ${node.bridge}`);
  for (const dir of cgroupsNamed(node.cgroupRoot)) found.push(`cgroup ${dir}`);
  for (const link of containerLogLinks(node.podLogsDir)) found.push(`log link ${link}`);
  for (const [dir, existed] of Object.entries(before.existed)) if (!existed && existsSync(dir)) found.push(`directory ${dir}`);
  for (const [name, value] of Object.entries(before.sysctls)) {
    const now = readSysctl(name);
    if (now !== value) found.push(`sysctl ${name} = ${now} (was ${value})`);
  }
  const firewall = firewallRules();
  if (firewall !== before.firewall) found.push('firewall rules changed');
  return found;
}
