// In-process figures, in one process of their own: the engine's time per review shape (and,
// for comparison, the admission handler and the JSON work around it), and the namespace
// cache with 10,000 namespaces loaded: load time, memory it keeps, lookup time.
//   node --expose-gc dist/bench/in-process.js [--time-ms 300]    prints one JSON line
//   node --cpu-prof dist/bench/in-process.js --engine-only SHAPE    the engine alone, 3 s, for a profile
//                   (SHAPE-reinvoked: the engine on its own output, a review it leaves alone)
//   node dist/bench/in-process.js --shapes-only                    the shapes, not the namespace cache
//   node dist/bench/in-process.js --compare [FILE]                 then, on stderr, each figure
//                   against FILE's (bench/results.json by default, the committed figures), flagging
//                   any more than 20% worse (bench/compare.ts); it never fails the run
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Bench } from 'tinybench';
import { createAdmissionHandler } from '../src/admission/handler.js';
import { decodeReview } from '../src/admission/review.js';
import { FileNamespaceSource, parseNamespaceFile } from '../src/cluster/namespace-file-source.js';
import { loadConfigFile } from '../src/config/load-config.js';
import { compileConfig } from '../src/engine/config.js';
import { createEngine } from '../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../src/engine/namespace-policy.js';
import { NAMESPACE_COUNT, SHAPES, fixturePath, flags, namespacesYaml, repoPath } from './common.js';
import { compareFiguresReport } from './compare.js';

export interface ShapeTimes {
  /** engine.mutate alone, µs (mean). */
  engineUs: number;
  /** decodeReview + engine + response building (src/admission/handler.ts), µs. */
  handlerUs: number;
  /** JSON.parse of the body + handler + JSON.stringify of the answer: all of pullfix's own work per request, µs. */
  requestUs: number;
  /** JSON.parse + JSON.stringify of an allowed answer: what the bare servers do, µs. */
  floorUs: number;
  patchOps: number;
  /**
   * engine.mutate on its own output, µs: a review it answers with no patch after reading it all
   * (a reinvocation, or a re-apply of what pullfix already fixed). Patched shapes only.
   */
  reinvokedEngineUs?: number;
}

export interface NamespaceFigures {
  count: number;
  fileBytes: number;
  /** FileNamespaceSource.start(): read, parse, build the map. */
  loadMs: number;
  /** Heap the loaded source keeps after a full GC. */
  retainedHeapMB: number;
  /** Peak RSS of this process after loading (it includes the parse's garbage). */
  peakRssMB: number;
  /** source.get(name) for a random known name, ns. */
  lookupNs: number;
  /** resolveNamespacePolicy for one namespace (the handler caches it per namespace object), µs. */
  resolveUs: number;
}

export interface InProcessResult {
  shapes: Record<string, ShapeTimes>;
  namespaces: NamespaceFigures;
}

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
const f = flags(process.argv.slice(2));
const loadAtStart = loadavg()[0] ?? Number.NaN;
const time = Number(f.get('time-ms') ?? '300');

const config = compileConfig(loadConfigFile(repoPath('examples', 'config.yaml')));
const engine = createEngine(config);
const examples = parseNamespaceFile(readFileSync(repoPath('examples', 'namespaces.yaml'), 'utf8'), 'examples/namespaces.yaml');
const byName = new Map(examples.map((n) => [n.name, n]));
const handler = createAdmissionHandler({ engine: () => engine, namespace: (name) => byName.get(name) });

const bench = new Bench({ time, warmupTime: 100 });
const batches = new Map<string, number>();

/**
 * Adds a task that runs `fn` in batches of at least ~50 µs: a call of well under a
 * microsecond is too short for the timer, and one sample per call would leave tinybench
 * millions of samples to sort.
 */
function add(name: string, fn: () => void): void {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < 5) {
    fn();
    calls++;
  }
  const batch = Math.max(1, Math.ceil(0.05 / (5 / calls)));
  batches.set(name, batch);
  bench.add(name, () => {
    for (let n = 0; n < batch; n++) fn();
  });
}

