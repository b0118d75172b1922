// manifests/monitoring: the alerts pass `promtool check rules` and `promtool test rules`
// (Debian's prometheus package), and every query of the alerts and of the Grafana dashboard
// names a series pullfix really exports, read from the server's own metrics registry.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { StaticNamespaceSource } from '../../src/cluster/namespace-source.js';
import { createMetrics } from '../../src/server/metrics.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const monitoring = path.join(root, 'manifests', 'monitoring');
const promtest = path.join(root, 'test', 'manifests', 'fixtures', 'alerts.promtest.yaml');
const promtool = process.env['PROMTOOL'] ?? 'promtool';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface PrometheusRule {
  apiVersion: string;
  kind: string;
  spec: { groups: { name: string; rules: AlertRule[] }[] };
}
interface Dashboard {
  uid: string;
  panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
  templating: { list: { name: string; type: string }[] };
}

// Series Prometheus makes itself for every scrape target.
const SCRAPE_SERIES = ['up'];
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers,
 * range and subquery brackets, grouping clauses, function names and keywords are taken out.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(after)) continue; // a function call
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return [...new Set(names)];
}

/** Every series name pullfix serves on /metrics, from the registry the server uses. */
async function exportedSeries(): Promise<Set<string>> {
  const { registry } = createMetrics({ namespaces: () => new StaticNamespaceSource() });
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else names.add(metric.name);
  }
  return names;
}

function readRule(): PrometheusRule {
  return parse(readFileSync(path.join(monitoring, 'prometheusrule.yaml'), 'utf8')) as PrometheusRule;
}

