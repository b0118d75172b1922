// Namespaces at scale: a real kube-apiserver and etcd (the `make e2e` harness) holding N
// namespaces, each with two labels and a 200-byte annotation; `pullfix serve` started against
// it with KUBECONFIG, as in a cluster. For each N: time from spawning the process to /readyz
// answering 200, and RSS once ready (after the first list, with the watch open).
//
// Namespaces are created by concurrent POSTs over one keep-alive agent with the admin client
// certificate, N grows from one step to the next (0, 1,000, 10,000, 50,000), and every phase
// is bounded in time: a step whose namespaces cannot be created in time is reported as not
// measured rather than left to run.
//
// Settings (environment): BENCH_SCALE_COUNTS (0,1000,10000,50000), BENCH_SCALE_CREATE_S (300,
// the budget for creating the namespaces of one step), BENCH_SCALE_CONCURRENCY (48).
// Prints one JSON line (ScaleResult) last on stdout; progress on stderr.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { TestCluster, installExitHandlers } from '../test/e2e/harness/cluster.js';
import { startProcess, type Started } from '../test/e2e/harness/processes.js';
import http from 'node:http';
import { repoPath } from './common.js';
import { freePort, memory } from './processes.js';

export interface ScaleStep {
  namespaces: number;
  /** Spawn to /readyz 200, ms; NaN when not measured. */
  readyMs: number;
  rssMB: number;
  peakRssMB: number;
  /** Namespaces created per second for this step (the harness, not pullfix). */
  createPerS: number;
  note?: string;
}

export interface ScaleResult {
  apiServer: string;
  steps: ScaleStep[];
  error?: string;
}

const counts = (process.env.BENCH_SCALE_COUNTS ?? '0,1000,10000,50000').split(',').map((n) => Number(n.trim()));
const createBudgetMs = Number(process.env.BENCH_SCALE_CREATE_S ?? 300) * 1000;
const concurrency = Number(process.env.BENCH_SCALE_CONCURRENCY ?? 48);
const began = Date.now();
const say = (line: string): void => {
  process.stderr.write(`[scale ${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

/** 200 bytes of annotation, as a team's description or an owner's contact might be. */
const NOTE = 'x'.repeat(200);

/** Creates namespaces `from` .. `to - 1`; resolves with how many were created before the deadline. */
async function createNamespaces(cluster: TestCluster, from: number, to: number, deadline: number): Promise<number> {
  const tls = { ca: readFileSync(cluster.pki.caCert), cert: readFileSync(cluster.pki.adminCert), key: readFileSync(cluster.pki.adminKey) };
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ...tls });
  const url = new URL(cluster.apiServerUrl);
  let next = from;
  let created = 0;
  const post = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: `scale-${i}`,
          labels: { team: `team-${i % 97}`, 'pullfix.dev/mode': i % 3 === 0 ? 'enforce' : 'default' },
          annotations: { 'example.com/description': NOTE },
        },
      });
      const req = https.request(
        { agent, hostname: url.hostname, port: url.port, path: '/api/v1/namespaces', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.once('end', () => (res.statusCode === 201 || res.statusCode === 409 ? resolve() : reject(new Error(`POST namespace scale-${i}: HTTP ${res.statusCode}`))));
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`POST namespace scale-${i}: no answer in 30 s`)));
      req.once('error', reject);
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    while (next < to && Date.now() < deadline) {
      const i = next++;
      await post(i);
      created++;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
  } finally {
    agent.destroy();
  }
  return created;
}

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

/** Polls /readyz every 5 ms until 200; fails after `timeoutMs` or when the process has exited. */
async function pollReady(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await readyz(port)) !== 200) {
    if (!alive()) throw new Error('pullfix serve exited before it was ready');
    if (Date.now() > deadline) throw new Error(`pullfix serve not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `pullfix serve` against the cluster: ms from spawn to ready, and its memory once ready. */
async function measurePullfix(cluster: TestCluster, kubeconfig: string, certs: { cert: string; key: string }, log: string): Promise<{ readyMs: number; rssMB: number; peakRssMB: number }> {
  const [port, healthPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
  delete env.KUBERNETES_SERVICE_HOST;
  const started = performance.now();
  const proc: Started = startProcess('pullfix', process.execPath, [
    repoPath('dist', 'src', 'cli', 'main.js'),
    'serve',
    '--tls-cert', certs.cert,
    '--tls-key', certs.key,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--health-port', String(healthPort),
  ], log, env);
  try {
    await pollReady(healthPort, 60_000, () => proc.alive());
    const readyMs = performance.now() - started;
    // Memory once ready and settled: the list's pages are garbage by now, the watch is open.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { readyMs, ...memory(proc.pid) };
  } finally {
    await proc.stop(10_000);
  }
}

async function main(): Promise<ScaleResult> {
  installExitHandlers();
  say('starting etcd and kube-apiserver (the make e2e harness)');
  const cluster = await TestCluster.start();
  const result: ScaleResult = { apiServer: cluster.apiServerVersion(), steps: [] };
  try {
    // pullfix runs as the manifests' ServiceAccount, bound to their ClusterRole, as in a cluster;
    // startPullfix() creates that identity and the serving certificate, then we stop it.
    await cluster.startPullfix();
    await cluster.stopPullfix();
    const kubeconfig = path.join(cluster.dir, 'pullfix.kubeconfig');
    const certs = { cert: path.join(cluster.dir, 'pullfix-certs', 'tls.crt'), key: path.join(cluster.dir, 'pullfix-certs', 'tls.key') };
    // The API server's own namespaces (default, kube-system, ...) and the harness's.
    let have = 0;
    for (const n of counts) {
      let createPerS = Number.NaN;
      if (n > have) {
        const t0 = Date.now();
        const created = await createNamespaces(cluster, have, n, t0 + createBudgetMs);
        createPerS = created / ((Date.now() - t0) / 1000);
        have += created;
        say(`${have} namespaces (${createPerS.toFixed(0)}/s)`);
        if (have < n) {
          result.steps.push({ namespaces: n, readyMs: Number.NaN, rssMB: Number.NaN, peakRssMB: Number.NaN, createPerS, note: `only ${have} created within ${createBudgetMs / 1000} s` });
          break;
        }
      }
      const figures = await measurePullfix(cluster, kubeconfig, certs, path.join(cluster.dir, `pullfix-${n}.log`));
      say(`${n} namespaces: ready in ${figures.readyMs.toFixed(0)} ms, RSS ${figures.rssMB.toFixed(0)} MB (peak ${figures.peakRssMB.toFixed(0)})`);
      result.steps.push({ namespaces: n, ...figures, createPerS });
    }
  } finally {
    await cluster.stop();
  }
  return result;
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: Error) => {
    process.stderr.write(`scale bench failed: ${err.stack ?? err.message}\n`);
    process.stdout.write(`${JSON.stringify({ apiServer: 'unknown', steps: [], error: err.message.split('\n')[0] })}\n`);
    process.exitCode = 1;
  },
);
