// The load generator, in its own process so that its CPU is not the server's: autocannon over
// TLS keep-alive, several connections, POSTing one recorded review for a fixed time, either as
// fast as the server answers (`--rate 0`) or at a fixed offered rate. Latencies are taken from
// autocannon's per-response event at full resolution (its own histogram rounds to 1 ms) and
// reported with the process's CPU time, so a load generator that saturated its core shows.
//   node dist/bench/load.js --url U --body FILE --connections 8 --duration 5 [--rate 500]
// Prints one JSON line.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { flags, percentile, required } from './common.js';

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU the load generator used, as a share of one core. */
  clientCpu: number;
}

const f = flags(process.argv.slice(2));
const body = readFileSync(required(f, 'body'));
const rate = Number(f.get('rate') ?? '0');
const latencies: number[] = [];
const cpuStart = process.cpuUsage();
const started = process.hrtime.bigint();

const instance = autocannon(
  {
    url: required(f, 'url'),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: Number(f.get('connections') ?? '8'),
    pipelining: 1,
    duration: Number(f.get('duration') ?? '5'),
    timeout: 10,
    ...(rate > 0 ? { overallRate: rate } : {}),
  },
  (err, result) => {
    if (err) {
      process.stderr.write(`load: ${err.message}\n`);
      process.exit(1);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStart);
    latencies.sort((a, b) => a - b);
    const out: LoadResult = {
      requests: result['2xx'],
      seconds: result.duration,
      rps: result['2xx'] / result.duration,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? Number.NaN,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      clientCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
  if (status >= 200 && status < 300) latencies.push(ms);
});
