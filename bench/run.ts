// `make bench`: pullfix serve against two floors (a bare node:https server and a bare express
// app), same certificates and keep-alive, each in its own process, loaded by a separate load
// generator process for every review shape; then the in-process figures; then, for a missed
// target, a CPU profile. Prints a markdown report and writes bench/results.json.
//
// Settings (environment): BENCH_DURATION (s per run, 3.5), BENCH_WARMUP (s, 0.5), BENCH_ROUNDS (2),
// BENCH_CONNECTIONS (8), BENCH_RATE (500), BENCH_RATE_CONNECTIONS (4), BENCH_GENERATOR
// (h2load | autocannon; h2load when installed), BENCH_OUT (bench/results.json).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NAMESPACE_COUNT, SHAPES, fixturePath, namespacesYaml, repoPath } from './common.js';
import type { AuditScaleResult } from './audit-scale.js';
import type { FixBenchResult } from './fix.js';
import type { InProcessResult } from './in-process.js';
import { type Generator, type LoadRun, h2loadAvailable, load } from './loadgen.js';
import { type Certs, type RunningProcess, type ServerName, cpuSeconds, memory, post, startBare, startPullfix, stop } from './processes.js';
import { type Frame, type Share, groupShares, topFrames } from './profile.js';
import { type ApiLatencyResult, type Results, type ServerShapeResult, evaluateTargets, markdown, mean } from './report.js';
import type { ScaleResult } from './scale.js';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number`);
  return value;
};
const settings = {
  generator: (process.env.BENCH_GENERATOR ?? (h2loadAvailable() ? 'h2load' : 'autocannon')) as Generator,
  connections: env('BENCH_CONNECTIONS', 8),
  durationS: env('BENCH_DURATION', 3.5),
  warmupS: env('BENCH_WARMUP', 0.5),
  rate: env('BENCH_RATE', 500),
  rateConnections: env('BENCH_RATE_CONNECTIONS', 4),
  rounds: env('BENCH_ROUNDS', 2),
  order: ['pullfix', 'express', 'https'] as ServerName[],
};
const outFile = process.env.BENCH_OUT ?? repoPath('bench', 'results.json');
const began = Date.now();
const loadAtStart = os.loadavg()[0] ?? Number.NaN;
const say = (line: string): void => {
  process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
};

const work = mkdtempSync(path.join(os.tmpdir(), 'pullfix-bench-'));
const running: RunningProcess[] = [];
async function cleanUp(): Promise<void> {
  await Promise.all(running.map((p) => stop(p)));
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

function makeCerts(): Certs {
  const dir = path.join(work, 'certs');
  execFileSync('bash', [repoPath('certs', 'make-dev-certs.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { dir, ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
}

/** Every server answers every shape as expected, over TLS verified against the test CA. */
async function checkAnswers(servers: RunningProcess[], certs: Certs): Promise<void> {
  for (const server of servers) {
    for (const shape of SHAPES) {
      const body = readFileSync(fixturePath(shape));
      const uid = (JSON.parse(body.toString()) as { request: { uid: string } }).request.uid;
      const answer = await post(server.port, certs.ca, body);
      const response = answer.body.response;
      const wantPatch = server.name === 'pullfix' && shape.patched;
      if (answer.status !== 200 || response?.uid !== uid || response.allowed !== true || (response.patch !== undefined) !== wantPatch) {
        throw new Error(`${server.name} answered ${shape.fixture} unexpectedly: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
      }
    }
  }
}

async function measure(server: RunningProcess, bodyFile: string, rate: number): Promise<{ run: LoadRun; cpuUs: number }> {
  const cpuBefore = cpuSeconds(server.pid);
  const run = await load(settings.generator, {
    url: `https://127.0.0.1:${server.port}/mutate?timeout=5s`,
    bodyFile,
    connections: rate > 0 ? settings.rateConnections : settings.connections,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    rate,
    workDir: work,
  });
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  if (run.failed > 0 || run.requests === 0) throw new Error(`${server.name}: ${run.failed} failed requests out of ${run.requests + run.failed}`);
  // CPU over the whole run, warm-up included, divided by the requests counted after it.
  const all = run.requests + run.rps * settings.warmupS;
  return { run, cpuUs: (cpu / all) * 1e6 };
}

/**
 * Namespaces at scale (bench/scale.ts) in a process of its own: it starts the `make e2e`
 * harness (etcd and kube-apiserver on loopback), so it stops everything it started whatever
 * happens; bounded here as well.
 */
