// charts/pullfix/README.md is generated from the `# --` comments of values.yaml by
// tools/chart-readme.mjs: the committed file must be what the script makes (so it cannot drift
// from the values), every value must have a description, and the table must say what the values
// file holds.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { chartDir, root } from './helm.js';

const SCRIPT = path.join(root, 'tools', 'chart-readme.mjs');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', cwd: root, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Row {
  key: string;
  type: string;
  value: unknown;
  description: string;
}

/** The rows of the README's values table. */
function tableRows(readme: string): Row[] {
  return readme
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Key ') && !l.startsWith('|--'))
    .map((l) => {
      const cells = l.slice(2, -2).split(/(?<!\\) \| /).map((c) => c.replace(/\\\|/g, '|'));
      expect(cells, l).to.have.length(4);
      const [key, type, dflt, description] = cells as [string, string, string, string];
      expect(dflt, l).to.match(/^`.*`$/);
      return { key, type, value: JSON.parse(dflt.slice(1, -1)) as unknown, description };
    });
}

describe('charts/pullfix/README.md (tools/chart-readme.mjs)', function () {
  this.timeout(30_000);
  let dir = '';

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'pullfix-chart-readme-'));
    for (const f of ['Chart.yaml', 'values.yaml', 'README.tmpl.md', 'README.md']) copyFileSync(path.join(chartDir, f), path.join(dir, f));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is what the script generates from the chart (run make chart-readme after changing values.yaml)', function () {
    const r = run(['--check']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
  });

  it('--check fails, naming README.md and the fix, when a default changes and the README does not', function () {
    const values = path.join(dir, 'values.yaml');
    writeFileSync(values, readFileSync(values, 'utf8').replace(/^replicaCount: 2$/m, 'replicaCount: 3'));
    const stale = run(['--check', '--chart', dir]);
    expect(stale.status).to.equal(1);
    expect(stale.stderr).to.match(/README\.md is not what tools\/chart-readme\.mjs makes .*: run make chart-readme/);
    expect(run(['--chart', dir]).status).to.equal(0);
    expect(run(['--check', '--chart', dir]).status).to.equal(0);
    expect(tableRows(readFileSync(path.join(dir, 'README.md'), 'utf8')).find((r) => r.key === 'replicaCount')).to.deep.include({ type: 'int', value: 3 });
  });

  it('refuses a value without a `# --` description, naming the file, line and key (exit 2)', function () {
    const values = path.join(dir, 'values.yaml');
    const text = readFileSync(values, 'utf8');
    writeFileSync(values, text.replace('server:\n', 'server:\n  # Not a helm-docs comment.\n  readTimeout: 5s\n') + '\nnewThing: true\n');
    const lines = readFileSync(values, 'utf8').split('\n');
    const r = run(['--chart', dir]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include(`values.yaml:${lines.indexOf('  readTimeout: 5s') + 1}: server.readTimeout has no \`# --\` description`);
    expect(r.stderr).to.include(`values.yaml:${lines.indexOf('newThing: true') + 1}: newThing has no \`# --\` description`);
    // Keys inside a documented value are part of it, and a `# --` there adds a row of its own.
    writeFileSync(values, text.replace('    memory: 64Mi\n', '    memory: 64Mi\n    # -- GPUs for nothing.\n    nvidia.com/gpu: 0\n'));
    expect(run(['--chart', dir]).status).to.equal(0);
    const rows = tableRows(readFileSync(path.join(dir, 'README.md'), 'utf8'));
    expect(rows.find((r) => r.key === 'resources.requests.nvidia.com/gpu')).to.deep.include({ type: 'int', value: 0, description: 'GPUs for nothing.' });
  });

  it('has a row for every value: each default as values.yaml holds it, with its type and description', function () {
    const values = parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const rows = tableRows(readFileSync(path.join(chartDir, 'README.md'), 'utf8'));
    const byKey = new Map(rows.map((r) => [r.key, r]));
    expect(rows.length).to.be.greaterThan(50);
    const at = (key: string): unknown => key.split('.').reduce<any>((v, k) => v?.[k], values);
    const typeOf = (v: unknown): string => (Array.isArray(v) ? 'list' : v === null ? 'string' : typeof v === 'object' ? 'object' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v === 'boolean' ? 'bool' : 'string');
    for (const row of rows) {
      expect(row.value, row.key).to.deep.equal(at(row.key));
      expect(row.type, row.key).to.equal(typeOf(at(row.key)));
      expect(row.description, row.key).to.match(/\S/);
    }
    // Every leaf of values.yaml is in a row, itself or by a documented parent.
    const leaves = (v: unknown, prefix: string[]): string[][] =>
      v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0
        ? Object.entries(v).flatMap(([k, c]) => leaves(c, [...prefix, k]))
        : [prefix];
    for (const leaf of leaves(values, [])) {
      const covered = leaf.some((_, i) => byKey.has(leaf.slice(0, i + 1).join('.')));
      expect(covered, `${leaf.join('.')} has a row`).to.equal(true);
    }
    const readme = readFileSync(path.join(chartDir, 'README.md'), 'utf8');
    expect(readme).to.not.include('{{');
    const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { version: string };
    expect(readme).to.include(`--version ${chart.version}`);
  });
});
