// docs/troubleshooting.md shows `pullfix audit` output: the tables there are what the audit's own
// evaluation and formatters print for the workload the page describes, so the page cannot drift.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { evaluateObject } from '../../src/audit/evaluate.js';
import { formatTable } from '../../src/audit/report.js';
import { formatStaleTable } from '../../src/audit/stale-report.js';
import { WORKLOAD_KINDS, type WorkloadKind } from '../../src/audit/workload-kinds.js';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import { liveObject } from '../helpers/fake-kube-rest.js';
import { repoPath } from '../helpers/fixtures.js';

const page = readFileSync(repoPath('docs/troubleshooting.md'), 'utf8');

/** The ```text blocks of the page, de-indented (some sit inside list items). */
function textBlocks(): string[] {
  return [...page.matchAll(/^( *)```text\n([\s\S]*?)^ *```$/gm)].map((m) => {
    const indent = (m[1] as string).length;
    return (m[2] as string)
      .split('\n')
      .map((line) => line.slice(indent))
      .join('\n');
  });
}

const IMAGE = 'registry.example.com/shop/web:dev';

describe('docs/troubleshooting.md', () => {
  it('shows the stale table `audit --stale` prints for a :dev build the node keeps restarting', () => {
    const table = formatStaleTable([
      {
        type: 'stale',
        namespace: 'shop',
        kind: 'Deployment',
        name: 'web',
        pod: 'web-6d5f7c9b8-k2x7q',
        container: 'web',
        image: IMAGE,
        runningDigest: `sha256:3f1a9c0d2e4b${'7'.repeat(52)}`,
        currentDigest: `sha256:9b2e61f0c4d8${'1'.repeat(52)}`,
        imagePullPolicy: 'IfNotPresent',
        pullsOnRestart: false,
      },
    ]);
    expect(textBlocks()).to.include(table);
  });

  it('shows the table `audit` prints for that Deployment applied with a pod-level Always', () => {
    const compiled = compileConfig({ ...DEFAULT_CONFIG });
    const policy = resolveNamespacePolicy(compiled, { name: 'shop', labels: {}, annotations: {} });
    const kind = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment') as WorkloadKind;
    // kubectl apply of a manifest with the field at pod level: the API server dropped it and
    // defaulted the container by its tag; the last-applied annotation kept it.
    const object = liveObject('Deployment', { namespace: 'shop', name: 'web', containers: [{ name: 'web', image: IMAGE }], stray: 'Always' });
    const { findings } = evaluateObject(createEngine(compiled), kind, object, policy);
    expect(textBlocks()).to.include(formatTable(findings));
  });
});