function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(path.join(monitoring, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
}

describe('manifests/monitoring', function () {
  let exported = new Set<string>();

  before(async function () {
    exported = await exportedSeries();
  });

  it('reads metric names out of PromQL, and would catch one pullfix does not export', function () {
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(pullfix_admission_duration_seconds_bucket{job="pullfix"}[$__rate_interval]))) >= 1')).to.deep.equal([
      'pullfix_admission_duration_seconds_bucket',
    ]);
    expect(metricNames('absent(up{job="pullfix"} == 1)')).to.deep.equal(['up']);
    expect(metricNames('pullfix_certificate_expiry_timestamp_seconds - time() < 7 * 86400')).to.deep.equal(['pullfix_certificate_expiry_timestamp_seconds']);
    expect(metricNames('sum(rate(pullfix_admission_errors_total{result="a{b}"}[5m])) and on (instance) pullfix_x')).to.deep.equal([
      'pullfix_admission_errors_total',
      'pullfix_x',
    ]);
    expect(exported.has('pullfix_admission_errors_total'), 'a made-up name').to.equal(false);
    expect(exported.has('pullfix_admission_requests_total')).to.equal(true);
    expect(exported.has('pullfix_admission_duration_seconds_bucket')).to.equal(true);
  });

  describe('prometheusrule.yaml', function () {
    it('has the six alerts of README "Operating pullfix", each with a severity, summary and description', function () {
      const rules = readRule().spec.groups.flatMap((g) => g.rules);
      expect(rules.map((r) => r.alert)).to.deep.equal([
        'PullfixDown',
        'PullfixAdmissionErrors',
        'PullfixSlowAdmission',
        'PullfixNamespaceWatchDisconnected',
        'PullfixConfigReloadFailed',
        'PullfixCertificateExpiresSoon',
      ]);
      for (const r of rules) {
        expect(['critical', 'warning'], r.alert).to.include(r.labels['severity']);
        expect(r.annotations['summary'], r.alert).to.be.a('string').and.not.equal('');
        expect(r.annotations['description'], r.alert).to.be.a('string').and.not.equal('');
      }
    });

    it('queries only series pullfix exports (or Prometheus makes for every target)', function () {
      for (const r of readRule().spec.groups.flatMap((g) => g.rules)) {
        const names = metricNames(r.expr);
        expect(names, `${r.alert}: ${r.expr}`).to.not.have.length(0);
        for (const name of names) expect(exported.has(name) || SCRAPE_SERIES.includes(name), `${r.alert}: ${name} is not exported by pullfix`).to.equal(true);
      }
    });

    describe('promtool', function () {
      let dir = '';

      before(function () {
        if (spawnSync(promtool, ['--version'], { stdio: 'ignore' }).status !== 0) {
          console.warn(`    skipped: ${promtool} not found; Debian's prometheus package has it (.ci/install-tools installs it)`);
          this.skip();
        }
        dir = mkdtempSync(path.join(tmpdir(), 'pullfix-promtool-'));
        // promtool reads plain rule files: the PrometheusRule's spec is one.
        writeFileSync(path.join(dir, 'rules.yaml'), stringify(readRule().spec));
        copyFileSync(promtest, path.join(dir, 'alerts.promtest.yaml'));
      });

      after(function () {
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      it('promtool check rules', function () {
        const result = spawnSync(promtool, ['check', 'rules', path.join(dir, 'rules.yaml')], { encoding: 'utf8', timeout: 60_000 });
        expect(result.status, result.stdout + result.stderr).to.equal(0);
        expect(result.stdout).to.include('SUCCESS: 6 rules found');
      });

      it('promtool test rules (each alert fires when it should, and only then)', function () {
        const result = spawnSync(promtool, ['test', 'rules', path.join(dir, 'alerts.promtest.yaml')], { encoding: 'utf8', timeout: 60_000 });
        expect(result.status, result.stdout + result.stderr).to.equal(0);
        expect(result.stdout).to.include('SUCCESS');
        // Every alert has a firing case in the test file.
        const tests = parse(readFileSync(promtest, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
        const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
        expect([...fired].sort()).to.deep.equal(readRule().spec.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort());
      });
    });
  });

  it('kubectl kustomize manifests/monitoring: the rule, a ServiceMonitor and the dashboard ConfigMap for the sidecar', function () {
    if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0) this.skip();
    const out = spawnSync('kubectl', ['kustomize', monitoring], { encoding: 'utf8', timeout: 60_000 });
    expect(out.status, out.stderr).to.equal(0);
    const objects = parseAllDocuments(out.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string>; spec?: unknown });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).to.deep.equal(['ConfigMap/pullfix-grafana-dashboard', 'PrometheusRule/pullfix', 'ServiceMonitor/pullfix']);
    const cm = objects.find((o) => o.kind === 'ConfigMap');
    expect(cm?.metadata.labels?.['grafana_dashboard']).to.equal('1');
    expect(JSON.parse(cm?.data?.['pullfix.json'] ?? '')).to.deep.equal(readDashboard());
    expect(objects.find((o) => o.kind === 'PrometheusRule')?.spec).to.deep.equal(readRule().spec);
  });

  describe('grafana-dashboard.json', function () {
    it('queries only series pullfix exports, through the selectable Prometheus data source', function () {
      const dashboard = readDashboard();
      expect(dashboard.uid).to.equal('pullfix');
      expect(dashboard.templating.list).to.deep.include({ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source', current: {} });
      const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr, ds: p.datasource.uid })));
      expect(targets.length).to.be.greaterThan(5);
      for (const t of targets) {
        expect(t.ds, t.panel).to.equal('${datasource}');
        const names = metricNames(t.expr);
        expect(names, `${t.panel}: ${t.expr}`).to.not.have.length(0);
        for (const name of names) expect(exported.has(name) || SCRAPE_SERIES.includes(name), `${t.panel}: ${name} is not exported by pullfix`).to.equal(true);
      }
    });

    it('shows every pullfix_ metric the README documents', function () {
      const queried = new Set(readDashboard().panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
      for (const name of [
        'pullfix_admission_requests_total',
        'pullfix_patches_total',
        'pullfix_admission_duration_seconds_bucket',
        'pullfix_namespace_cache_connected',
        'pullfix_namespace_cache_synced',
        'pullfix_namespace_cache_size',
        'pullfix_certificate_expiry_timestamp_seconds',
        'pullfix_config_reloads_total',
      ]) {
        expect(queried.has(name), name).to.equal(true);
      }
    });
  });
});