function scale(): ScaleResult {
  try {
    const out = execFileSync(process.execPath, [repoPath('dist', 'bench', 'scale.js')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 30 * 60_000,
      killSignal: 'SIGTERM',
    });
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ScaleResult;
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    const last = out.trim().split('\n').at(-1);
    if (last?.startsWith('{')) return JSON.parse(last) as ScaleResult;
    return { apiServer: 'unknown', steps: [], error: (err as Error).message.split('\n')[0] ?? 'failed' };
  }
}

/** `pullfix audit -A` over 10,000 Deployments (bench/audit-scale.ts), in a process of its own like scale(). */
function auditScale(): AuditScaleResult {
  const failed = (error: string): AuditScaleResult => ({ apiServer: 'unknown', deployments: 0, namespaces: 0, createPerS: Number.NaN, wallS: Number.NaN, cpuS: Number.NaN, peakRssMb: Number.NaN, findings: 0, status: null, error });
  try {
    const out = execFileSync(process.execPath, [repoPath('dist', 'bench', 'audit-scale.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000, killSignal: 'SIGTERM' });
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as AuditScaleResult;
  } catch (err) {
    const last = ((err as { stdout?: string }).stdout ?? '').trim().split('\n').at(-1);
    if (last?.startsWith('{')) return JSON.parse(last) as AuditScaleResult;
    return failed((err as Error).message.split('\n')[0] ?? 'failed');
  }
}

/**
 * The API-server suite's latency measurement (test/e2e/webhook-latency.test.ts), run as make e2e
 * runs it (mocha with the e2e setup: a real etcd and kube-apiserver, pullfix and its webhooks);
 * the test writes its figures to PULLFIX_LATENCY_OUT.
 */
function apiLatency(): ApiLatencyResult {
  const out = path.join(work, 'api-latency.json');
  const failed = (error: string): ApiLatencyResult => ({ rounds: 0, series: [], ratio: Number.NaN, patchRatio: Number.NaN, histogram: { pullfixMeanMs: Number.NaN, bareMeanMs: Number.NaN, ratio: Number.NaN }, error });
  try {
    execFileSync(process.execPath, [repoPath('node_modules', 'mocha', 'bin', 'mocha.js'), '--config', repoPath('test', 'e2e', '.mocharc.json'), '--grep', 'latency pullfix adds'], {
      cwd: repoPath(),
      env: { ...process.env, PULLFIX_LATENCY_OUT: out },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 20 * 60_000,
      killSignal: 'SIGTERM',
    });
  } catch (err) {
    return failed(`the e2e measurement failed: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  return existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as ApiLatencyResult) : failed('the e2e measurement wrote no figures');
}

/** bench/fix.ts's figures: bench.sh runs it first and passes its output file in BENCH_FIX_OUT. */
function fixFigures(): FixBenchResult | undefined {
  const file = process.env.BENCH_FIX_OUT;
  const text = file && existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return text ? (JSON.parse(text) as FixBenchResult) : undefined;
}

function inProcess(): InProcessResult {
  const out = execFileSync(process.execPath, ['--expose-gc', repoPath('dist', 'bench', 'in-process.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as InProcessResult;
}

/** The parts of a request that the profile under load is summed into. */
const LOAD_PARTS = [
  { group: 'express, router, body-parser, raw-body: their own code (the framework floor runs it too)', match: /^\S+ (express|router|body-parser|raw-body)\//, self: true },
  { group: 'writing the response: res.end, HTTP and TLS (the floors do this too)', match: /^end node:_http_outgoing/ },
  { group: 'pullfix admission handler: decode, engine, response', match: /^(handle|admit|answer) dist\/src\/admission\/handler\.js/ },
  { group: 'of which the engine (engine.mutate)', match: /^mutate dist\/src\/engine\/mutate\.js/ },
  { group: 'logging: the JSON line per patched review (pino, sonic-boom)', match: /^\S+ (pino|sonic-boom)\// },
  { group: 'metrics (prom-client)', match: /^\S+ prom-client\// },
  { group: 'garbage collector', match: /^\(garbage collector\)$/, self: true },
  { group: 'module loading at start', match: /^Module\._load / },
];

/** The parts of a start with a large namespaces file. */
const START_PARTS = [
  { group: 'reading the namespaces file: parseNamespaceFile (the yaml library)', match: /^parseNamespaceFile dist\/src\/cluster\/namespace-file-source\.js/ },
  { group: 'garbage collector', match: /^\(garbage collector\)$/, self: true },
  { group: 'module loading', match: /^Module\._load |^(link|instantiate|evaluate|compileSourceTextModule) / },
];

function newestProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files.at(-1);
  if (!file) throw new Error(`no CPU profile in ${dir}`);
  return path.join(dir, file);
}

async function main(): Promise<void> {
  const certs = makeCerts();
  const exampleYaml = readFileSync(repoPath('examples', 'namespaces.yaml'), 'utf8');
  const ns10k = path.join(work, 'namespaces-10k.yaml');
  writeFileSync(ns10k, namespacesYaml(exampleYaml, NAMESPACE_COUNT));
  const exampleCount = (exampleYaml.match(/^- apiVersion: v1$/gm) ?? []).length;
  say(`load generator: ${settings.generator}; work dir ${work}`);

  // (a) pullfix standalone with the example namespaces file, (b) bare https, (c) bare express.
  const servers = {
    pullfix: await startPullfix({ certs, namespacesFile: repoPath('examples', 'namespaces.yaml'), logFile: path.join(work, 'pullfix.log') }),
    express: await startBare('express', certs),
    https: await startBare('https', certs),
  };
  running.push(servers.pullfix, servers.express, servers.https);
  say(`pullfix ready in ${servers.pullfix.readyMs.toFixed(0)} ms`);
  await checkAnswers(Object.values(servers), certs);

  // Warm every server's JIT on every shape before anything counts.
  for (const name of settings.order) {
    for (const shape of SHAPES) {
      await load(settings.generator, { url: `https://127.0.0.1:${servers[name].port}/mutate?timeout=5s`, bodyFile: fixturePath(shape), connections: settings.connections, durationS: 0.5, warmupS: 0, rate: 0, workDir: work });
    }
  }

  const results: Record<string, Record<ServerName, ServerShapeResult>> = {};
  const empty = (): ServerShapeResult => ({ throughput: [], fixedRate: [], cpuUsPerRequest: [], rps: 0, p50Ms: 0, p99Ms: 0 });
  for (const shape of SHAPES) results[shape.key] = { pullfix: empty(), express: empty(), https: empty() };

  for (let round = 1; round <= settings.rounds; round++) {
    // A B C in odd rounds, C B A in even ones: a drift over time falls on every server alike.
    const order = round % 2 === 1 ? settings.order : [...settings.order].reverse();
    for (const shape of SHAPES) {
      for (const name of order) {
        const { run, cpuUs } = await measure(servers[name], fixturePath(shape), 0);
        const r = results[shape.key]?.[name] as ServerShapeResult;
        r.throughput.push(run);
        r.cpuUsPerRequest.push(cpuUs);
        say(`round ${round} ${shape.key} ${name}: ${run.rps.toFixed(0)} req/s, ${cpuUs.toFixed(0)} µs CPU/req, load generator ${run.clientCores.toFixed(2)} cores`);
      }
      for (const name of order) {
        const { run } = await measure(servers[name], fixturePath(shape), settings.rate);
        (results[shape.key]?.[name] as ServerShapeResult).fixedRate.push(run);
        say(`round ${round} ${shape.key} ${name} at ${settings.rate}/s: p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms`);
      }
    }
  }

  const serverFigures = {} as Results['servers'];
  for (const name of settings.order) serverFigures[name] = { readyMs: servers[name].readyMs, ...memory(servers[name].pid) };
  await Promise.all(Object.values(servers).map((s) => stop(s)));
  running.length = 0;

  // pullfix with 10,000 namespaces: time to ready, RSS after a short load.
  const big = await startPullfix({ certs, namespacesFile: ns10k, logFile: path.join(work, 'pullfix-10k.log') });
  running.push(big);
  say(`pullfix with ${NAMESPACE_COUNT + exampleCount} namespaces ready in ${big.readyMs.toFixed(0)} ms`);
  const deployShape = SHAPES.find((s) => s.key === 'deploy-3-stray') ?? SHAPES[0];
  const bigRun = await measure(big, fixturePath(deployShape as (typeof SHAPES)[number]), 0);
  const pullfix10k = { readyMs: big.readyMs, ...memory(big.pid), namespaces: NAMESPACE_COUNT + exampleCount, rps: bigRun.run.rps };
  await stop(big);
  running.length = 0;

  say('in-process figures (tinybench)');
  const inProc = inProcess();
  say('namespaces at scale: a real kube-apiserver (the make e2e harness)');
  const scaleResult = process.env.BENCH_SCALE === '0' ? { apiServer: 'unknown', steps: [], error: 'skipped (BENCH_SCALE=0)' } : scale();
  say('pullfix audit -A over 10,000 Deployments: a real kube-apiserver (the make e2e harness)');
  const auditResult = process.env.BENCH_AUDIT === '0' ? undefined : auditScale();
  say('added latency per create through a real kube-apiserver (the make e2e measurement)');
  const latencyResult = process.env.BENCH_LATENCY === '0' ? undefined : apiLatency();
  const fixResult = fixFigures();

  const shapes: Results['shapes'] = {};
  for (const shape of SHAPES) {
    const servers = results[shape.key] as Record<ServerName, ServerShapeResult>;
    for (const s of Object.values(servers)) {
      s.rps = mean(s.throughput.map((x) => x.rps));
      s.p50Ms = mean(s.fixedRate.map((x) => x.p50Ms));
      s.p99Ms = mean(s.fixedRate.map((x) => x.p99Ms));
    }
    shapes[shape.key] = {
      label: shape.label,
      servers,
      ratios: { vsExpress: servers.pullfix.rps / servers.express.rps, vsHttps: servers.pullfix.rps / servers.https.rps },
    };
  }
  const cpus = os.cpus();
  const partial = {
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model.trim() ?? 'unknown',
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      date: new Date().toISOString(),
      loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? Number.NaN },
    },
    settings: { ...settings },
    shapes,
    servers: serverFigures,
    pullfix10k,
    scale: scaleResult,
    inProcess: inProc,
    ...(fixResult ? { fix: fixResult } : {}),
    ...(auditResult ? { audit: auditResult } : {}),
    ...(latencyResult ? { apiLatency: latencyResult } : {}),
  };
  const targets = evaluateTargets(partial);

  // A missed target gets a CPU profile of what missed it.
  const profiles: Record<string, Frame[]> = {};
  const profileShares: Record<string, Share[]> = {};
  const missed = (prefix: string): boolean => targets.some((t) => !t.met && t.name.startsWith(prefix));
  if (missed('throughput') || missed('p99')) {
    const dir = path.join(work, 'profile-load');
    mkdirSync(dir);
    const p = await startPullfix({ certs, namespacesFile: repoPath('examples', 'namespaces.yaml'), logFile: path.join(work, 'pullfix-prof.log'), nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    running.push(p);
    await measure(p, fixturePath(deployShape as (typeof SHAPES)[number]), 0);
    await stop(p, 15_000);
    running.length = 0;
    const file = newestProfile(dir);
    profiles['pullfix serve under deploy-3-stray load'] = topFrames(file, 15);
    profileShares['pullfix serve under deploy-3-stray load'] = groupShares(file, LOAD_PARTS);
  }
  if (missed('ready (/readyz 200) after start, standalone')) {
    const dir = path.join(work, 'profile-start');
    mkdirSync(dir);
    const p = await startPullfix({ certs, namespacesFile: ns10k, logFile: path.join(work, 'pullfix-prof-10k.log'), nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    running.push(p);
    await stop(p, 15_000);
    running.length = 0;
    const file = newestProfile(dir);
    const name = `pullfix serve start to ready, ${pullfix10k.namespaces} namespaces`;
    profiles[name] = topFrames(file, 12);
    profileShares[name] = groupShares(file, START_PARTS);
  }
  if (missed('engine')) {
    const dir = path.join(work, 'profile-engine');
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, repoPath('dist', 'bench', 'in-process.js'), '--engine-only', 'deploy-3-stray'], { stdio: 'ignore', timeout: 60_000 });
    profiles['engine, deploy-3-stray review, in process'] = topFrames(newestProfile(dir), 12);
  }

  const results_: Results = { ...partial, targets, profiles, profileShares, elapsedS: (Date.now() - began) / 1000 };
  writeFileSync(outFile, `${JSON.stringify(results_, null, 2)}\n`);
  process.stdout.write(`${markdown(results_)}\n`);
  say(`wrote ${path.relative(process.cwd(), outFile)}`);
}

main().then(
  () => cleanUp(),
  async (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    await cleanUp();
    process.exitCode = 1;
  },
);
