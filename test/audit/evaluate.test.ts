// One live object against its namespace's policy (src/audit/evaluate.ts), and the table.
import { expect } from 'chai';
import { evaluateObject, type Finding } from '../../src/audit/evaluate.js';
import { formatTable } from '../../src/audit/report.js';
import { WORKLOAD_KINDS, type WorkloadKind } from '../../src/audit/workload-kinds.js';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import type { PullfixConfig } from '../../src/engine/types.js';
import { liveObject, type LiveOptions } from '../helpers/fake-kube-rest.js';

function kind(name: string): WorkloadKind {
  return WORKLOAD_KINDS.find((k) => k.kind === name) as WorkloadKind;
}

function evaluate(kindName: string, options: Omit<LiveOptions, 'namespace' | 'name'>, labels: Record<string, string>, config: Partial<PullfixConfig> = {}) {
  const compiled = compileConfig({ ...DEFAULT_CONFIG, ...config });
  const policy = resolveNamespacePolicy(compiled, { name: 'shop', labels, annotations: {} });
  return evaluateObject(createEngine(compiled), kind(kindName), liveObject(kindName, { namespace: 'shop', name: 'app', ...options }), policy);
}

/** CONTAINER CURRENT->WANTED, or `-` for the pod-level row: the table's essentials. */
function brief(findings: Finding[]): string[] {
  return findings.map((f) => `${f.container ?? '-'} ${f.current ?? '-'}->${f.wanted ?? '-'}${f.patchable ? '' : ' (report only)'}`);
}

const MUTABLE_ALWAYS = { 'pullfix.dev/mutable': 'Always' };

describe('audit: evaluateObject', () => {
  const cases: Array<{ what: string; kind?: string; options: Omit<LiveOptions, 'namespace' | 'name'>; labels?: Record<string, string>; config?: Partial<PullfixConfig>; findings: string[]; patched: boolean }> = [
    { what: 'a defaulted value the class policy changes', options: { containers: [{ name: 'a', image: 'r/a:dev' }] }, findings: ['a IfNotPresent->Always'], patched: true },
    { what: 'a value written in the last-applied manifest is kept', options: { containers: [{ name: 'a', image: 'r/a:dev', written: 'IfNotPresent' }] }, findings: [], patched: false },
    {
      what: 'a value owned by a server-side Apply is kept',
      options: { applied: 'server-side', containers: [{ name: 'a', image: 'r/a:dev', written: 'IfNotPresent' }] },
      findings: [],
      patched: false,
    },
    {
      what: 'a value that differs from the default, with no record, counts as chosen',
      options: { applied: 'create', containers: [{ name: 'a', image: 'r/a:dev', imagePullPolicy: 'Never' }] },
      findings: [],
      patched: false,
    },
    {
      what: 'mode enforce overrides a written value',
      options: { containers: [{ name: 'a', image: 'r/a:dev', written: 'IfNotPresent' }] },
      labels: { ...MUTABLE_ALWAYS, 'pullfix.dev/mode': 'enforce' },
      findings: ['a IfNotPresent->Always'],
      patched: true,
    },
    { what: 'an exempt image is left alone', options: { containers: [{ name: 'a', image: 'localhost:5000/a:dev' }] }, config: { exemptImages: ['localhost:5000/*'] }, findings: [], patched: false },
    {
      what: 'a stray value with explicit containers: only the manifest row',
      options: { stray: 'Never', containers: [{ name: 'a', image: 'r/a:1.0', written: 'IfNotPresent' }] },
      labels: {},
      findings: ['- Never->- (report only)'],
      patched: false,
    },
    {
      what: 'a stray value moves into a container that has none, and the manifest row follows',
      options: { stray: 'Always', containers: [{ name: 'a', image: 'r/a:1.0' }] },
      labels: {},
      findings: ['a IfNotPresent->Always', '- Always->- (report only)'],
      patched: true,
    },
    { what: 'a Pod is reported, never patched', kind: 'Pod', options: { containers: [{ name: 'a', image: 'r/a:dev' }] }, findings: ['a IfNotPresent->Always (report only)'], patched: false },
    { what: 'a Job is reported, never patched', kind: 'Job', options: { containers: [{ name: 'a', image: 'r/a:dev' }] }, findings: ['a IfNotPresent->Always (report only)'], patched: false },
    {
      what: 'an object a controller owns is its business',
      kind: 'ReplicaSet',
      options: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'app', uid: 'u', controller: true }], containers: [{ name: 'a', image: 'r/a:dev' }] },
      findings: [],
      patched: false,
    },
    {
      what: 'an object labelled pullfix.dev/ignore, stray field and all',
      options: { labels: { 'pullfix.dev/ignore': 'true' }, stray: 'Always', containers: [{ name: 'a', image: 'r/a:dev' }] },
      findings: [],
      patched: false,
    },
  ];

  for (const c of cases) {
    it(c.what, () => {
      const result = evaluate(c.kind ?? 'Deployment', c.options, c.labels ?? MUTABLE_ALWAYS, c.config);
      expect(brief(result.findings)).to.deep.equal(c.findings);
      expect(result.patch.length > 0).to.equal(c.patched);
    });
  }

  it('patches only pull policies and the pullfix.dev/changes note', () => {
    const result = evaluate('CronJob', { containers: [{ name: 'a', image: 'r/a:dev' }, { name: 'b', image: 'r/b:1.0' }] }, MUTABLE_ALWAYS);
    expect(result.patch).to.deep.equal([
      { op: 'replace', path: '/spec/jobTemplate/spec/template/spec/containers/0/imagePullPolicy', value: 'Always' },
      { op: 'add', path: '/metadata/annotations/pullfix.dev~1changes', value: 'containers[a]: IfNotPresent->Always (policy mutable)' },
    ]);
  });

  it('turns an image that does not parse into a warning naming the object, not a finding', () => {
    const result = evaluate('Deployment', { containers: [{ name: 'a', image: 'Bad/Image:1' }] }, { ...MUTABLE_ALWAYS, 'pullfix.dev/tagged': 'bogus' });
    expect(result.findings).to.deep.equal([]);
    expect(result.warnings).to.have.length(1);
    expect(result.warnings[0]).to.match(/^Deployment shop\/app: container "a": image "Bad\/Image:1" does not parse/);
  });
});

