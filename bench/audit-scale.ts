// `pullfix audit` at scale: a real kube-apiserver and etcd (the `make e2e` harness) holding
// 10,000 Deployments in 20 namespaces whose labels ask for Always on mutable tags; every
// Deployment runs a `:dev` image the API server defaulted to IfNotPresent, so every one is a
// finding. `pullfix audit -A -o json` runs as a user runs it (KUBECONFIG, the built CLI, in a
// process of its own that reports its peak RSS); the audit pages its lists (limit 500), so its
// memory should not grow with the cluster. The findings are counted from its output: a run
// that missed objects is reported as such, not as fast.
//
// Settings (environment): BENCH_AUDIT_DEPLOYMENTS (10000), BENCH_AUDIT_NAMESPACES (20),
// BENCH_AUDIT_CREATE_S (600, the budget for creating them), BENCH_AUDIT_CONCURRENCY (32).
// Prints one JSON line (AuditScaleResult) last on stdout; progress on stderr.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { TestCluster, installExitHandlers } from '../test/e2e/harness/cluster.js';
import { repoPath } from './common.js';

export interface AuditScaleResult {
  apiServer: string;
  deployments: number;
  namespaces: number;
  /** Deployments created per second (the harness, not pullfix). */
  createPerS: number;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  /** Findings in the audit's JSON output, and its exit status (1: findings). */
  findings: number;
  status: number | null;
  error?: string;
}

const total = Number(process.env.BENCH_AUDIT_DEPLOYMENTS ?? 10_000);
const nsCount = Number(process.env.BENCH_AUDIT_NAMESPACES ?? 20);
const createBudgetMs = Number(process.env.BENCH_AUDIT_CREATE_S ?? 600) * 1000;
const concurrency = Number(process.env.BENCH_AUDIT_CONCURRENCY ?? 32);
const began = Date.now();
const say = (line: string): void => {
  process.stderr.write(`[audit ${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

const namespaceName = (i: number): string => `audit-${i}`;

/** POSTs `count` objects built by `body(i)` to `path(i)` over one keep-alive agent; resolves with how many were created in time. */
async function createAll(cluster: TestCluster, count: number, path: (i: number) => string, body: (i: number) => unknown, deadline: number): Promise<number> {
  const tls = { ca: readFileSync(cluster.pki.caCert), cert: readFileSync(cluster.pki.adminCert), key: readFileSync(cluster.pki.adminKey) };
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ...tls });
  const url = new URL(cluster.apiServerUrl);
  let next = 0;
  let created = 0;
  const post = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const text = JSON.stringify(body(i));
      const req = https.request(
        { agent, hostname: url.hostname, port: url.port, path: path(i), method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
        (res) => {
          res.resume();
          res.once('end', () => (res.statusCode === 201 || res.statusCode === 409 ? resolve() : reject(new Error(`POST ${path(i)}: HTTP ${res.statusCode}`))));
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`POST ${path(i)}: no answer in 30 s`)));
      req.once('error', reject);
      req.end(text);
    });
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      await post(next++);
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

function deployment(i: number): unknown {
  const name = `app-${i}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name, team: `team-${i % 13}` } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: `registry.example.com/team/app-${i}:dev`, ports: [{ containerPort: 8080 }], env: [{ name: 'MODE', value: 'production' }] }] },
      },
    },
  };
}

/** `pullfix audit -A -o json` with the admin kubeconfig; the child reports its own peak RSS and CPU on fd 3. */
function audit(kubeconfig: string): Promise<{ wallS: number; cpuS: number; peakRssMb: number; stdout: string; stderr: string; status: number | null }> {
  const main = repoPath('dist', 'src', 'cli', 'main.js');
  const probe =
    `process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeSync(3, JSON.stringify({ rss: u.maxRSS, cpu: (u.userCPUTime + u.systemCPUTime) / 1e6 })); });` +
    `process.argv = [process.argv[0], ${JSON.stringify(main)}, 'audit', '-A', '-o', 'json'];` +
    `import(${JSON.stringify(new URL(`file://${main}`).href)});`;
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
  delete env.KUBERNETES_SERVICE_HOST;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--input-type=commonjs', '-e', probe], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    let report = '';
    let stdout = '';
    let stderr = '';
    child.stdio[3]?.on('data', (d: Buffer) => (report += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const r = report ? (JSON.parse(report) as { rss: number; cpu: number }) : { rss: 0, cpu: 0 };
      resolve({ wallS, cpuS: r.cpu, peakRssMb: r.rss / 1024, stdout, stderr, status });
    });
  });
}

async function main(): Promise<AuditScaleResult> {
  installExitHandlers();
  say('starting etcd and kube-apiserver (the make e2e harness)');
  const cluster = await TestCluster.start();
  const result: AuditScaleResult = { apiServer: cluster.apiServerVersion(), deployments: 0, namespaces: nsCount, createPerS: Number.NaN, wallS: Number.NaN, cpuS: Number.NaN, peakRssMb: Number.NaN, findings: 0, status: null };
  try {
    const deadline = Date.now() + createBudgetMs;
    await createAll(cluster, nsCount, () => '/api/v1/namespaces', (i) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceName(i), labels: { 'pullfix.dev/mutable': 'Always' } } }), deadline);
    const t0 = Date.now();
    result.deployments = await createAll(cluster, total, (i) => `/apis/apps/v1/namespaces/${namespaceName(i % nsCount)}/deployments`, deployment, deadline);
    result.createPerS = result.deployments / ((Date.now() - t0) / 1000);
    say(`${result.deployments} Deployments in ${nsCount} namespaces (${result.createPerS.toFixed(0)}/s)`);
    if (result.deployments < total) {
      result.error = `only ${result.deployments} of ${total} Deployments created within ${createBudgetMs / 1000} s`;
      return result;
    }
    const run = await audit(cluster.kubeconfig);
    Object.assign(result, { wallS: run.wallS, cpuS: run.cpuS, peakRssMb: run.peakRssMb, status: run.status });
    try {
      result.findings = (JSON.parse(run.stdout) as { findings: unknown[] }).findings.length;
    } catch {
      result.error = `audit printed no AuditReport (exit ${run.status}): ${run.stderr.slice(0, 300)}`;
    }
    say(`audit -A: ${run.wallS.toFixed(2)} s, ${run.cpuS.toFixed(2)} s CPU, peak RSS ${run.peakRssMb.toFixed(0)} MB, ${result.findings} findings, exit ${run.status}`);
  } finally {
    await cluster.stop();
  }
  return result;
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: Error) => {
    process.stderr.write(`audit bench failed: ${err.stack ?? err.message}\n`);
    process.stdout.write(`${JSON.stringify({ apiServer: 'unknown', deployments: 0, namespaces: nsCount, createPerS: Number.NaN, wallS: Number.NaN, cpuS: Number.NaN, peakRssMb: Number.NaN, findings: 0, status: null, error: err.message.split('\n')[0] })}\n`);
    process.exitCode = 1;
  },
);
