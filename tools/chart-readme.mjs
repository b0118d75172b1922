#!/usr/bin/env node
// Writes charts/pullfix/README.md from the chart's README.tmpl.md, Chart.yaml and the comments of
// values.yaml (`make chart-readme`); `--check` only compares, for `make test`.
//
// The comments follow helm-docs' convention, so the file reads the same to its users: a comment
// block right above a key whose first described line starts with `# --` documents that key (the
// lines after it continue the description). A documented key is one row of the values table,
// with its type and default taken from the parsed YAML; keys under it are rows only when they
// have a `# --` of their own. A key with no `# --` must hold a map whose keys are documented:
// anything else is an error naming the line, so no value goes undescribed.
//
// Usage: node tools/chart-readme.mjs [--check] [--chart DIR]
//   exit 0  written (or, with --check, up to date)
//   exit 1  --check: README.md differs from what would be written
//   exit 2  bad input: a value without a description, an unknown flag, a missing file
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

class InputError extends Error {}

function parseArgs(argv) {
  const opts = { check: false, chart: path.join(root, 'charts', 'pullfix') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') opts.check = true;
    else if (arg === '--chart' && argv[i + 1]) opts.chart = path.resolve(argv[++i]);
    else throw new InputError(`unknown argument '${arg}': usage: chart-readme.mjs [--check] [--chart DIR]`);
  }
  return opts;
}

/**
 * The documented keys of a values file, in file order: { path: ['image', 'tag'], description,
 * line }. Reads the file line by line for the comments (the YAML parser does not say which
 * comment belongs to which key) and leaves values to the parser.
 */
export function documentedKeys(text, file) {
  const lines = text.split('\n');
  const rows = [];
  const undocumented = [];
  // Open mappings: { indent, path, documented, kind: 'map' | 'seq' | 'scalar' }.
  const stack = [];
  let comments = [];
  let skipDeeperThan = -1;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const indent = line.length - line.trimStart().length;
    const trimmed = line.trim();
    if (skipDeeperThan >= 0) {
      if (trimmed === '' || indent > skipDeeperThan) continue;
      skipDeeperThan = -1;
    }
    if (trimmed === '') {
      comments = [];
      continue;
    }
    if (trimmed.startsWith('#')) {
      comments.push({ indent, text: trimmed.replace(/^#\s?/, '') });
      continue;
    }
    while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();
    const parent = stack[stack.length - 1];
    const key = /^("[^"]+"|'[^']+'|[^\s:#'"][^:#]*?)\s*:(\s|$)/.exec(trimmed);
    if (trimmed.startsWith('- ') || trimmed === '-' || !key) {
      // A list item (or a flow continuation): its keys are part of a value, not values of their own.
      skipDeeperThan = indent;
      if (indent === 0) throw new InputError(`${file}:${n + 1}: expected a key at the top level, got '${trimmed}'`);
      comments = [];
      continue;
    }
    const name = key[1].replace(/^["']|["']$/g, '');
    const keyPath = [...(parent ? parent.path : []), name];
    const block = comments.filter((c) => c.indent === indent);
    comments = [];
    const start = block.findIndex((c) => c.text.startsWith('-- ') || c.text === '--');
    const description = start < 0 ? undefined : block.slice(start).map((c, i) => (i === 0 ? c.text.replace(/^--\s?/, '') : c.text)).join(' ').replace(/\s+/g, ' ').trim();
    const underDocumented = stack.some((s) => s.documented);
    if (description !== undefined) {
      if (description === '') throw new InputError(`${file}:${n + 1}: ${keyPath.join('.')} has an empty \`# --\` description`);
      rows.push({ path: keyPath, description, line: n + 1 });
    }
    const rest = trimmed.slice(key[0].length).trim().replace(/\s+#.*$/, '');
    const opensBlock = rest === '';
    if (/^[|>][+-]?\d*$/.test(rest)) skipDeeperThan = indent;
    if (description === undefined && !underDocumented) undocumented.push({ path: keyPath, line: n + 1, opensBlock });
    if (opensBlock) stack.push({ indent, path: keyPath, documented: description !== undefined || underDocumented });
  }
  return { rows, undocumented };
}

function valueAt(values, keyPath) {
  let v = values;
  for (const k of keyPath) v = v == null ? undefined : v[k];
  return v;
}

function typeOf(value) {
  if (value === null || value === undefined) return 'string';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  return 'string';
}

const cell = (s) => s.replace(/\|/g, '\\|');

/** The values table in markdown: Key, Type, Default, Description. */
export function valuesTable(text, file) {
  const { rows, undocumented } = documentedKeys(text, file);
  const values = parse(text) ?? {};
  const problems = [];
  for (const u of undocumented) {
    const value = valueAt(values, u.path);
    const isMap = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0;
    if (!isMap) problems.push(`${file}:${u.line}: ${u.path.join('.')} has no \`# --\` description (write one in the comment right above it)`);
  }
  if (problems.length > 0) throw new InputError(problems.join('\n'));
  const out = ['| Key | Type | Default | Description |', '|-----|------|---------|-------------|'];
  for (const row of rows) {
    const value = valueAt(values, row.path);
    out.push(`| ${cell(row.path.join('.'))} | ${typeOf(value)} | \`${cell(JSON.stringify(value ?? null))}\` | ${cell(row.description)} |`);
  }
  return out.join('\n');
}

/** README.md as README.tmpl.md with its {{ placeholders }} filled in. */
export function renderReadme(chartDir) {
  const read = (name) => {
    const file = path.join(chartDir, name);
    if (!existsSync(file)) throw new InputError(`${file}: not found (the chart directory is given with --chart)`);
    return readFileSync(file, 'utf8');
  };
  const chart = parse(read('Chart.yaml'));
  const rel = path.relative(root, path.join(chartDir, 'values.yaml')) || 'values.yaml';
  const fields = {
    name: chart.name,
    version: chart.version,
    appVersion: chart.appVersion,
    kubeVersion: chart.kubeVersion ?? '',
    description: String(chart.description ?? '').trim(),
    home: chart.home ?? '',
    values: valuesTable(read('values.yaml'), rel),
  };
  const body = read('README.tmpl.md').replace(/\{\{\s*(\w+)\s*\}\}/g, (match, name) => {
    if (!(name in fields)) throw new InputError(`${path.join(chartDir, 'README.tmpl.md')}: unknown placeholder ${match} (known: ${Object.keys(fields).join(', ')})`);
    return String(fields[name]);
  });
  return `<!-- Generated by tools/chart-readme.mjs from README.tmpl.md, Chart.yaml and values.yaml: edit those, then run make chart-readme. -->\n\n${body.trimEnd()}\n`;
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    const readme = renderReadme(opts.chart);
    const target = path.join(opts.chart, 'README.md');
    const shown = path.relative(process.cwd(), target) || target;
    if (opts.check) {
      const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
      if (current !== readme) {
        process.stderr.write(`chart-readme: ${shown} is not what tools/chart-readme.mjs makes from values.yaml, Chart.yaml and README.tmpl.md: run make chart-readme and commit the result\n`);
        process.exit(1);
      }
      return;
    }
    writeFileSync(target, readme);
    process.stdout.write(`chart-readme: wrote ${shown}\n`);
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`chart-readme: ${err.message.split('\n').join('\nchart-readme: ')}\n`);
      process.exit(2);
    }
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
