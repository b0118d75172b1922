// Worst cases of the size bounds on mutable-tag patterns and of `exemptImages` globs
// (docs/configuration.md, "Mutable-tag patterns run in linear time"): `node dist/bench/patterns.js`.
//
// For each hostile shape, the largest instance the bounds accept (at most 192 RE2 instructions,
// 1,024 characters) is matched against 128-character tags, the longest a tag can be, the way
// TagPattern.test matches a tag it has not seen. Prints, per shape, the program size and the
// fastest, median and slowest match on its worst tag, then what compiling costs at the bounds
// and what refusing costs beyond them. Target: 1 ms per match. The slowest figure includes
// garbage collection and, on a shared machine, time the process was not running.
import { RE2JS } from 're2js';
import { compileGlobs } from '../src/engine/glob.js';
import { compileTagPattern, MAX_PATTERN_INSTRUCTIONS, MAX_PATTERN_LENGTH } from '../src/engine/tag-pattern.js';

const SAMPLES = Number(process.env.BENCH_PATTERN_SAMPLES ?? 200);
const W = '[\\w.-]';

/** Shapes that make RE2 keep many threads alive, parameterised by a repetition count. */
const SHAPES: Record<string, (k: number) => string> = {
  'optional class, failing at the end': (k) => `(?:${W}?){${k}}!`,
  'optional letter': (k) => `(?:a?){${k}}`,
  'optional then required (a?ⁿaⁿ)': (k) => `(?:a?){${k}}a{${k}}`,
  'two optional dots': (k) => `(?:.?.?){${k}}!`,
  'Unicode letter class': (k) => `(?:\\pL?){${k}}!`,
  'case folded': (k) => `(?i)(?:[a-z]?){${k}}!`,
  'nested stars': (k) => `(?:(?:a*)*a?){${k}}!`,
  'nested stars over a class': (k) => `(?:(?:${W}*)*${W}?){${k}}!`,
  'large Unicode class': (k) => `(?:[\\p{L}\\p{N}\\p{M}\\p{S}\\p{P}]?){${k}}!`,
  'a loop, then repeats': (k) => `(?:a|aa)*(?:a?){${k}}!`,
  'alternation of repeats': (k) => `${Array.from({ length: 4 }, () => `(?:a?){${k}}`).join('|')}!`,
  'exponential DFA shape': (k) => `${W}*[aeiou]${W}{${k}}`,
  'the tag grammar itself': (k) => `[\\w]${W}{0,${k}}`,
  '1,024 characters, near 192 instructions': (k) => {
    // Padded to exactly the length bound with empty groups and flag groups, which RE2 drops.
    const tail = `(?:${W}?){${k}}!`;
    const pad = MAX_PATTERN_LENGTH - tail.length;
    const flags = ['', '(?is)', '(?ism)', '(?ismU)'][pad % 4] as string;
    return `${tail}${'(?:)'.repeat((pad - flags.length) / 4)}${flags}`;
  },
};

/** The largest instance of a shape that the bounds accept. */
function largest(shape: (k: number) => string): { source: string; size: number } {
  let best: { source: string; size: number } | undefined;
  for (let k = 1; k <= 1000; k++) {
    const source = shape(k);
    if (typeof compileTagPattern(source) === 'string') break;
    best = { source, size: RE2JS.compile(source).programSize() };
  }
  if (!best) throw new Error(`no accepted instance of ${shape(1)}`);
  return best;
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

const TAG_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';
const random = seeded(42);
const TAGS = [
  'a'.repeat(128),
  `${'a'.repeat(127)}!`,
  `${'a'.repeat(127)}-`,
  'A'.repeat(128),
  ...Array.from({ length: 3 }, () => Array.from({ length: 128 }, (_, i) => TAG_CHARS[Math.floor(random() * (i === 0 ? 62 : 65))]).join('')),
];

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/**
 * Fastest, median and slowest match of `tag`. Each sample runs what TagPattern.test runs on a
 * tag it has not seen (RE2JS's Matcher, full match), so the memo of answers never helps.
 */
function timeMatch(source: string, tag: string): { min: number; median: number; max: number } {
  if (typeof compileTagPattern(source) === 'string') throw new Error(`refused: ${source}`);
  const re = RE2JS.compile(source);
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    re.matcher(tag).matches();
    times.push(performance.now() - start);
  }
  return { min: Math.min(...times), median: median(times), max: Math.max(...times) };
}

function timeOnce(fn: () => unknown, runs = 20): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

const ms = (x: number): string => x.toFixed(3);

// Warm the JIT on small instances first, so the figures are steady-state ones.
for (const shape of Object.values(SHAPES)) {
  if (typeof compileTagPattern(shape(8)) !== 'string') for (const tag of TAGS) timeMatch(shape(8), tag);
}

console.log(`Bounds: ${MAX_PATTERN_LENGTH} characters, ${MAX_PATTERN_INSTRUCTIONS} RE2 instructions. Tags: 128 characters. ${SAMPLES} samples each.\n`);
console.log('| shape | chars | instructions | worst tag | fastest ms | median ms | slowest ms |');
console.log('|---|---|---|---|---|---|---|');
let worst = 0;
for (const [name, shape] of Object.entries(SHAPES)) {
  const { source, size } = largest(shape);
  if (source.length > MAX_PATTERN_LENGTH || size > MAX_PATTERN_INSTRUCTIONS) throw new Error(`over the bounds: ${source}`);
  let row = { tag: '', min: 0, median: -1, max: 0 };
  for (const tag of TAGS) {
    const t = timeMatch(source, tag);
    if (t.median > row.median) row = { tag, ...t };
  }
  worst = Math.max(worst, row.median);
  const tagLabel = /^(a+|A+)$/.test(row.tag) ? `${row.tag[0]}×128` : /^a+.$/.test(row.tag) ? `a×127 ${row.tag.slice(-1)}` : 'random';
  console.log(`| ${name} | ${source.length} | ${size} | ${tagLabel} | ${ms(row.min)} | ${ms(row.median)} | ${ms(row.max)} |`);
}
console.log(`\nWorst median per match: ${ms(worst)} ms (target 1 ms).\n`);

const REPORTED = Array.from({ length: 100 }, () => '(?:[a-z]?){1000}').join('|');
console.log('| compile or refuse | ms (median) | result |');
console.log('|---|---|---|');
const compileCases: Array<[string, string]> = [
  ['default pattern', '^(latest|main|master|dev|develop|edge|nightly|canary)$'],
  ['largest accepted, 1,024 characters', largest(SHAPES['1,024 characters, near 192 instructions'] as (k: number) => string).source],
  ['estimate at the slack (compiled, then refused)', '(?:[a-z]?){383}'],
  ['reported 1.7 KB pattern (refused unread)', REPORTED],
  ['(?:[a-z]?){1000} (refused from its text)', '(?:[a-z]?){1000}'],
];
for (const [name, source] of compileCases) {
  const result = compileTagPattern(source);
  console.log(`| ${name} | ${ms(timeOnce(() => compileTagPattern(source)))} | ${typeof result === 'string' ? result : 'accepted'} |`);
}

console.log('\n| exemptImages glob | image | ms (median) |');
console.log('|---|---|---|');
const hostile = compileGlobs(['*a*a*a*a*a*a*a*a*b']);
for (const n of [40, 65, 5000]) console.log(`| *a*a*a*a*a*a*a*a*b | ${n} × a | ${ms(timeOnce(() => hostile('a'.repeat(n))))} |`);