describe('audit: image volumes', () => {
  it('finds an image volume off policy, names its image.pullPolicy, and --fix patches that field', () => {
    const compiled = compileConfig({ ...DEFAULT_CONFIG });
    const policy = resolveNamespacePolicy(compiled, { name: 'shop', labels: MUTABLE_ALWAYS, annotations: {} });
    const object = liveObject('Deployment', { namespace: 'shop', name: 'app', applied: 'create', containers: [{ name: 'a', image: 'r/a:1.0' }] }) as Record<string, any>;
    // As the API server stores it: the volume's pullPolicy defaulted for its tag.
    object.spec.template.spec.volumes = [{ name: 'models', image: { reference: 'r/models:dev', pullPolicy: 'IfNotPresent' } }];
    const result = evaluateObject(createEngine(compiled), kind('Deployment'), object, policy);
    expect(result.findings.map((f) => ({ container: f.container, list: f.containerList, fieldPath: f.fieldPath, current: f.current, wanted: f.wanted }))).to.deep.equal([
      { container: 'models', list: 'volumes', fieldPath: 'spec.template.spec.volumes{models}.image.pullPolicy', current: 'IfNotPresent', wanted: 'Always' },
    ]);
    expect(result.patch.filter((op) => op.path.startsWith('/spec/'))).to.deep.equal([{ op: 'replace', path: '/spec/template/spec/volumes/0/image/pullPolicy', value: 'Always' }]);
  });
});

describe('audit: formatTable', () => {
  it('aligns columns three spaces apart, with - for an empty cell and no trailing blanks', () => {
    const base = { namespace: 'ns', kind: 'Pod', apiVersion: 'v1', name: 'p', patchable: false };
    const table = formatTable([
      { ...base, container: 'a-long-name', rule: 'namespace-policy', fieldPath: 'spec.containers{a-long-name}.imagePullPolicy', current: 'IfNotPresent', wanted: 'Always', reason: 'r1' },
      { ...base, container: null, rule: 'pod-level-field', fieldPath: 'spec.imagePullPolicy', current: 'Never', wanted: null, reason: 'r2' },
    ]);
    expect(table).to.equal(
      'NAMESPACE   KIND   NAME   CONTAINER     CURRENT        WANTED   REASON\n' +
        'ns          Pod    p      a-long-name   IfNotPresent   Always   r1\n' +
        'ns          Pod    p      -             Never          -        r2\n',
    );
  });
});
