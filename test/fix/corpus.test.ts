// A corpus of manifests shaped like what charts and install files contain (anchors, merge
// keys, block scalars, comments between documents, Lists, JSON), each also as CRLF and with a
// byte-order mark, run through fix, fix --check and fix --write with and without class
// policies. The parsed trees may differ only in pull-policy fields, untouched lines must come
// out byte for byte, fixing twice must change nothing and --write must write what fix prints.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runFix, type FixOptions } from '../../src/fix/run-fix.js';
import { repoPath } from '../helpers/fixtures.js';

const CORPUS = repoPath('test', 'fixtures', 'manifests');
const POLICY_FIELDS = new Set(['imagePullPolicy', 'pullPolicy']);

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function fix(options: FixOptions): Promise<Out> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runFix(options, {
    stdinIsTTY: true,
    readStdin: async () => new Uint8Array(),
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function withoutPolicies(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPolicies);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !POLICY_FIELDS.has(k)).map(([k, v]) => [k, withoutPolicies(v)]));
}

function trees(text: string): unknown[] {
  const docs = Array.from(parseAllDocuments(text.replace(/^\uFEFF/, ''), { merge: true }));
  for (const d of docs) expect(d.errors, text).to.deep.equal([]);
  return docs.map((d) => withoutPolicies(d.toJS()));
}

/** Lines of `a` not in the longest common subsequence with `b`: what changed, by line. */
function changedLines(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push(a[i++]!);
    else j++;
  }
  return [...out, ...a.slice(i)];
}

/** A line with its inline `, imagePullPolicy: X` pair taken out. */
function withoutPolicyPair(line: string): string {
  return line.replace(/,\s*"?(?:imagePullPolicy|pullPolicy)"?\s*:\s*"?[A-Za-z]+"?/g, '');
}

const VARIANTS: Record<string, (text: string) => string> = {
  as: (t) => t,
  crlf: (t) => t.replace(/\n/g, '\r\n'),
  bom: (t) => `\uFEFF${t}`,
};

const POLICY_SETS: Record<string, string[]> = { 'no class policy': [], 'class policies': ['mutable=Always', 'tagged=IfNotPresent'] };

describe('corpus: realistic manifests through fix, --check and --write', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-corpus-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of readdirSync(CORPUS).sort()) {
    for (const [variant, transform] of Object.entries(VARIANTS)) {
      for (const [label, policies] of Object.entries(POLICY_SETS)) {
        it(`${name} (${variant}, ${label})`, async () => {
          const input = transform(readFileSync(path.join(CORPUS, name), 'utf8'));
          const file = path.join(dir, `${variant}-${name}`);
          writeFileSync(file, input);

          const printed = await fix({ files: [file], policies });
          expect(printed.code, printed.stderr).to.equal(0);
          const out = printed.stdout;
          expect(out).to.not.equal(input, 'every corpus file has something to fix');
          expect(trees(out)).to.deep.equal(trees(input));
          const nl = variant === 'crlf' ? '\r\n' : '\n';
          const before = input.split(nl);
          const afterLines = out.split(nl);
          // A changed line carries a pull policy, or is a one-line flow mapping that gained one.
          const added = changedLines(afterLines, before);
          for (const line of added) expect(line, `a line added to ${name}`).to.match(/ullPolicy/);
          const flowGained = new Set(added.map(withoutPolicyPair));
          for (const line of changedLines(before, afterLines)) {
            if (!/ullPolicy/.test(line)) expect(flowGained.has(line), `a changed line of ${name}: ${line}`).to.equal(true);
          }
          if (variant === 'crlf') expect(out.replace(/\r\n/g, '')).to.not.include('\n');
          if (variant === 'bom') expect(out.startsWith('\uFEFF')).to.equal(true);

          const check = await fix({ files: [file], check: true, policies });
          expect(check.code).to.equal(1);
          expect(check.stdout).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `));

          const write = await fix({ files: [file], write: true, policies });
          expect(write.code, write.stderr).to.equal(0);
          expect(readFileSync(file, 'utf8')).to.equal(out);
          const again = await fix({ files: [file], policies });
          expect(again.stdout).to.equal(out);
          const clean = await fix({ files: [file], check: true, policies });
          expect(clean.stdout.split('\n').filter((l) => l !== '' && !/does not parse/.test(l))).to.deep.equal([]);
        });
      }
    }
  }
});