const patchOps: Record<string, number> = {};
const engineOnly = f.get('engine-only');
for (const shape of SHAPES) {
  if (engineOnly !== undefined && shape.key !== engineOnly && `${shape.key}-reinvoked` !== engineOnly) continue;
  const raw = readFileSync(fixturePath(shape), 'utf8');
  const body: unknown = JSON.parse(raw);
  const request = decodeReview(body);
  const policy = resolveNamespacePolicy(config, byName.get(request.namespace));
  const mutation = {
    group: request.group,
    kind: request.kind,
    operation: request.operation,
    object: request.object,
    oldObject: request.oldObject,
    policy,
    source: 'admission' as const,
  };
  const result = engine.mutate(mutation);
  if ((result.patch.length > 0) !== shape.patched) throw new Error(`${shape.fixture}: expected patched=${shape.patched}`);
  patchOps[shape.key] = result.patch.length;
  const reinvoked = { ...mutation, object: result.mutated };
  if (shape.patched && engine.mutate(reinvoked).patch.length > 0) throw new Error(`${shape.fixture}: a second call patched again`);
  if (engineOnly !== undefined) {
    const profiled = engineOnly === shape.key ? mutation : reinvoked;
    const until = Date.now() + 3000;
    while (Date.now() < until) for (let n = 0; n < 1000; n++) engine.mutate(profiled);
    process.exit(0);
  }
  add(`engine ${shape.key}`, () => {
    engine.mutate(mutation);
  });
  if (shape.patched) {
    add(`reinvoked ${shape.key}`, () => {
      engine.mutate(reinvoked);
    });
  }
  add(`handler ${shape.key}`, () => {
    handler.handle(body);
  });
  add(`request ${shape.key}`, () => {
    JSON.stringify(handler.handle(JSON.parse(raw)).review);
  });
  add(`floor ${shape.key}`, () => {
    const parsed = JSON.parse(raw) as { apiVersion: string; request: { uid: string } };
    JSON.stringify({ apiVersion: parsed.apiVersion, kind: 'AdmissionReview', response: { uid: parsed.request.uid, allowed: true } });
  });
}
if (engineOnly !== undefined) throw new Error(`--engine-only: no shape ${engineOnly} (${SHAPES.map((x) => x.key).join(', ')}, or one of them -reinvoked)`);
await bench.run();

function meanUs(name: string): number {
  const task = bench.getTask(name);
  if (!task?.result) throw new Error(`no result for ${name}`);
  return (task.result.latency.mean * 1000) / (batches.get(name) ?? 1);
}

const shapes: Record<string, ShapeTimes> = {};
for (const shape of SHAPES) {
  shapes[shape.key] = {
    engineUs: meanUs(`engine ${shape.key}`),
    handlerUs: meanUs(`handler ${shape.key}`),
    requestUs: meanUs(`request ${shape.key}`),
    floorUs: meanUs(`floor ${shape.key}`),
    patchOps: patchOps[shape.key] ?? 0,
    ...(shape.patched ? { reinvokedEngineUs: meanUs(`reinvoked ${shape.key}`) } : {}),
  };
}

/** Prints the comparison with the committed figures on stderr when asked (stdout keeps the one JSON line). */
function compareIfAsked(current: { inProcess: Partial<InProcessResult> }): void {
  const against = f.get('compare');
  if (against === undefined) return;
  const file = against === 'true' ? repoPath('bench', 'results.json') : against;
  const machine = { loadAverage: { start: loadAtStart, end: loadavg()[0] ?? Number.NaN } };
  process.stderr.write(compareFiguresReport(file, { ...current, machine }));
}

if (f.has('shapes-only')) {
  process.stdout.write(`${JSON.stringify({ shapes })}\n`);
  compareIfAsked({ inProcess: { shapes } });
  process.exit(0);
}

// The namespace cache, loaded the way `pullfix serve --namespaces FILE` loads it.
const dir = mkdtempSync(path.join(tmpdir(), 'pullfix-bench-ns-'));
const file = path.join(dir, 'namespaces.yaml');
const text = namespacesYaml(readFileSync(repoPath('examples', 'namespaces.yaml'), 'utf8'), NAMESPACE_COUNT);
writeFileSync(file, text);
gc();
const heapBefore = process.memoryUsage().heapUsed;
const loadStart = process.hrtime.bigint();
const source = new FileNamespaceSource(file);
await source.start();
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
const peakRssMB = process.resourceUsage().maxRSS / 1024;
gc();
const retainedHeapMB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
rmSync(dir, { recursive: true, force: true });
if (source.status().size !== NAMESPACE_COUNT + examples.length) throw new Error(`loaded ${source.status().size} namespaces`);

// A batch per sample: one lookup is too short for the timer.
const BATCH = 1024;
const names = Array.from({ length: BATCH }, (_, i) => `team-${(i * 7919) % NAMESPACE_COUNT}`);
let found = 0;
const nsBench = new Bench({ time, warmupTime: 100 });
nsBench
  .add('lookup', () => {
    for (const name of names) if (source.get(name)) found++;
  })
  .add('resolve', () => {
    for (const name of names) resolveNamespacePolicy(config, source.get(name));
  });
await nsBench.run();
if (found === 0) throw new Error('lookups found nothing');

const result: InProcessResult = {
  shapes,
  namespaces: {
    count: source.status().size,
    fileBytes: Buffer.byteLength(text),
    loadMs,
    retainedHeapMB,
    peakRssMB,
    lookupNs: ((nsBench.getTask('lookup')?.result?.latency.mean ?? Number.NaN) * 1e6) / BATCH,
    resolveUs: ((nsBench.getTask('resolve')?.result?.latency.mean ?? Number.NaN) * 1000) / BATCH,
  },
};
await source.stop();
process.stdout.write(`${JSON.stringify(result)}\n`);
compareIfAsked({ inProcess: result });
