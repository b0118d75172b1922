// manifests/monitoring: the alerts pass `promtool check rules` and `promtool test rules`
// (Debian's prometheus package), also on series made from a real scrape of `pullfix serve`
// before and after one failure of each kind; every query of the alerts and of the Grafana
// dashboard names a series that process exposes; the dashboard is scoped by $job and
// $namespace; the latency histogram reaches past the webhooks' timeout.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadReview } from '../helpers/fixtures.js';
import { postReview } from '../helpers/https-client.js';
import { type Exposition, type Sample, ServedMetrics, exposedNames, parseExposition } from '../helpers/served-metrics.js';
import { LABEL_VALUES, builtInKinds } from '../../src/server/metrics.js';

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
  templating: { list: { name: string; type: string; query?: unknown; definition?: string; datasource?: { uid: string } }[] };
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

function readRule(): PrometheusRule {
  return parse(readFileSync(path.join(monitoring, 'prometheusrule.yaml'), 'utf8')) as PrometheusRule;
}

function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(path.join(monitoring, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
}

const promtoolMissing = (): boolean => spawnSync(promtool, ['--version'], { stdio: 'ignore' }).status !== 0;
const rulesOf = (): AlertRule[] => readRule().spec.groups.flatMap((g) => g.rules);

describe('manifests/monitoring', function () {
  /** A `pullfix serve` process, and what its /metrics said right after start. */
  let served: ServedMetrics | undefined;
  let atStart: Exposition;
  let exported = new Set<string>();

  before(async function () {
    // --max-connections 2: the third connection held at once is refused, a failure the
    // alerts test below causes for real.
    served = await ServedMetrics.start(['--max-connections', '2']);
    atStart = (await served.scrape()).exposition;
    exported = exposedNames(atStart);
  });

  after(async function () {
    await served?.stop();
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
    // The text format as prom-client writes it, escapes and `Nan` included.
    const parsed = parseExposition('# TYPE a_total counter\na_total{x="q\\"\\\\",y=""} 3\nb Nan\nc +Inf\n');
    expect(parsed.families.get('a_total')).to.equal('counter');
    expect(parsed.samples[0]).to.deep.equal({ name: 'a_total', labels: { x: 'q"\\', y: '' }, value: 3 });
    expect(parsed.samples[1]!.value).to.be.NaN;
    expect(parsed.samples[2]!.value).to.equal(Infinity);
    expect(() => parseExposition('a_total{x=1} 3')).to.throw(/not a line/);
    expect(exported.has('pullfix_admission_requests_total')).to.equal(true);
    expect(exported.has('pullfix_admission_duration_seconds_bucket')).to.equal(true);
  });

  describe('prometheusrule.yaml', function () {
    it('has the alerts of docs/operations.md, each with a severity, summary and description', function () {
      const rules = rulesOf();
      expect(rules.map((r) => r.alert)).to.deep.equal([
        'PullfixDown',
        'PullfixAdmissionErrors',
        'PullfixSlowAdmission',
        'PullfixNamespaceWatchDisconnected',
        'PullfixConfigReloadFailed',
        'PullfixCertificateExpiresSoon',
        'PullfixNamespaceLookupsFailed',
        'PullfixRequestsRefused',
        'PullfixNamespaceLabelProblems',
      ]);
      for (const r of rules) {
        expect(['critical', 'warning'], r.alert).to.include(r.labels['severity']);
        expect(r.annotations['summary'], r.alert).to.be.a('string').and.not.equal('');
        expect(r.annotations['description'], r.alert).to.be.a('string').and.not.equal('');
      }
    });

    it('queries only series a running pullfix serve exposes (or Prometheus makes for every target)', function () {
      for (const r of readRule().spec.groups.flatMap((g) => g.rules)) {
        const names = metricNames(r.expr);
        expect(names, `${r.alert}: ${r.expr}`).to.not.have.length(0);
        for (const name of names) expect(exported.has(name) || SCRAPE_SERIES.includes(name), `${r.alert}: ${name} is not exported by pullfix`).to.equal(true);
      }
    });

    describe('promtool', function () {
      let dir = '';

      before(function () {
        if (promtoolMissing()) {
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
        expect(result.stdout).to.include(`SUCCESS: ${rulesOf().length} rules found`);
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

  describe('the latency histogram', function () {
    it('has a finite bucket at or above every webhook timeout pullfix is installed with, and the API server\'s longest (30 s)', function () {
      const bounds = [...new Set(atStart.samples.filter((x) => x.name === 'pullfix_admission_duration_seconds_bucket').map((x) => x.labels['le']))]
        .filter((le) => le !== '+Inf')
        .map(Number);
      expect(bounds.length).to.be.greaterThan(5);
      const top = Math.max(...bounds);
      const timeouts: number[] = [];
      for (const doc of parseAllDocuments(readFileSync(path.join(root, 'manifests', 'base', 'webhook.yaml'), 'utf8'))) {
        const obj = doc.toJS() as { kind?: string; webhooks?: { timeoutSeconds: number }[] } | null;
        for (const w of obj?.webhooks ?? []) timeouts.push(w.timeoutSeconds);
      }
      const values = parse(readFileSync(path.join(root, 'charts', 'pullfix', 'values.yaml'), 'utf8')) as { webhooks: Record<string, { timeoutSeconds?: number }> };
      for (const w of Object.values(values.webhooks)) if (typeof w === 'object' && w !== null && w.timeoutSeconds !== undefined) timeouts.push(w.timeoutSeconds);
      expect(timeouts.length, 'timeoutSeconds found in manifests/base and the chart').to.be.at.least(4);
      for (const t of [...timeouts, 30]) expect(top, `top finite bucket ${top} s against a ${t} s timeout`).to.be.at.least(t);
    });
  });

  describe('alerts on the series of a real pullfix serve, before and after one failure of each kind', function () {
    const INSTANCE = '10.0.0.1:8080';
    // The labels Prometheus adds to every series it scrapes through the ServiceMonitor.
    const TARGET = { job: 'pullfix', namespace: 'pullfix-system', instance: INSTANCE };
    let dir = '';
    let afterFailures: Exposition;

    /** Samples read by the rules, as promtool's series notation, with the target's labels. */
    function seriesKey(x: Sample): string {
      const labels = { ...x.labels, ...TARGET };
      return `${x.name}{${Object.entries(labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}}`;
    }
    const valueOf = (e: Exposition, name: string, labels: Record<string, string>): number | undefined =>
      e.samples.find((x) => x.name === name && Object.keys(x.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

    before(async function () {
      if (promtoolMissing()) {
        console.warn(`    skipped: ${promtool} not found; Debian's prometheus package has it (.ci/install-tools installs it)`);
        this.skip();
      }
      const server = served!;
      dir = mkdtempSync(path.join(tmpdir(), 'pullfix-promtool-scrape-'));

      // Failures caused for real. A third connection held at once (--max-connections 2) is
      // closed on arrival.
      const sockets: net.Socket[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const socket = net.connect(server.port, '127.0.0.1');
          socket.on('error', () => {});
          await new Promise((resolve) => socket.once('connect', resolve));
          sockets.push(socket);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        for (const socket of sockets) socket.destroy();
      }
      const target = { port: server.port, ca: readFileSync(server.certs.caCert) };
      const podIn = (namespace: string): unknown => {
        const review = loadReview('pod-one-container.json') as unknown as { request: { namespace: string; object: { metadata: { namespace: string } } } };
        review.request.namespace = namespace;
        review.request.object.metadata.namespace = namespace;
        return review;
      };
      // A mistyped label on a namespace, then a review there.
      server.api.apply('typo', { 'pullfix.dev/mode': 'enforec' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await postReview(target, podIn('typo'))).status).to.equal(200);
      // A namespace the cache does not know, while the API server answers 500.
      server.api.fail({ on: 'get', status: 500, times: Number.POSITIVE_INFINITY });
      expect((await postReview(target, podIn('created-a-moment-ago'))).status).to.equal(200);
      // A config file edited into one pullfix refuses.
      writeFileSync(server.configFile, 'mode: [\n');
      const deadline = Date.now() + 15_000;
      do {
        await new Promise((resolve) => setTimeout(resolve, 200));
        afterFailures = (await server.scrape()).exposition;
      } while (valueOf(afterFailures, 'pullfix_config_reloads_total', { result: 'failed' }) !== 1 && Date.now() < deadline);
    });

    after(function () {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('at start, every series an alert can read is there at 0: each kind (the configured CloneSet too), operation and result', function () {
      const zero = (name: string, labels: Record<string, string>): void => {
        expect(valueOf(atStart, name, labels), `${name} ${JSON.stringify(labels)}`).to.equal(0);
      };
      const kinds = [...builtInKinds(), 'CloneSet'];
      expect(kinds).to.include.members(['Pod', 'Deployment', 'CronJob', 'other']);
      for (const kind of kinds) {
        for (const operation of LABEL_VALUES.operations) for (const result of LABEL_VALUES.reviewResults) zero('pullfix_admission_requests_total', { kind, operation, result });
      }
      for (const result of LABEL_VALUES.refusedResults) zero('pullfix_admission_requests_total', { kind: '', operation: '', result });
      for (const reason of LABEL_VALUES.patchReasons) zero('pullfix_patches_total', { reason });
      for (const result of LABEL_VALUES.reloadResults) zero('pullfix_config_reloads_total', { result });
      for (const result of LABEL_VALUES.reloadResults) zero('pullfix_certificate_reloads_total', { result });
      for (const result of LABEL_VALUES.lookupResults) zero('pullfix_namespace_lookups_total', { result });
      for (const reason of LABEL_VALUES.refusedReasons) zero('pullfix_requests_refused_total', { reason });
      for (const result of LABEL_VALUES.reviewResults) zero('pullfix_admission_duration_seconds_count', { result });
      zero('pullfix_namespace_label_problems_total', {});
    });

    it('each failure counted once, on a series that was already 0', function () {
      for (const [name, labels] of [
        ['pullfix_config_reloads_total', { result: 'failed' }],
        ['pullfix_namespace_lookups_total', { result: 'failed' }],
        ['pullfix_namespace_label_problems_total', {}],
        ['pullfix_requests_refused_total', { reason: 'connections' }],
      ] as const) {
        expect(valueOf(atStart, name, labels), `${name} ${JSON.stringify(labels)} at start`).to.equal(0);
        expect(valueOf(afterFailures, name, labels), `${name} ${JSON.stringify(labels)} after one failure`).to.equal(1);
      }
    });

    it('promtool test rules: nothing fires on the series at start, each increase() alert fires at the first failure', function () {
      const rules = rulesOf();
      // Only firing is tested here (the annotations are in alerts.promtest.yaml): the rules without them.
      const bare = { groups: readRule().spec.groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }) => r) })) };
      writeFileSync(path.join(dir, 'rules.yaml'), stringify(bare));

      // No failure of the engine can be caused from outside: one review with result="error"
      // is added to the series the server exposed for it (at 0 from the start).
      const error = { kind: 'Pod', operation: 'CREATE', result: 'error' };
      const at = (e: Exposition): Map<string, number> => {
        const m = new Map<string, number>();
        for (const x of e.samples) if (x.name.startsWith('pullfix_')) m.set(seriesKey(x), x.value);
        return m;
      };
      const first = at(atStart);
      const second = at(afterFailures);
      const errorKey = seriesKey({ name: 'pullfix_admission_requests_total', labels: error, value: 0 });
      expect(first.get(errorKey), `${errorKey} at start`).to.equal(0);
      second.set(errorKey, (second.get(errorKey) ?? 0) + 1);

      // Minutes 0-4: the first scrape; minutes 5-24: the second. `_` where a series is missing.
      const STEPS_BEFORE = 5;
      const STEPS_AFTER = 20;
      const render = (v: number | undefined): string => (v === undefined ? '_' : String(v));
      const input = [{ series: seriesKey({ name: 'up', labels: {}, value: 1 }), values: `1x${STEPS_BEFORE + STEPS_AFTER - 1}` }];
      for (const key of new Set([...first.keys(), ...second.keys()])) {
        const values = [...Array<string>(STEPS_BEFORE).fill(render(first.get(key))), ...Array<string>(STEPS_AFTER).fill(render(second.get(key)))];
        input.push({ series: key, values: values.join(' ') });
      }
      const firing: Record<string, Record<string, string>[]> = {
        PullfixAdmissionErrors: [{ ...TARGET, severity: 'warning' }],
        PullfixConfigReloadFailed: [{ ...TARGET, result: 'failed', severity: 'warning' }],
        PullfixNamespaceLookupsFailed: [{ ...TARGET, result: 'failed', severity: 'warning' }],
        PullfixNamespaceLabelProblems: [{ ...TARGET, severity: 'warning' }],
        PullfixRequestsRefused: [{ ...TARGET, reason: 'connections', severity: 'warning' }],
      };
      const alertTests = rules.flatMap((r) => [
        { eval_time: `${STEPS_BEFORE - 1}m`, alertname: r.alert, exp_alerts: [] },
        { eval_time: `${STEPS_BEFORE + 1}m`, alertname: r.alert, exp_alerts: (firing[r.alert] ?? []).map((labels) => ({ exp_labels: labels })) },
      ]);
      const file = { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: input, alert_rule_test: alertTests }] };
      writeFileSync(path.join(dir, 'scraped.promtest.yaml'), stringify(file));

      const result = spawnSync(promtool, ['test', 'rules', path.join(dir, 'scraped.promtest.yaml')], { encoding: 'utf8', timeout: 60_000 });
      expect(result.status, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.include('SUCCESS');
      // Every alert that reads a counter through increase() or rate() is among those shown to fire.
      const counterAlerts = rules.filter((r) => /\b(?:increase|rate)\(/.test(r.expr) && !r.expr.includes('histogram_quantile')).map((r) => r.alert);
      expect(counterAlerts.sort()).to.deep.equal(Object.keys(firing).sort());
    });
  });

  describe('grafana-dashboard.json', function () {
    it('queries only series a running pullfix serve exposes, through the selectable Prometheus data source', function () {
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

    it('offers $job and $namespace from label_values queries, and scopes every query by both', function () {
      const dashboard = readDashboard();
      const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
      for (const name of ['job', 'namespace']) {
        const v = variables.get(name);
        expect(v?.type, `$${name}`).to.equal('query');
        expect(v?.datasource?.uid, `$${name}`).to.equal('${datasource}');
        const query = (v?.query as { query?: string } | undefined)?.query ?? '';
        const m = /^label_values\((.+), (\w+)\)$/.exec(query);
        expect(m, `$${name}: ${query}`).to.not.equal(null);
        expect(m![2]).to.equal(name);
        for (const metric of metricNames(m![1]!)) expect(exported.has(metric), `$${name}: ${metric} is not exposed`).to.equal(true);
      }
      expect((variables.get('namespace')?.query as { query: string }).query, '$namespace follows $job').to.include('job="$job"');
      for (const panel of dashboard.panels) {
        for (const t of panel.targets) {
          for (const name of metricNames(t.expr)) {
            const uses = [...t.expr.matchAll(new RegExp(`(?<![\\w:])${name}(\\{[^}]*\\})?`, 'g'))];
            expect(uses.length, `${panel.title}: ${name}`).to.be.greaterThan(0);
            for (const use of uses) {
              expect(use[1] ?? '', `${panel.title}: ${t.expr}`).to.include('job="$job"').and.include('namespace=~"$namespace"');
            }
          }
        }
      }
    });

    it('shows every series an alert watches', function () {
      const queried = new Set(readDashboard().panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
      for (const r of rulesOf()) for (const name of metricNames(r.expr)) expect(queried.has(name), `${r.alert}: ${name}`).to.equal(true);
    });
  });
});
