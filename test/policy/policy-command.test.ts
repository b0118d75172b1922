// `pullfix policy` as a user runs it: the built CLI, real config files, output on stdout.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoPath } from '../helpers/fixtures.js';

const CLI = repoPath('dist', 'src', 'cli', 'main.js');

function pullfix(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'policy', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pullfix policy: command', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-policy-cli-'));

  it('prints the policy and binding for v1 by default, from the config file given', () => {
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'policies: {tagged: Never}\n');
    const r = pullfix('--config', file);
    expect(r.status, r.stderr).to.equal(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).to.deep.equal([
      'admissionregistration.k8s.io/v1 MutatingAdmissionPolicy',
      'admissionregistration.k8s.io/v1 MutatingAdmissionPolicyBinding',
    ]);
    expect(r.stdout).to.contain(`from ${file}`);
    expect(docs[0].spec.variables.find((v: { name: string }) => v.name === 'policies').expression).to.contain("? v : 'Never'");
  });

  it('-o json prints the same two objects as a v1 List (kubectl apply -f takes it)', () => {
    const file = path.join(dir, 'config-json.yaml');
    writeFileSync(file, 'policies: {tagged: Never}\n');
    const yaml = parseAllDocuments(pullfix('--config', file).stdout).map((d) => d.toJS());
    const r = pullfix('--config', file, '-o', 'json');
    expect(r.status, r.stderr).to.equal(0);
    const list = JSON.parse(r.stdout) as { apiVersion: string; kind: string; items: unknown[] };
    expect(list.apiVersion).to.equal('v1');
    expect(list.kind).to.equal('List');
    expect(list.items).to.deep.equal(yaml);
    const bad = pullfix('-o', 'xml');
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('Allowed choices are yaml, json.');
  });

  it('refuses an unknown --api-version with exit 2 and names the flag', () => {
    const r = pullfix('--api-version', 'v2');
    expect(r.status).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim()).to.equal('pullfix: --api-version: must be one of v1, v1beta1, v1alpha1, got "v2"');
  });

  it('refuses a bad config naming the file and field, and a pattern RE2 cannot run', () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'policies: {tagged: always}\n');
    const r = pullfix('--config', bad);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(new RegExp(`^pullfix: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: policies\\.tagged: must be one of`));
    const lookahead = path.join(dir, 'lookahead.yaml');
    writeFileSync(lookahead, "mutableTags: '^(?!v).*$'\n");
    const r2 = pullfix('--config', lookahead);
    expect(r2.status).to.equal(2);
    expect(r2.stderr.trim()).to.equal(`pullfix: ${lookahead}: mutableTags: not an RE2 (linear-time) regular expression: invalid or unsupported Perl syntax: \`(?!\``);
  });
});
