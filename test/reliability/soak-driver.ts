// Issue item 6, `make soak`: the real `pullfix serve` as a child process, driven at a fixed rate
// over keep-alive TLS for SOAK_SECONDS (default 300) at SOAK_RATE reviews/s (default 200).
// Every 5 s it samples the child's RSS (/proc/PID/status VmRSS), V8 heap in use (the
// nodejs_heap_size_used_bytes metric) and open file descriptors (/proc/PID/fd), and
// prints a row. Heap in use is a sawtooth (garbage piles up between collections), which hides
// a slow leak, so the child also runs with --expose-gc and a one-line hook that collects on
// SIGUSR2: each row also shows the heap just after a full collection, which is live data only.
// Verdict: RSS and live heap (medians) grow less than 10% from the 15 s after the warm-up
// (SOAK_WARMUP_SECONDS, default 30) to the last 15 s, every review is answered, and once the
// load stops and its connections close, the descriptors are back to their count before it.
// Not a *.test.ts file: mocha does not pick it up; `node dist/test/reliability/soak-driver.js`.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCerts, removeDir } from '../helpers/certs.js';
import { loadReview, repoPath } from '../helpers/fixtures.js';
import { checkAnswer, getHealth, keepAliveAgent, metric, post, quantile, RequestFailure, reviewWithUid, scrape, spawnServe, until } from './helpers.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const RATE = Number(process.env.SOAK_RATE ?? 200);
const WARMUP = Math.min(Number(process.env.SOAK_WARMUP_SECONDS ?? 30), SECONDS / 2);
const SAMPLE_MS = 5000;
/** Test-only, in the child: a full collection on SIGUSR2 (nothing in pullfix is changed). */
const GC_HOOK = `data:text/javascript,${encodeURIComponent('process.on("SIGUSR2", () => globalThis.gc?.());')}`;
const GROWTH_LIMIT = 0.1;
/** Requests in flight beyond this are not sent (and counted as skipped): the rate stays bounded. */
const MAX_IN_FLIGHT = 512;
const CONNECTIONS = 16;

const FIXTURES = [
  'pod-misplaced-kubectl-apply.json',
  'deployment-kubectl-apply-stray.json',
  'deployment-server-side-apply.json',
  'pod-50-containers.json',
  'cloneset-stray.json',
  'configmap.json',
  'pod-ephemeral-debug.json',
  'pod-one-container.json',
].map((f) => loadReview(f));

interface Sample {
  t: number;
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
  rps: number;
  p99: number;
  rss: number;
  /** Heap in use as scraped (sawtooth). */
  heap: number;
  /** Heap in use just after a full collection: live data. */
  live: number;
  fds: number;
}

const MiB = 2 ** 20;

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

