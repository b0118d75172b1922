// `-o report` as a pure function (src/audit/policy-report.ts): findings and the objects read
// in, openreports.io/v1alpha1 Reports out. test/audit/audit.test.ts runs it through the CLI;
// test/e2e/report.test.ts has a real API server accept the output under the Report CRD.
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { entryFieldPath, type Finding } from '../../src/audit/evaluate.js';
import { buildReports, formatReports, type CheckedObject } from '../../src/audit/policy-report.js';

const NOW = new Date('2026-11-29T12:00:00.250Z');
const deploy: CheckedObject = { namespace: 'shop', kind: 'Deployment', apiVersion: 'apps/v1', name: 'web', uid: 'u-1' };
const base = { namespace: 'shop', kind: 'Deployment', apiVersion: 'apps/v1', name: 'web', patchable: true };

function finding(over: Partial<Finding>): Finding {
  return {
    ...base,
    container: 'web',
    containerList: 'containers',
    rule: 'namespace-policy',
    fieldPath: 'spec.template.spec.containers{web}.imagePullPolicy',
    current: 'IfNotPresent',
    wanted: 'Always',
    reason: 'namespace policy for mutable images',
    ...over,
  };
}

describe('audit: policy reports', () => {
  it('names each entry by its own fields: image volumes keep the policy under image.pullPolicy', () => {
    const path = ['spec', 'template', 'spec'];
    expect(entryFieldPath(path, 'containers', 'web')).to.equal('spec.template.spec.containers{web}.imagePullPolicy');
    expect(entryFieldPath(path, 'initContainers', 'migrate')).to.equal('spec.template.spec.initContainers{migrate}.imagePullPolicy');
    expect(entryFieldPath(['spec'], 'volumes', 'models')).to.equal('spec.volumes{models}.image.pullPolicy');
  });

  it('one failure per finding with its fieldPath, and a pass for the rule that found nothing', () => {
    const volume = finding({ container: 'models', containerList: 'volumes', fieldPath: 'spec.template.spec.volumes{models}.image.pullPolicy' });
    const [report] = buildReports(['shop'], [deploy], [finding({}), volume], new Set(), NOW);
    expect(report?.summary).to.deep.equal({ pass: 1, fail: 2, warn: 0, error: 0, skip: 0 });
    expect(report?.results.map((r) => `${r.rule} ${r.result} ${r.resources[0]?.fieldPath ?? '-'}`)).to.deep.equal([
      'namespace-policy fail spec.template.spec.containers{web}.imagePullPolicy',
      'namespace-policy fail spec.template.spec.volumes{models}.image.pullPolicy',
      'pod-level-field pass -',
    ]);
    expect(report?.results[1]?.message).to.equal('image volume "models": image.pullPolicy is IfNotPresent, wants Always: namespace policy for mutable images');
    expect(report?.results[1]?.properties).to.deep.equal({ container: 'models', containerList: 'volumes', current: 'IfNotPresent', wanted: 'Always', fix: 'pullfix audit --fix' });
    expect(report?.results[0]?.timestamp).to.deep.equal({ seconds: 1795953600, nanos: 0 });
    expect(report?.results[0]?.resources[0]).to.deep.equal({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'u-1', fieldPath: 'spec.template.spec.containers{web}.imagePullPolicy' });
  });

  it('a report for every namespace asked for, in order, empty ones too; skips with the reason; owned objects left out', () => {
    const checked: CheckedObject[] = [
      { ...deploy, namespace: 'b' },
      { namespace: 'b', kind: 'ReplicaSet', apiVersion: 'apps/v1', name: 'web-1', skipped: 'owned by a controller' },
      { namespace: 'b', kind: 'Pod', apiVersion: 'v1', name: 'p', skipped: 'mode off' },
    ];
    const reports = buildReports(['b', 'a'], checked, [], new Set(), NOW);
    expect(reports.map((r) => r.metadata)).to.deep.equal([
      { name: 'pullfix-audit', namespace: 'b', labels: { 'app.kubernetes.io/managed-by': 'pullfix' } },
      { name: 'pullfix-audit', namespace: 'a', labels: { 'app.kubernetes.io/managed-by': 'pullfix' } },
    ]);
    expect(reports[0]?.results.map((r) => `${r.resources[0]?.name} ${r.result} ${r.message}`)).to.deep.equal([
      'web pass every image pull policy matches the namespace policy',
      'web pass no pod-level imagePullPolicy (Kubernetes ignores the field there)',
      'p skip not checked: mode off',
    ]);
    expect(reports[1]?.results).to.deep.equal([]);
    expect(reports[1]?.summary).to.deep.equal({ pass: 0, fail: 0, warn: 0, error: 0, skip: 0 });
  });

  it('what --fix patched passes; immutable objects say to re-create them', () => {
    const fixed = finding({});
    const pod = finding({ kind: 'Pod', apiVersion: 'v1', name: 'p', patchable: false, fieldPath: 'spec.containers{web}.imagePullPolicy' });
    const checked = [deploy, { namespace: 'shop', kind: 'Pod', apiVersion: 'v1', name: 'p' }];
    const [report] = buildReports(['shop'], checked, [fixed, pod], new Set([fixed]), NOW);
    const rows = report?.results.filter((r) => r.rule === 'namespace-policy');
    expect(rows?.map((r) => `${r.resources[0]?.kind} ${r.result} ${r.properties?.['fix']}`)).to.deep.equal(['Deployment pass patched by pullfix audit --fix', 'Pod fail re-create the object']);
  });

  it('prints multi-document YAML that kubectl apply takes', () => {
    const reports = buildReports(['a', 'b'], [], [], new Set(), NOW);
    const text = formatReports(reports);
    expect(text.startsWith('---\napiVersion: openreports.io/v1alpha1\nkind: Report\n')).to.equal(true);
    expect(parseAllDocuments(text).map((d) => d.toJS())).to.deep.equal(reports);
  });
});
