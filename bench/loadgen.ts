// Drives the load generator, a separate process: h2load --h1 (Debian's nghttp2-client) by
// default, autocannon (bench/load.ts) when h2load is not installed. Both keep their TLS
// connections alive for the whole run.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { percentile, repoPath } from './common.js';
import { childrenCpuSeconds } from './processes.js';

export type Generator = 'h2load' | 'autocannon';

export interface LoadOptions {
  url: string;
  bodyFile: string;
  connections: number;
  durationS: number;
  /** Excluded from the figures: TLS handshakes and the first requests. */
  warmupS: number;
  /** Fixed offered rate over all connections, req/s; 0 for as fast as the server answers. */
  rate: number;
  workDir: string;
}

export interface LoadRun {
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  /** CPU the load generator used, in cores. */
  clientCores: number;
}

export function h2loadAvailable(): boolean {
  return spawnSync('h2load', ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${err.trim() || out.trim()}`));
    });
  });
}

let runs = 0;

async function h2load(o: LoadOptions): Promise<LoadRun> {
  const logFile = path.join(o.workDir, `h2load-${++runs}.tsv`);
  const ms = (seconds: number): string => `${Math.round(seconds * 1000)}ms`;
  const args = ['--h1', '-t', '1', '-c', String(o.connections), '-D', ms(o.durationS)];
  if (o.warmupS > 0) args.push('--warm-up-time', ms(o.warmupS));
  // --rps is per connection; h2load spaces each connection's requests evenly.
  if (o.rate > 0) args.push('--rps', String(o.rate / o.connections));
  args.push('-d', o.bodyFile, '-H', 'content-type: application/json', '--log-file', logFile, o.url);
  const cpuBefore = childrenCpuSeconds();
  const out = await run('h2load', args, (o.durationS + o.warmupS + 20) * 1000);
  const clientCpu = childrenCpuSeconds() - cpuBefore;
  const finished = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(out);
  const counts = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
  const codes = /status codes: (\d+) 2xx/.exec(out);
  if (!finished || !counts || !codes) throw new Error(`cannot read h2load's output:\n${out}`);
  const seconds = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
  // Columns: start (µs since the epoch), status, µs until the end of the response.
  const latencies = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'))
    .filter((cols) => cols[1] !== undefined && cols[1].startsWith('2'))
    .map((cols) => Number(cols[2]) / 1000)
    .sort((a, b) => a - b);
  rmSync(logFile, { force: true });
  const ok = Number(codes[1]);
  return {
    rps: ok / seconds,
    requests: ok,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    failed: Number(counts[1]) - ok,
    clientCores: clientCpu / (seconds + o.warmupS),
  };
}

async function autocannon(o: LoadOptions): Promise<LoadRun> {
  const args = [
    repoPath('dist', 'bench', 'load.js'),
    '--url', o.url,
    '--body', o.bodyFile,
    '--connections', String(o.connections),
    '--duration', String(o.durationS),
    ...(o.rate > 0 ? ['--rate', String(o.rate)] : []),
  ];
  const out = await run(process.execPath, args, (o.durationS + 20) * 1000);
  const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
    rps: number; requests: number; p50Ms: number; p99Ms: number; non2xx: number; errors: number; timeouts: number; clientCpu: number;
  };
  return { rps: r.rps, requests: r.requests, p50Ms: r.p50Ms, p99Ms: r.p99Ms, failed: r.non2xx + r.errors + r.timeouts, clientCores: r.clientCpu };
}

export function load(generator: Generator, options: LoadOptions): Promise<LoadRun> {
  return generator === 'h2load' ? h2load(options) : autocannon(options);
}
