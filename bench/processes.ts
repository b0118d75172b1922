// Starting, watching and stopping the servers under test, each in a child process of its own
// so that its RSS and CPU are its own, and reading those figures from /proc.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { repoPath } from './common.js';
import { freePort } from '../test/e2e/harness/processes.js';

export { freePort };

export type ServerName = 'pullfix' | 'express' | 'https';

export interface Certs {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

export interface RunningProcess {
  name: ServerName;
  child: ChildProcess;
  pid: number;
  port: number;
  /** From spawn to ready: /readyz 200 for pullfix, the listening line for the bare servers. */
  readyMs: number;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export interface PullfixStart {
  certs: Certs;
  namespacesFile: string;
  logFile: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  timeoutMs?: number;
}

/**
 * `pullfix serve` standalone, as a user runs it; ready when /readyz answers 200. Its log (one
 * line per patched review) goes straight to `logFile`: through a pipe, a reader in this busy
 * process would lag under load, and pullfix's synchronous log writes would wait on it.
 */
export async function startPullfix(options: PullfixStart): Promise<RunningProcess> {
  const [port, healthPort] = [await freePort(), await freePort()];
  const log = openSync(options.logFile, 'a');
  const started = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      repoPath('dist', 'src', 'cli', 'main.js'),
      'serve',
      '--config', repoPath('examples', 'config.yaml'),
      '--tls-cert', options.certs.cert,
      '--tls-key', options.certs.key,
      '--namespaces', options.namespacesFile,
      '--port', String(port),
      '--health-port', String(healthPort),
      '--host', '127.0.0.1',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pullfix serve exited with ${child.exitCode}; see ${options.logFile}`);
    if ((await httpStatus(`http://127.0.0.1:${healthPort}/readyz`)) === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pullfix serve not ready after ${options.timeoutMs ?? 30_000} ms; see ${options.logFile}`);
    }
    await sleep(5);
  }
  const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { name: 'pullfix', child, pid: child.pid as number, port, readyMs };
}

/** One of the floors (bench/bare-https.ts, bench/bare-express.ts); ready when it prints `listening`. */
export async function startBare(name: 'express' | 'https', certs: Certs): Promise<RunningProcess> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const script = repoPath('dist', 'bench', name === 'https' ? 'bare-https.js' : 'bare-express.js');
  const child = spawn(process.execPath, [script, '--tls-cert', certs.cert, '--tls-key', certs.key, '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`bare ${name} did not start`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        child.stdout?.resume();
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`bare ${name} exited with ${code}`)));
  });
  const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { name, child, pid: child.pid as number, port, readyMs };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stop(proc: RunningProcess, graceMs = 5000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await exited(proc.child);
  clearTimeout(timer);
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK)

function statFields(pid: number | 'self'): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are space-separated.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
}

/** CPU seconds of this process's children that have exited and been waited for (the load generator). */
export function childrenCpuSeconds(): number {
  const f = statFields('self');
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
}

/** VmRSS (now) and VmHWM (peak) in MB. */
export function memory(pid: number): { rssMB: number; peakRssMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMB: kb('VmRSS') / 1024, peakRssMB: kb('VmHWM') / 1024 };
}

export interface Answer {
  status: number;
  body: { response?: { uid?: string; allowed?: boolean; patch?: string; patchType?: string } };
}

/** One request over verified TLS (the test CA), before any load: the server answers as expected. */
export function post(port: number, ca: string, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/mutate?timeout=5s', method: 'POST', ca: readFileSync(ca), servername: 'localhost', headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] });
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