async function main(): Promise<number> {
  if (!Number.isFinite(SECONDS) || SECONDS < 10 || !Number.isFinite(RATE) || RATE <= 0) {
    console.error('SOAK_SECONDS must be at least 10 and SOAK_RATE positive');
    return 2;
  }
  const certs = makeCerts();
  writeFileSync(join(certs.dir, 'config.yaml'), readFileSync(repoPath('examples', 'config.yaml')));
  const serve = spawnServe([
    '--config', join(certs.dir, 'config.yaml'),
    '--tls-cert', certs.cert,
    '--tls-key', certs.key,
    '--namespaces', repoPath('examples', 'namespaces.yaml'),
  ], ['--expose-gc', '--import', GC_HOOK]);
  try {
    const { port, healthPort } = await serve.listening;
    const pid = serve.child.pid!;
    await until(async () => (await getHealth(healthPort, '/readyz')).status === 200, '/readyz', 15_000);
    const ca = readFileSync(certs.caCert);
    const fdsBefore = fdsOf(pid);
    console.log(`soak: pullfix serve pid ${pid}, ${RATE} reviews/s for ${SECONDS} s over ${CONNECTIONS} keep-alive connections; warm-up ${WARMUP} s; ${fdsBefore} fds before the load`);
    console.log('   t(s)     sent       ok  failed  skipped    rps  p99(ms)  RSS(MiB)  heap(MiB)  live heap(MiB)  fds');

    const agent = keepAliveAgent(ca, CONNECTIONS);
    const totals = { sent: 0, ok: 0, failed: 0, skipped: 0 };
    const errors = new Map<string, number>();
    let window: number[] = [];
    let inFlight = 0;
    let next = 0;

    function fire(): void {
      if (inFlight >= MAX_IN_FLIGHT) {
        totals.skipped++;
        return;
      }
      inFlight++;
      totals.sent++;
      const uid = `soak-${totals.sent}`;
      const body = reviewWithUid(uid, FIXTURES[next++ % FIXTURES.length]);
      const t0 = performance.now();
      post(port, body, { agent, ca, timeoutMs: 10_000 })
        .then((reply) => {
          checkAnswer(reply, uid);
          window.push(performance.now() - t0);
          totals.ok++;
        })
        .catch((err: Error) => {
          totals.failed++;
          const key = err instanceof RequestFailure ? err.code : err.message.slice(0, 80);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        })
        .finally(() => inFlight--);
    }

    // Open loop: whatever the latency, the schedule says how many should have gone by now.
    const started = performance.now();
    const ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      while (totals.sent + totals.skipped < due) fire();
    }, 10);

    const samples: Sample[] = [];
    let last = { at: started, ok: 0 };
    const heapNow = async (): Promise<number> => metric(await scrape(healthPort), 'nodejs_heap_size_used_bytes') ?? Number.NaN;
    const sample = async (): Promise<Sample> => {
      const now = performance.now();
      const heap = await heapNow();
      serve.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 250));
      const live = await heapNow();
      const s: Sample = {
        t: (now - started) / 1000,
        ...totals,
        rps: (totals.ok - last.ok) / ((now - last.at) / 1000),
        p99: quantile(window, 0.99),
        rss: rssOf(pid),
        heap,
        live,
        fds: fdsOf(pid),
      };
      last = { at: now, ok: totals.ok };
      window = [];
      console.log(
        `${s.t.toFixed(0).padStart(7)} ${String(s.sent).padStart(8)} ${String(s.ok).padStart(8)} ${String(s.failed).padStart(7)} ${String(s.skipped).padStart(8)} ` +
          `${s.rps.toFixed(0).padStart(6)} ${s.p99.toFixed(1).padStart(8)} ${(s.rss / MiB).toFixed(1).padStart(9)} ${(s.heap / MiB).toFixed(1).padStart(10)} ${(s.live / MiB).toFixed(1).padStart(15)} ${String(s.fds).padStart(4)}`,
      );
      return s;
    };

    const end = started + SECONDS * 1000;
    let nextRow = started + SAMPLE_MS;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(end, nextRow) - performance.now())));
      samples.push(await sample());
      nextRow += SAMPLE_MS;
    }
    clearInterval(ticker);
    await until(() => inFlight === 0, 'the requests in flight', 15_000);
    agent.destroy();
    // The server closes its side of each connection when the client's FIN arrives.
    let fdsAfter = fdsOf(pid);
    const settle = Date.now() + 10_000;
    while (fdsAfter > fdsBefore && Date.now() < settle) {
      await new Promise((r) => setTimeout(r, 100));
      fdsAfter = fdsOf(pid);
    }

    const after = samples.filter((s) => s.t >= WARMUP);
    const head = after.slice(0, 3);
    const tail = after.slice(-3);
    const rssGrowth = median(tail.map((s) => s.rss)) / median(head.map((s) => s.rss)) - 1;
    const heapHead = median(head.map((s) => s.live));
    const heapTail = median(tail.map((s) => s.live));
    const heapGrowth = heapTail / heapHead - 1;
    const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

    const sigtermAt = Date.now();
    serve.child.kill('SIGTERM');
    const exit = await serve.exited;

    const checks: Array<[string, boolean]> = [
      [`RSS growth after warm-up ${pct(rssGrowth)} (${(median(head.map((s) => s.rss)) / MiB).toFixed(1)} -> ${(median(tail.map((s) => s.rss)) / MiB).toFixed(1)} MiB) < ${pct(GROWTH_LIMIT)}`, rssGrowth < GROWTH_LIMIT],
      [`live heap growth after warm-up ${pct(heapGrowth)} (${(heapHead / MiB).toFixed(1)} -> ${(heapTail / MiB).toFixed(1)} MiB) < ${pct(GROWTH_LIMIT)}`, heapGrowth < GROWTH_LIMIT],
      [`file descriptors ${fdsBefore} before the load, ${fdsAfter} after it (peak ${Math.max(...samples.map((s) => s.fds))})`, fdsAfter <= fdsBefore],
      [`${totals.ok} of ${totals.sent} reviews answered, ${totals.failed} failed${errors.size ? ` (${[...errors].map(([k, v]) => `${k}×${v}`).join(', ')})` : ''}`, totals.failed === 0],
      [`achieved ${(totals.ok / SECONDS).toFixed(0)} of ${RATE} reviews/s (${totals.skipped} skipped at ${MAX_IN_FLIGHT} in flight)`, totals.ok >= 0.95 * RATE * SECONDS],
      [`SIGTERM -> exit ${exit.at - sigtermAt} ms, code ${exit.code}`, exit.code === 0],
      [`enough samples after the warm-up (${after.length})`, after.length >= 4],
    ];
    console.log('');
    for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
    const pass = checks.every(([, ok]) => ok);
    console.log(`\nsoak verdict: ${pass ? 'PASS' : 'FAIL'}`);
    return pass ? 0 : 1;
  } finally {
    if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
    removeDir(certs.dir);
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`soak: ${err.stack ?? err.message}`);
    process.exit(2);
  },
);
