// Each figure of a bench run against the committed one (bench/results.json at HEAD), flagging
// any more than 20% worse. It prints and never fails: on a shared 2-core machine one run's
// figures move by more than 20% with the load (see the load averages it prints), so a flag is
// a reason to rerun on an idle machine and profile, not a verdict.
//   node dist/bench/compare.js --baseline FILE --current FILE [--threshold 0.2]
// `make bench` runs it after the run (mk/bench.mk); `node dist/bench/in-process.js --compare`
// runs it on the in-process figures alone.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHAPES, flags } from './common.js';

/** Lower is better for `us`, `ms`, `ns`, `s`, `MB`; higher for `req/s`. */
interface Figure {
  name: string;
  unit: 'µs' | 'ms' | 'ns' | 's' | 'MB' | 'req/s';
  read: (r: Partial<Record<string, any>>) => unknown;
}

const FIGURES: Figure[] = [
  ...SHAPES.flatMap((s): Figure[] => [
    { name: `engine ${s.key}`, unit: 'µs', read: (r) => r.inProcess?.shapes?.[s.key]?.engineUs },
    { name: `engine ${s.key}, reinvoked`, unit: 'µs', read: (r) => r.inProcess?.shapes?.[s.key]?.reinvokedEngineUs },
    { name: `handler ${s.key}`, unit: 'µs', read: (r) => r.inProcess?.shapes?.[s.key]?.handlerUs },
    { name: `request ${s.key}`, unit: 'µs', read: (r) => r.inProcess?.shapes?.[s.key]?.requestUs },
    { name: `throughput ${s.key}`, unit: 'req/s', read: (r) => r.shapes?.[s.key]?.servers?.pullfix?.rps },
    { name: `p99 ${s.key} at the fixed rate`, unit: 'ms', read: (r) => r.shapes?.[s.key]?.servers?.pullfix?.p99Ms },
  ]),
  { name: 'namespaces file load (10,000)', unit: 'ms', read: (r) => r.inProcess?.namespaces?.loadMs },
  { name: 'namespace heap kept (10,000)', unit: 'MB', read: (r) => r.inProcess?.namespaces?.retainedHeapMB },
  { name: 'namespace lookup', unit: 'ns', read: (r) => r.inProcess?.namespaces?.lookupNs },
  { name: 'namespace policy resolution', unit: 'µs', read: (r) => r.inProcess?.namespaces?.resolveUs },
  { name: 'pullfix RSS after load', unit: 'MB', read: (r) => r.servers?.pullfix?.rssMB },
  ...['fix-50mb', 'fix-50k-docs', 'krm-50mb'].flatMap((key): Figure[] => [
    { name: `${key} wall time`, unit: 's', read: (r) => (r.fix?.runs as Array<{ key: string; wallS: number }> | undefined)?.find((x) => x.key === key)?.wallS },
    { name: `${key} peak RSS`, unit: 'MB', read: (r) => (r.fix?.runs as Array<{ key: string; peakRssMb: number }> | undefined)?.find((x) => x.key === key)?.peakRssMb },
  ]),
  { name: 'audit -A over 10,000 Deployments', unit: 's', read: (r) => r.audit?.wallS },
  { name: 'audit -A peak RSS', unit: 'MB', read: (r) => r.audit?.peakRssMb },
  { name: 'added latency per create through the API server', unit: 'ms', read: (r) => (r.apiLatency?.series as Array<{ label: string; addedMs: number }> | undefined)?.find((x) => x.label === 'pullfix')?.addedMs },
];

export interface Comparison {
  name: string;
  unit: string;
  committed: number;
  now: number;
  /** Positive: worse, as a fraction of the committed figure. */
  worse: number;
  flagged: boolean;
}

/** The figures both runs have, each with how much worse it got (negative: better). */
export function compareFigures(committed: unknown, current: unknown, threshold = 0.2): Comparison[] {
  const out: Comparison[] = [];
  for (const figure of FIGURES) {
    const a = figure.read((committed ?? {}) as Record<string, any>);
    const b = figure.read((current ?? {}) as Record<string, any>);
    if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || a <= 0) continue;
    const worse = figure.unit === 'req/s' ? (a - b) / a : (b - a) / a;
    out.push({ name: figure.name, unit: figure.unit, committed: a, now: b, worse, flagged: worse > threshold });
  }
  return out;
}

const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The comparison as markdown, with the load averages of both runs when they were recorded. */
export function formatComparison(rows: readonly Comparison[], committed: unknown, current: unknown, threshold = 0.2): string {
  const load = (r: unknown): string => {
    const l = (r as { machine?: { loadAverage?: { start?: number; end?: number } } } | undefined)?.machine?.loadAverage;
    return l && typeof l.start === 'number' ? `${l.start.toFixed(1)} → ${(l.end ?? Number.NaN).toFixed(1)}` : 'not recorded';
  };
  const lines = [
    `## Against the committed figures (flag: more than ${Math.round(threshold * 100)}% worse)`,
    '',
    `Load average: committed run ${load(committed)}, this run ${load(current)}. Figures from a shared or loaded machine`,
    'move by more than the threshold on their own: a flag asks for a rerun on an idle machine, then a profile; it fails nothing.',
    '',
    '| figure | committed | now | change | |',
    '|---|--:|--:|--:|---|',
  ];
  for (const r of rows) {
    const change = `${r.worse > 0 ? '+' : ''}${(r.worse * 100).toFixed(0)}% ${r.worse > 0 ? 'worse' : 'better'}`;
    lines.push(`| ${r.name} | ${fmt(r.committed)} ${r.unit} | ${fmt(r.now)} ${r.unit} | ${change} | ${r.flagged ? '**WORSE**' : ''} |`);
  }
  const flagged = rows.filter((r) => r.flagged);
  lines.push('', flagged.length === 0 ? `No figure is more than ${Math.round(threshold * 100)}% worse.` : `${flagged.length} figure(s) more than ${Math.round(threshold * 100)}% worse: ${flagged.map((r) => r.name).join(', ')}.`, '');
  return lines.join('\n');
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return undefined;
  return JSON.parse(text) as unknown;
}

/** Reads the committed figures from `file` and compares `current` with them; a message when there are none. */
export function compareFiguresReport(file: string, current: unknown, threshold = 0.2): string {
  const committed = readJson(file);
  if (committed === undefined) return `compare: no committed figures in ${file}; nothing to compare\n`;
  const rows = compareFigures(committed, current, threshold);
  if (rows.length === 0) return `compare: ${file} holds none of this run's figures\n`;
  return `${formatComparison(rows, committed, current, threshold)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const f = flags(process.argv.slice(2));
  const baseline = f.get('baseline');
  const current = f.get('current');
  if (!baseline || !current) {
    process.stderr.write('usage: node dist/bench/compare.js --baseline FILE --current FILE [--threshold 0.2]\n');
    process.exit(2);
  }
  const threshold = Number(f.get('threshold') ?? '0.2');
  process.stdout.write(compareFiguresReport(baseline, readJson(current), threshold));
}
