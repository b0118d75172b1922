// /metrics as a real `pullfix serve` process exposes it: the process started with a config
// file (examples/config.yaml, which adds a podTemplates kind), TLS, and a fake API server for
// its namespaces; plus a parser for the Prometheus text format it answers in. The monitoring
// and documentation tests read metric names from here, not from a list kept by hand.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CertFiles, makeCerts, makeTempDir, removeDir } from './certs.js';
import { FakeKubeApi, fakeKubeconfigText } from './fake-kube-api.js';
import { REPO_ROOT } from './fixtures.js';
import { pollUntil, scrape } from './https-client.js';
import { freePort } from '../e2e/harness/processes.js';

const CLI = 'dist/src/cli/main.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Metric families from the `# TYPE` lines, name → type (counter, gauge, histogram, ...). */
  families: Map<string, string>;
  samples: Sample[];
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses the Prometheus text format (0.0.4); throws on a line it does not understand. */
export function parseExposition(text: string): Exposition {
  const families = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (\w+)$/.exec(line);
    if (type) {
      families.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{((?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a line of the Prometheus text format: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = unescapeLabel(l[2]!);
    // Prometheus reads values as Go's ParseFloat does: NaN and Inf in any letter case (prom-client
    // writes `Nan` for a Node event-loop series with no sample yet).
    const raw = m[3]!;
    const value = /^nan$/i.test(raw) ? Number.NaN : /^[+-]?inf(inity)?$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`not a sample value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { families, samples };
}

/** Every name a query may use: the families, and the series names (`_bucket`, `_sum`, ...) seen. */
export function exposedNames(exposition: Exposition): Set<string> {
  const names = new Set(exposition.families.keys());
  for (const s of exposition.samples) names.add(s.name);
  return names;
}

export class ServedMetrics {
  stdout = '';
  stderr = '';

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly healthPort: number,
    readonly dir: string,
    readonly certs: CertFiles,
    readonly api: FakeKubeApi,
    /** The config file the process reads (a copy of examples/config.yaml); rewrite it to reload. */
    readonly configFile: string,
    private readonly exited: Promise<unknown>,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
  }

  /** Starts `pullfix serve` and waits until /readyz says it is ready. Extra flags are appended. */
  static async start(extraArgs: string[] = []): Promise<ServedMetrics> {
    const dir = makeTempDir('pullfix-metrics-');
    const certs = makeCerts(join(dir, 'certs'));
    const api = await FakeKubeApi.start({ default: {}, shop: { 'pullfix.dev/mode': 'enforce' } });
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, fakeKubeconfigText(api.url));
    const configFile = join(dir, 'config.yaml');
    copyFileSync(join(REPO_ROOT, 'examples', 'config.yaml'), configFile);
    const [port, healthPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
    delete env.KUBERNETES_SERVICE_HOST;
    const args = ['serve', '--config', configFile, '--port', String(port), '--health-port', String(healthPort), '--host', '127.0.0.1'];
    args.push('--tls-cert', certs.cert, '--tls-key', certs.key, '--log-level', 'warn', ...extraArgs);
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
    const served = new ServedMetrics(child, port, healthPort, dir, certs, api, configFile, once(child, 'exit'));
    try {
      await pollUntil(async () => {
        if (child.exitCode !== null) throw new Error(`pullfix serve exited ${child.exitCode}: ${served.stderr}`);
        return (await scrape(healthPort, '/readyz').catch(() => ({ status: 0 }))).status === 200;
      }, 'pullfix serve to be ready', 15_000);
    } catch (err) {
      await served.stop();
      throw err;
    }
    return served;
  }

  /** GET /metrics, as Prometheus scrapes it. */
  async scrape(): Promise<{ text: string; exposition: Exposition }> {
    const reply = await scrape(this.healthPort, '/metrics');
    if (reply.status !== 200) throw new Error(`GET /metrics answered ${reply.status}`);
    return { text: reply.text, exposition: parseExposition(reply.text) };
  }

  /** Stops the process (by its PID), the fake API server, and removes the files. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(killer);
    }
    await this.api.close();
    removeDir(this.dir);
  }
}
