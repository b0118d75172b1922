// `pullfix audit -o report` against the real API server: the Report CRD (written from the
// openreports.io v1alpha1 schema, test/audit/fixtures/openreports-report-crd.yaml) is
// installed, the audit's output is applied with strict field validation, and what the API
// server stored reads back exactly as printed (nothing unknown, nothing pruned).
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { Report } from '../../src/audit/policy-report.js';
import { repoPath } from '../helpers/fixtures.js';
import { type TestCluster, shared } from './harness/cluster.js';
import { manifest, workload } from './harness/workloads.js';

const CONFIG = 'manifests/overlays/kruise/config.yaml'; // the config pullfix serve runs with here
const CRD = repoPath('test', 'audit', 'fixtures', 'openreports-report-crd.yaml');

describe('e2e: pullfix audit -o report', () => {
  let cluster: TestCluster;
  let ns: string;
  let printed: Report[] = [];

  before(async function () {
    this.timeout(120_000);
    cluster = shared();
    await cluster.kubectlOk(['apply', '-f', CRD]);
    await cluster.kubectlOk(['wait', '--for=condition=Established', 'crd/reports.openreports.io', '--timeout=60s']);
    // A Deployment admitted before its namespace had a policy, then the policy: off-policy as stored.
    ns = await cluster.freshNamespace();
    await cluster.kubectlOk(['create', '-f', '-'], {
      stdin: manifest(
        workload('Deployment', 'web', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] }),
        workload('Deployment', 'pinned', ns, { containers: [{ name: 'app', image: 'registry.example/web:1.0', imagePullPolicy: 'Never' }] }),
      ),
    });
    await cluster.kubectlOk(['label', 'namespace', ns, 'pullfix.dev/tagged=Always']);
    const audit = await cluster.pullfixCli(['audit', '-n', ns, '--config', repoPath(CONFIG), '-o', 'report']);
    expect(audit.status, audit.stderr).to.equal(1);
    printed = parseAllDocuments(audit.stdout).map((d) => d.toJS() as Report);
  });

  after(async function () {
    this.timeout(60_000);
    if (cluster) await cluster.kubectl(['delete', '-f', CRD, '--ignore-not-found', '--wait=false']);
  });

  it('prints one Report for the namespace, failing the off-policy Deployment', () => {
    expect(printed.map((r) => `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`)).to.deep.equal([`Report ${ns}/pullfix-audit`]);
    const fails = printed[0]?.results.filter((r) => r.result === 'fail') ?? [];
    expect(fails.map((r) => `${r.resources[0]?.name} ${r.properties?.['current']}->${r.properties?.['wanted']}`)).to.deep.equal(['web IfNotPresent->Always']);
  });

  it('the API server accepts it under the Report CRD with strict field validation', async () => {
    const applied = await cluster.kubectl(['apply', '--validate=strict', '-f', '-'], { stdin: printed.map((r) => manifest(r)).join('---\n') });
    expect(applied.status, applied.stderr).to.equal(0);
    expect(applied.stdout.trim()).to.equal(`report.openreports.io/pullfix-audit created`);
  });

  it('reads back exactly what was printed: source, summary, every result', async () => {
    const stored = (await cluster.getJson('reports.openreports.io', 'pullfix-audit', ns)) as unknown as Report;
    const want = printed[0] as Report;
    expect(stored.source).to.equal(want.source);
    expect(stored.summary).to.deep.equal(want.summary);
    expect(stored.results).to.deep.equal(want.results);
    expect(stored.metadata.labels).to.deep.equal(want.metadata.labels);
  });

  it('kubectl shows the counts through the CRD\'s printer columns', async () => {
    const table = (await cluster.kubectlOk(['get', 'reps', '-n', ns])).stdout.trim().split('\n');
    expect(table[0]?.split(/\s+/)).to.deep.equal(['NAME', 'PASS', 'FAIL', 'WARN', 'ERROR', 'SKIP', 'AGE']);
    const s = printed[0]?.summary;
    expect(table[1]?.split(/\s+/).slice(0, 6)).to.deep.equal(['pullfix-audit', String(s?.pass), String(s?.fail), '0', '0', '0']);
  });

  it('a report that breaks the schema is refused (the CRD validates)', async () => {
    const bad = structuredClone(printed[0]) as unknown as { metadata: { name: string }; results: { result: string }[] };
    bad.metadata.name = 'broken';
    if (bad.results[0]) bad.results[0].result = 'failed';
    const result = await cluster.kubectl(['apply', '-f', '-'], { stdin: manifest(bad as unknown as Record<string, unknown>) });
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.match(/results\[0\]\.result: Unsupported value: "failed"/);
  });
});
