// Edits at node positions (src/fix/text-edits.ts): each shape gets its edit in its own style.
import { expect } from 'chai';
import { parseDocument, type Document } from 'yaml';
import { findingsFor } from '../../src/fix/findings.js';
import type { DocumentOp, ObjectFix } from '../../src/fix/fix-objects.js';
import { PARSE_OPTIONS } from '../../src/fix/parse-manifest.js';
import { applyTextEdits, CannotEdit, dominantNewline, insertionAnchor, textEdits } from '../../src/fix/text-edits.js';
import { resultsFor } from '../../src/krm/results.js';
import { LineCounter } from 'yaml';
import type { MutationResult } from '../../src/engine/mutate.js';

function edit(text: string, ops: DocumentOp[]): string {
  const doc = parseDocument(text, PARSE_OPTIONS) as Document.Parsed;
  return applyTextEdits(text, textEdits(doc, { text, newline: dominantNewline(text) }, ops));
}

const add = (path: string, value = 'Always'): DocumentOp => ({ op: 'add', path: path.split('/'), value });
const remove = (path: string): DocumentOp => ({ op: 'remove', path: path.split('/') });

const POD_WITH_VOLUME = [
  'spec:',
  '  containers:',
  '  - name: app',
  '    image: app:1',
  '  volumes:',
  '  - name: models',
  '    image:',
  '      reference: registry.example.com/models:v1   # the weights',
  '      # kept',
  '    readOnly: true',
  '',
].join('\n');

describe('textEdits', () => {
  it('puts a new policy where ENTRY_FIELDS says: under image, or under reference in an image volume', () => {
    expect(insertionAnchor(['spec', 'containers', '0', 'imagePullPolicy'])).to.equal('image');
    expect(insertionAnchor(['spec', 'volumes', '0', 'image', 'pullPolicy'])).to.equal('reference');
    expect(edit(POD_WITH_VOLUME, [add('spec/volumes/0/image/pullPolicy', 'IfNotPresent')])).to.equal(
      POD_WITH_VOLUME.replace('# the weights\n', '# the weights\n      pullPolicy: IfNotPresent\n'),
    );
  });

  it('edits an image volume written in flow style inside its braces', () => {
    const text = 'spec:\n  volumes: [{name: m, image: {reference: "m:1"}}]\n';
    expect(edit(text, [add('spec/volumes/0/image/pullPolicy')])).to.equal(text.replace('"m:1"', '"m:1", pullPolicy: Always'));
  });

  it('removes a pair from compact JSON with its comma, and adds one in its spacing', () => {
    const text = '{"spec":{"imagePullPolicy":"Never","containers":[{"name":"a","image":"a:1"}]}}';
    expect(edit(text, [remove('spec/imagePullPolicy'), add('spec/containers/0/imagePullPolicy', 'Never')])).to.equal(
      '{"spec":{"containers":[{"name":"a","image":"a:1","imagePullPolicy":"Never"}]}}',
    );
  });

  it('keeps a removed stray field\'s mapping a mapping', () => {
    expect(edit('spec:\n  imagePullPolicy: Always\n', [remove('spec/imagePullPolicy')])).to.equal('spec:\n  {}\n');
  });

  it('gives a container written as an alias a merge of its own', () => {
    const text = 'x: &c {name: a, image: "a:1"}\nspec:\n  containers:\n  - *c\n';
    const out = edit(text, [add('spec/containers/0/imagePullPolicy')]);
    expect(out).to.equal(text.replace('- *c', '- {<<: *c, imagePullPolicy: Always}'));
    expect(parseDocument(out, PARSE_OPTIONS).toJS()).to.deep.equal({
      x: { name: 'a', image: 'a:1' },
      spec: { containers: [{ name: 'a', image: 'a:1', imagePullPolicy: 'Always' }] },
    });
  });

  it('refuses, naming the place, to remove a value only a merge key provides', () => {
    const text = 'base: &b {imagePullPolicy: Always}\nspec:\n  <<: *b\n  containers: []\n';
    expect(() => edit(text, [remove('spec/imagePullPolicy')])).to.throw(CannotEdit, /merge key/);
  });

  it('takes the line ending most lines use', () => {
    expect(dominantNewline('a: 1\nb: "x\r\ny"\nc: 2\n')).to.equal('\n');
    expect(dominantNewline('a: 1\r\nb: 2\r\nc: 3\n')).to.equal('\r\n');
  });
});

describe('image volume changes in findings and results', () => {
  const value = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { volumes: [{ name: 'models', image: { reference: 'registry.example.com/models:v1' } }] },
  };
  const result: MutationResult = {
    patch: [{ op: 'add', path: '/spec/volumes/0/image/pullPolicy', value: 'Always' }],
    mutated: value,
    changes: [{ list: 'volumes', index: 0, name: 'models', to: 'Always', reason: 'policy', imageClass: 'tagged' }],
    strayRemoved: false,
    warnings: ['pullfix: image volume "models": imagePullPolicy set to Always (namespace policy for tagged images)'],
    summary: '',
  };

  it('places the finding on the volume\'s image.pullPolicy line and names the policy\'s origin', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - name: models\n    image:\n      reference: registry.example.com/models:v1\n      pullPolicy: Never\n';
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter }) as Document.Parsed;
    const fix: ObjectFix = { object: { docIndex: 0, path: [], value, group: '', kind: 'Pod' }, result, ops: [], podSpecPath: ['spec'] };
    const [finding] = findingsFor('p.yaml', doc, lineCounter, [fix], (cls) => `--policy ${cls}=Always`);
    expect(finding).to.deep.equal({
      file: 'p.yaml',
      line: 9,
      col: 7,
      rule: 'PF003',
      message: 'image volume "models": imagePullPolicy set to Always (--policy tagged=Always)',
      fixed: true,
      object: { apiVersion: 'v1', kind: 'Pod', name: 'p' },
      fix: { field: 'spec.volumes[0].image.pullPolicy', value: 'Always' },
    });
  });

  it('gives the krm result the field path spec.volumes[0].image.pullPolicy', () => {
    const [r] = resultsFor(value, result, ['spec']);
    expect(r?.field).to.deep.equal({ path: 'spec.volumes[0].image.pullPolicy' });
  });
});
