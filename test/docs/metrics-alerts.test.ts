// The documentation (README.md and docs/*.md) against what pullfix really has: every metric it
// names is one a running `pullfix serve` exposes, every pullfix_ metric that process exposes
// is documented, and the alerts it lists are exactly those of the rule file, with the same
// expression, `for` and severity.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { ServedMetrics, exposedNames } from '../helpers/served-metrics.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
}

/** README.md and every page of docs/, by path relative to the repository. */
export function documentation(root: string = REPO_ROOT): Map<string, string> {
  const pages = new Map<string, string>();
  pages.set('README.md', readFileSync(path.join(root, 'README.md'), 'utf8'));
  const docs = path.join(root, 'docs');
  if (existsSync(docs)) {
    for (const name of readdirSync(docs).filter((n) => n.endsWith('.md')).sort()) pages.set(`docs/${name}`, readFileSync(path.join(docs, name), 'utf8'));
  }
  return pages;
}

/** Metric names in a page: pullfix's own, and Node's process_ and nodejs_ series. */
export function metricNamesIn(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<![\w./-])(?:pullfix|process|nodejs)_[a-z][a-z0-9_]*[a-z0-9]/g)].map((m) => m[0]))];
}

export interface DocumentedAlert {
  page: string;
  alert: string;
  expr: string;
  for: string;
  severity: string;
}

/** The rows of alert tables: | `Name` | `expression` | for | severity | ... | */
export function documentedAlerts(pages: Map<string, string>): DocumentedAlert[] {
  const alerts: DocumentedAlert[] = [];
  for (const [page, text] of pages) {
    for (const m of text.matchAll(/^\| `(Pullfix\w+)` \| `([^`]+)` \| ([^|]+?) \| (\w+) \|/gm)) {
      alerts.push({ page, alert: m[1]!, expr: m[2]!, for: m[3]!.trim(), severity: m[4]! });
    }
  }
  return alerts;
}

/** Words of the Pullfix... shape that are not alerts: the KRM function's config kind. */
const NOT_ALERTS = new Set(['PullfixConfig']);

function rules(): Rule[] {
  const file = parse(readFileSync(path.join(REPO_ROOT, 'manifests', 'monitoring', 'prometheusrule.yaml'), 'utf8')) as { spec: { groups: { rules: Rule[] }[] } };
  return file.spec.groups.flatMap((g) => g.rules);
}

describe('documentation: metrics and alerts as pullfix has them', function () {
  const pages = documentation();
  let exposed = new Set<string>();
  let families: string[] = [];

  before(async function () {
    const served = await ServedMetrics.start();
    try {
      const { exposition } = (await served.scrape());
      exposed = exposedNames(exposition);
      families = [...exposition.families.keys()];
    } finally {
      await served.stop();
    }
  });

  it('reads the operations page, metric names and alert rows (it would see a wrong one)', function () {
    expect([...pages.keys()]).to.include('README.md');
    if (existsSync(path.join(REPO_ROOT, 'docs'))) expect([...pages.keys()]).to.include('docs/operations.md');
    expect(metricNamesIn('counted `pullfix_x_total{reason="a"}` and `process_resident_memory_bytes`, not src/pullfix_y or `process_*`')).to.deep.equal([
      'pullfix_x_total',
      'process_resident_memory_bytes',
    ]);
    expect(documentedAlerts(new Map([['p', '| `PullfixX` | `up == 0` | 2m | critical | down |\n']]))).to.deep.equal([
      { page: 'p', alert: 'PullfixX', expr: 'up == 0', for: '2m', severity: 'critical' },
    ]);
    expect(exposed.has('pullfix_admission_requests_total')).to.equal(true);
    expect(exposed.has('pullfix_made_up_total')).to.equal(false);
  });

  it('names only metrics a running pullfix serve exposes', function () {
    const wrong: string[] = [];
    for (const [page, text] of pages) for (const name of metricNamesIn(text)) if (!exposed.has(name)) wrong.push(`${page}: ${name}`);
    expect(wrong, 'metrics named in the documentation that /metrics does not have').to.deep.equal([]);
  });

  it('documents every pullfix_ metric the process exposes', function () {
    const named = new Set([...pages.values()].flatMap(metricNamesIn));
    const missing = families.filter((f) => f.startsWith('pullfix_') && !named.has(f));
    expect(families.filter((f) => f.startsWith('pullfix_')).length).to.be.greaterThan(10);
    expect(missing, 'metrics /metrics has that no page names').to.deep.equal([]);
  });

  it('lists exactly the alerts of manifests/monitoring/prometheusrule.yaml, each once, as the rule file has them', function () {
    const documented = documentedAlerts(pages);
    const shipped = rules();
    expect(documented.map((a) => a.alert).sort(), 'alerts in the documentation tables').to.deep.equal(shipped.map((r) => r.alert).sort());
    for (const rule of shipped) {
      const doc = documented.find((a) => a.alert === rule.alert)!;
      expect({ expr: doc.expr, for: doc.for, severity: doc.severity }, `${rule.alert} (${doc.page})`).to.deep.equal({
        expr: rule.expr,
        for: rule.for ?? '—',
        severity: rule.labels['severity'],
      });
    }
  });

  it('mentions no alert the rule file does not have', function () {
    const shipped = new Set(rules().map((r) => r.alert));
    const wrong: string[] = [];
    for (const [page, text] of pages) {
      for (const m of text.matchAll(/\bPullfix[A-Z]\w*/g)) if (!shipped.has(m[0]) && !NOT_ALERTS.has(m[0])) wrong.push(`${page}: ${m[0]}`);
    }
    expect(wrong).to.deep.equal([]);
  });

  it('gives the log batch size the server uses', function () {
    // src/cli/serve-command.ts keeps it private; its source is the one place it is set.
    const source = readFileSync(path.join(REPO_ROOT, 'src', 'cli', 'serve-command.ts'), 'utf8');
    const bytes = Number(/const LOG_BUFFER_BYTES = (\d+);/.exec(source)?.[1]);
    expect(bytes, 'LOG_BUFFER_BYTES in src/cli/serve-command.ts').to.be.greaterThan(0);
    const said = [...pages.values()].flatMap((text) => [...text.matchAll(/batches\s+of\s+about\s+(\d+)\s+KiB/g)].map((m) => Number(m[1])));
    expect(said.length, 'the documented batch size').to.be.at.least(1);
    for (const kib of said) expect(kib * 1024).to.equal(bytes);
  });
});
