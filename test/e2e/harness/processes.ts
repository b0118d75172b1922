// Child processes of the e2e cluster (etcd, kube-apiserver, the node's, pullfix serve): started with their
// output in a log file, stopped by PID, and killed on the way out whatever happens, so a run
// never leaves one behind. Plus the bounded waits everything else is built on.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Every child still running, by PID: what the exit handlers kill. */
const running = new Map<number, ChildProcess>();
/** Working directories the exit handlers remove (unless PULLFIX_E2E_KEEP=1). */
const workDirs = new Set<string>();

/** Removes `dir` on exit or SIGINT/SIGTERM if nothing removed it before; forget() when it is gone. */
export function removeOnExit(dir: string): { forget(): void } {
  workDirs.add(dir);
  return { forget: () => void workDirs.delete(dir) };
}

export interface Started {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** True until the process exits. */
  alive(): boolean;
}

/** Sends `sig` to `pid`; a process that exited a moment ago is not an error. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Starts `command`, its stdout and stderr appended to `logFile`. */
export function startProcess(name: string, command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Started {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  running.set(pid, child);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      running.delete(pid);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', () => {
      done = true;
      running.delete(pid);
      resolve('error');
    });
  });
  return {
    name,
    pid,
    logFile,
    exited,
    alive: () => !done,
    async stop(graceMs = 10_000): Promise<void> {
      if (done) return;
      signal(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (!done) signal(pid, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Last lines of a log file, for error messages. */
export function tail(logFile: string, lines = 20): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Synchronous undo steps for the exit handlers, run after the children are killed and before the directories go. */
const exitUndos = new Set<() => void>();

/** Runs `undo` (synchronous) on exit or SIGINT/SIGTERM, after the children are killed; forget() once done otherwise. */
export function whenExiting(undo: () => void): { forget(): void } {
  exitUndos.add(undo);
  return { forget: () => void exitUndos.delete(undo) };
}

/**
 * SIGKILL for every child still running, then the registered undo steps (whenExiting), then removes the registered working directories;
 * synchronous, so it works in an `exit` handler.
 */
export function killAllStarted(): void {
  for (const pid of running.keys()) signal(pid, 'SIGKILL');
  running.clear();
  for (const undo of exitUndos) {
    try {
      undo();
    } catch (err) {
      process.stderr.write(`e2e: cleanup on exit failed: ${(err as Error).message}\n`);
    }
  }
  exitUndos.clear();
  if (process.env.PULLFIX_E2E_KEEP !== '1') for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  workDirs.clear();
}

let exitHandlersInstalled = false;

/**
 * Kills the children on process exit and on SIGINT/SIGTERM (then exits 130/143), so an
 * interrupted run leaves nothing behind. Installed once.
 */
export function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  process.once('exit', killAllStarted);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      killAllStarted();
      process.exit(code);
    });
  }
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `count` distinct TCP ports free on 127.0.0.1, all held open until every one is chosen: asked
 * one at a time, the kernel may hand out a port it just gave back, and two processes of one
 * cluster would then collide.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Called before each attempt; a rejection ends the wait at once (e.g. the process died). */
  guard?: () => void;
}

/**
 * Calls `attempt` until it returns a value other than undefined, or throws once `timeoutMs`
 * has passed, naming `what` and the last error seen.
 */
export async function waitFor<T>(what: string, attempt: () => Promise<T | undefined>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    opts.guard?.();
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(opts.intervalMs ?? 250);
  }
}

/** GET over HTTP(S) on loopback; resolves with the status and body, rejects on a connection error. */
export function httpGet(url: string, tls?: https.RequestOptions): Promise<{ status: number; body: string }> {
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

/** Throws with the last lines of its log when `process` has exited: the guard of a readiness wait. */
export function mustBeAlive(process: Started): void {
  if (!process.alive()) throw new Error(`${process.name} exited; last lines of ${process.logFile}:\n${tail(process.logFile)}`);
}

/**
 * Waits (bounded) until `https://127.0.0.1:PORT/healthz` of a control-plane process answers 200.
 * Its serving certificate is self-signed (its --cert-dir), so it is not verified: this is a
 * readiness probe on loopback, not a trust decision.
 */
export async function waitForHealthz(process: Started, port: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${process.name} /healthz`, async () => {
    const reply = await httpGet(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false });
    if (reply.status === 200) return true;
    throw new Error(`HTTP ${reply.status}: ${reply.body.trim()}`);
  }, { timeoutMs, intervalMs: 250, guard: () => mustBeAlive(process) });
}
