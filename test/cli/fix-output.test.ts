// `pullfix fix --check -o json|sarif|github`, through the built CLI on real files; the SARIF
// validated against the SARIF 2.1.0 JSON schema (test/fixtures/sarif-schema-2.1.0.json).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { escapeData, escapeProperty } from '../../src/fix/report-formats.js';
import { RULES } from '../../src/fix/rules.js';
import { CLI } from '../helpers/run-cli.js';
import { repoPath } from '../helpers/fixtures.js';

const require = createRequire(import.meta.url);
// ajv 6: the SARIF schema is JSON Schema draft-04, which ajv 8 no longer reads.
const Ajv = require('ajv') as new (options: object) => {
  addMetaSchema(schema: object): void;
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown };
};

const POD = [
  'apiVersion: v1',
  'kind: Pod',
  'metadata:',
  '  name: worker',
  '  namespace: jobs',
  'spec:',
  '  imagePullPolicy: always',
  '  containers:',
  '  - name: "w%1"',
  '    image: example.com/worker:latest',
  '  - name: side',
  '    image: example.com/side:1.0',
  '    imagePullPolicy: Never',
  '  - name: bad',
  '    image: "Example.com/UPPER:1"',
  '',
].join('\n');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe('pullfix fix --check -o', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pullfix-output-'));
    mkdirSync(path.join(root, 'deploy'));
    writeFileSync(path.join(root, 'deploy', 'pod,x:1.yaml'), POD);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function pullfix(...args: string[]): Run {
    const r = spawnSync(process.execPath, [CLI, 'fix', ...args], { cwd: root, encoding: 'utf8', input: '' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('json: every finding with file, line, column, rule id, level, message and the fix; exit 1', () => {
    const r = pullfix('--check', '-o', 'json', '--policy', 'mutable=Always', 'deploy');
    expect(r.stderr).to.equal('');
    expect(r.status).to.equal(1);
    const object = { apiVersion: 'v1', kind: 'Pod', name: 'worker', namespace: 'jobs' };
    const file = 'deploy/pod,x:1.yaml';
    expect(JSON.parse(r.stdout)).to.deep.equal({
      findings: [
        { file, line: 7, column: 3, ruleId: 'PF001', level: 'error', message: 'removed pod-level imagePullPolicy Always: Kubernetes ignores it there', fixed: true, object, fix: { field: 'spec.imagePullPolicy' } },
        { file, line: 7, column: 3, ruleId: 'PF004', level: 'warning', message: 'pod-level imagePullPolicy "always" read as Always', fixed: true, object },
        { file, line: 9, column: 5, ruleId: 'PF002', level: 'error', message: 'container "w%1": imagePullPolicy set to Always (moved from pod level)', fixed: true, object, fix: { field: 'spec.containers[0].imagePullPolicy', value: 'Always' } },
        // No imagePullPolicy of its own: the entry's first line.
        { file, line: 14, column: 5, ruleId: 'PF002', level: 'error', message: 'container "bad": imagePullPolicy set to Always (moved from pod level)', fixed: true, object, fix: { field: 'spec.containers[2].imagePullPolicy', value: 'Always' } },
        {
          file,
          line: 14,
          column: 5,
          ruleId: 'PF006',
          level: 'warning',
          // The engine's warnings are cut at 120 characters, as admission warnings must be.
          message: 'container "bad": image "Example.com/UPPER:1" does not parse (repository name must be lowercase); given the p...',
          fixed: false,
          object,
        },
      ],
      skipped: [],
    });
  });

  it('json: a clean run is an empty list, exit 0; skipped chart templates are listed', () => {
    mkdirSync(path.join(root, 'chart', 'templates'), { recursive: true });
    writeFileSync(path.join(root, 'chart', 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
    writeFileSync(path.join(root, 'chart', 'templates', 'pod.yaml'), 'kind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n');
    const r = pullfix('--check', '-o', 'json', '-R', 'chart');
    expect(r.status).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ findings: [], skipped: [{ file: 'chart/templates/pod.yaml', reason: 'helm-template' }] });
  });

  it('sarif: valid SARIF 2.1.0, tool pullfix with every rule, locations relative to the working directory', () => {
    const schema = JSON.parse(readFileSync(repoPath('test', 'fixtures', 'sarif-schema-2.1.0.json'), 'utf8')) as object;
    const ajv = new Ajv({ schemaId: 'id', allErrors: true, logger: false });
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json') as object);
    const validate = ajv.compile(schema);
    // Given as an absolute path, reported relative to where pullfix runs.
    const r = pullfix('--check', '-o', 'sarif', path.join(root, 'deploy', 'pod,x:1.yaml'));
    expect(r.status).to.equal(1);
    const log = JSON.parse(r.stdout) as any;
    expect(validate(log), JSON.stringify(validate.errors)).to.equal(true);
    expect(log.version).to.equal('2.1.0');
    const driver = log.runs[0].tool.driver;
    expect(driver.name).to.equal('pullfix');
    expect(driver.version).to.equal(JSON.parse(readFileSync(repoPath('package.json'), 'utf8')).version);
    expect(driver.rules.map((x: { id: string }) => x.id)).to.deep.equal(Object.keys(RULES));
    expect(driver.rules[1]).to.deep.include({ id: 'PF001', name: 'PodLevelPullPolicy', shortDescription: { text: RULES.PF001.description } });
    const results = log.runs[0].results as any[];
    expect(results.map((x) => x.ruleId)).to.deep.equal(['PF001', 'PF004', 'PF002', 'PF002', 'PF006']);
    expect(results[0]).to.deep.include({ ruleId: 'PF001', ruleIndex: 1, level: 'error' });
    expect(results[0].message).to.deep.equal({ text: 'removed pod-level imagePullPolicy Always: Kubernetes ignores it there' });
    expect(results[0].locations).to.deep.equal([
      { physicalLocation: { artifactLocation: { uri: 'deploy/pod%2Cx%3A1.yaml' }, region: { startLine: 7, startColumn: 3 } } },
    ]);
    expect(results[2].properties.fix).to.deep.equal({ field: 'spec.containers[0].imagePullPolicy', value: 'Always' });
  });

  it('the schema test can fail: a result without a message is refused', () => {
    const schema = JSON.parse(readFileSync(repoPath('test', 'fixtures', 'sarif-schema-2.1.0.json'), 'utf8')) as object;
    const ajv = new Ajv({ schemaId: 'id', logger: false });
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json') as object);
    const validate = ajv.compile(schema);
    const log = JSON.parse(pullfix('--check', '-o', 'sarif', 'deploy').stdout) as any;
    delete log.runs[0].results[0].message;
    expect(validate(log)).to.equal(false);
  });

  it('github: one workflow command per finding, properties and message escaped as GitHub reads them', () => {
    const r = pullfix('--check', '-o', 'github', 'deploy/pod,x:1.yaml');
    expect(r.status).to.equal(1);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).to.have.length(5);
    expect(lines[1]).to.equal(
      '::warning file=deploy/pod%2Cx%3A1.yaml,line=7,col=3,title=pullfix PF004 PodLevelPullPolicyCase::pod-level imagePullPolicy "always" read as Always',
    );
    expect(lines[2]).to.equal(
      '::error file=deploy/pod%2Cx%3A1.yaml,line=9,col=5,title=pullfix PF002 PullPolicyNotInContainer::container "w%251": imagePullPolicy set to Always (moved from pod level)',
    );
  });

  it('escapes %, CR and LF in data, and : and , in properties too', () => {
    expect(escapeData('50% a\r\nb:c,d')).to.equal('50%25 a%0D%0Ab:c,d');
    expect(escapeProperty('50% a\r\nb:c,d')).to.equal('50%25 a%0D%0Ab%3Ac%2Cd');
  });

  it('text stays the default and the same', () => {
    const plain = pullfix('--check', 'deploy');
    expect(pullfix('--check', '-o', 'text', 'deploy').stdout).to.equal(plain.stdout);
    expect(plain.stdout.split('\n')[0]).to.equal('deploy/pod,x:1.yaml:7: removed pod-level imagePullPolicy Always: Kubernetes ignores it there');
  });

  it('refuses an unknown format, and a format without --check, exit 2', () => {
    const bad = pullfix('--check', '-o', 'xml', 'deploy');
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.equal('pullfix: -o "xml": must be one of text, json, sarif, github\n');
    const noCheck = pullfix('-o', 'json', 'deploy');
    expect(noCheck.status).to.equal(2);
    expect(noCheck.stderr).to.equal('pullfix: -o json formats findings: add --check (without it, fix prints the fixed manifests)\n');
    expect(noCheck.stdout).to.equal('');
  });
});
