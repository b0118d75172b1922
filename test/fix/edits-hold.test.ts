// The fast check that fixInput's edits did what the engine's operations say (js-yaml on plain
// documents): it may only ever say yes when that is true; a no sends the document to the full
// check with the yaml library, so a wrong no costs time and a wrong yes would cost correctness.
import { expect } from 'chai';
import { editsHoldPlain, fixInput } from '../../src/fix/fix-manifest.js';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import { matchesPlain } from '../../src/krm/render-resource-list.js';

const BEFORE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      imagePullPolicy: Always
      containers:
      - name: web
        image: registry.example.com/web:dev
`;
const AFTER = BEFORE.replace('      imagePullPolicy: Always\n', '').replace('image: registry.example.com/web:dev\n', 'image: registry.example.com/web:dev\n        imagePullPolicy: Always\n');
const OPS = [
  { op: 'remove' as const, path: ['spec', 'template', 'spec', 'imagePullPolicy'] },
  { op: 'add' as const, path: ['spec', 'template', 'spec', 'containers', '0', 'imagePullPolicy'], value: 'Always' },
];

describe('fix: the fast check of edits on plain documents', () => {
  it('says yes when the edited text reads as the operations applied', () => {
    expect(editsHoldPlain(BEFORE, AFTER, OPS)).to.equal(true);
  });

  it('says no when an edit went elsewhere, left something out, or broke the YAML', () => {
    expect(editsHoldPlain(BEFORE, AFTER.replace('imagePullPolicy: Always', 'imagePullPolicy: IfNotPresent'), OPS)).to.equal(false);
    expect(editsHoldPlain(BEFORE, BEFORE, OPS)).to.equal(false);
    expect(editsHoldPlain(BEFORE, AFTER.replace('        imagePullPolicy', '    imagePullPolicy'), OPS)).to.equal(false);
    expect(editsHoldPlain(BEFORE, `${AFTER}  : [`, OPS)).to.equal(false);
    expect(editsHoldPlain(BEFORE, AFTER, OPS.slice(1))).to.equal(false);
  });

  it('leaves anchors, aliases, tags, merge keys and directives to the full check', () => {
    for (const marked of [BEFORE.replace('metadata: {name: web}', 'metadata: &m {name: web}'), BEFORE.replace('name: web\n', 'name: web\n        <<: {}\n'), `%YAML 1.2\n---\n${BEFORE}`, BEFORE.replace('{name: web}', '{name: !!str web}')]) {
      expect(editsHoldPlain(marked, AFTER, OPS), marked).to.equal(false);
    }
  });

  it('gives fixInput the same answer the full check gives, on a plain and on an anchored stream', () => {
    const config = compileConfig({ ...DEFAULT_CONFIG });
    const context = { engine: createEngine(config), policy: resolveNamespacePolicy(config, undefined) };
    const plain = fixInput({ name: 'plain.yaml', text: BEFORE }, context);
    expect(plain.ok && plain.fixed.text).to.equal(AFTER);
    // An anchor sends the document to the full check, which accepts the same edits.
    const anchored = fixInput({ name: 'anchored.yaml', text: BEFORE.replace('metadata: {name: web}', 'metadata: &m {name: web}') }, context);
    expect(anchored.ok && anchored.fixed.text).to.equal(AFTER.replace('metadata: {name: web}', 'metadata: &m {name: web}'));
  });
});

describe('krm: the fast check of a rendered ResourceList', () => {
  const item = BEFORE.replace(/^/gm, '  ').replace(/^ {2}/, '- ').replace(/\n {2}$/, '\n');
  const source = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${item}`;
  const fixedItem = AFTER.replace(/^/gm, '  ').replace(/^ {2}/, '- ').replace(/\n {2}$/, '\n');
  const results = [{ message: 'moved', severity: 'info' }];
  const rendered = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${fixedItem}results:\n- message: moved\n  severity: info\n`;
  const list = { source } as Parameters<typeof matchesPlain>[0];
  const edits = [{ index: 0, mutated: undefined, ops: OPS.map((op) => ({ ...op, path: ['items', '0', ...op.path] })) }];

  it('says yes when the rendered list is the items with the operations applied and the results appended', () => {
    expect(matchesPlain(list, rendered, edits, results)).to.equal(true);
  });

  it('says no when an edit or a result is not what was meant, and for anchored input', () => {
    expect(matchesPlain(list, rendered.replace('severity: info', 'severity: warning'), edits, results)).to.equal(false);
    const withoutMove = rendered.replace(/\n +imagePullPolicy: Always\n/, '\n');
    expect(withoutMove).to.not.equal(rendered);
    expect(matchesPlain(list, withoutMove, edits, results)).to.equal(false);
    expect(matchesPlain(list, rendered, edits, undefined)).to.equal(false);
    expect(matchesPlain({ source: source.replace('kind: ResourceList', 'kind: &k ResourceList') } as typeof list, rendered, edits, results)).to.equal(false);
  });
});
