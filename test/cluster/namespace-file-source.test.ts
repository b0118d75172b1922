import { expect } from 'chai';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileNamespaceSource, NamespaceFileError, parseNamespaceFile } from '../../src/cluster/namespace-file-source.js';
import { StaticNamespaceSource } from '../../src/cluster/namespace-source.js';
import { makeTempDir, removeDir } from '../helpers/certs.js';
import { eventually } from '../helpers/fake-kube-api.js';

// dist/test/cluster -> test/fixtures (fixtures are not compiled)
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/namespaces.yaml', import.meta.url));

const NS = (name: string, labels: Record<string, string> = {}, extra = ''): string => `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels:
    kubernetes.io/metadata.name: ${name}
${Object.entries(labels)
  .map(([k, v]) => `    ${k}: "${v}"\n`)
  .join('')}${extra}`;

function parseError(text: string, file = '/etc/pullfix/namespaces.yaml'): NamespaceFileError {
  try {
    parseNamespaceFile(text, file);
  } catch (err) {
    expect(err).to.be.instanceOf(NamespaceFileError);
    return err as NamespaceFileError;
  }
  throw new Error('parseNamespaceFile did not throw');
}

describe('FileNamespaceSource', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir()));
  afterEach(() => removeDir(dir));

  it('reads kubectl get ns -o yaml output (a v1 List)', async () => {
    const source = new FileNamespaceSource(FIXTURE);
    expect(source.synced()).to.equal(false);
    await source.start();
    expect(source.synced()).to.equal(true);
    expect(source.status()).to.include({ synced: true, connected: true, size: 5, errors: 0 });
    // Only what decisions need: the pullfix.dev/ labels and the mutable-tags annotation.
    expect(source.get('payments')).to.deep.equal({
      name: 'payments',
      labels: { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always' },
      annotations: { 'pullfix.dev/mutable-tags': '^(latest|edge|pr-[0-9]+)$' },
    });
    // "off" is quoted by kubectl; it must stay a string, not become a boolean.
    expect(source.get('pullfix-system')?.labels['pullfix.dev/mode']).to.equal('off');
    expect(source.get('kube-system')).to.deep.equal({ name: 'kube-system', labels: {}, annotations: {} });
    expect(source.get('kube-public')).to.equal(undefined);
    expect(Object.isFrozen(source.get('default')?.labels)).to.equal(true);
    await source.stop();
  });

  it('reads the same namespaces from kubectl get ns -o json', () => {
    const yamlInfos = parseNamespaceFile(readFileSync(FIXTURE, 'utf8'), FIXTURE);
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: yamlInfos.map((i) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: i })) }, null, 4);
    expect(parseNamespaceFile(json, 'ns.json')).to.deep.equal(yamlInfos);
  });

  const shapes: Array<{ shape: string; text: string; names: string[] }> = [
    { shape: 'multi-document YAML', text: `${NS('a', { x: '1' })}---\n${NS('b')}---\n`, names: ['a', 'b'] },
    { shape: 'a single Namespace', text: NS('solo', { 'pullfix.dev/mode': 'enforce' }), names: ['solo'] },
    {
      shape: 'a NamespaceList (the API server list body)',
      text: JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '9' }, items: [{ metadata: { name: 'x', labels: null } }] }),
      names: ['x'],
    },
    { shape: 'an empty List', text: 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n', names: [] },
    { shape: 'documents mixing a List and a Namespace', text: `apiVersion: v1\nkind: List\nitems:\n- ${NS('l1').split('\n').join('\n  ')}\n---\n${NS('n2')}`, names: ['l1', 'n2'] },
  ];
  for (const { shape, text, names } of shapes) {
    it(`reads ${shape}`, () => {
      expect(parseNamespaceFile(text, 'f.yaml').map((i) => i.name)).to.deep.equal(names);
    });
  }

  const bad: Array<{ what: string; text: string; message: string; line?: number }> = [
    {
      what: 'a list item without metadata.name',
      text: 'apiVersion: v1\nkind: List\nitems:\n- metadata:\n    name: a\n- metadata:\n    name: b\n- metadata:\n    labels:\n      team: x\n',
      message: '/etc/pullfix/namespaces.yaml:9: items[2]: has no metadata.name',
      line: 9,
    },
    {
      what: 'a label value that is not a string',
      text: 'apiVersion: v1\nkind: List\nitems:\n- metadata:\n    name: a\n    labels:\n      pullfix.dev/ignore: true\n',
      message: '/etc/pullfix/namespaces.yaml:7: items[0]: namespace a: metadata.labels.pullfix.dev/ignore is not a string (quote it)',
      line: 7,
    },
    {
      what: 'an item of another kind',
      text: 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n',
      message: '/etc/pullfix/namespaces.yaml:5: items[0]: is a Pod, not a Namespace',
      line: 5,
    },
    {
      what: 'a document of another kind',
      text: `${NS('a')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n`,
      message: '/etc/pullfix/namespaces.yaml:8: document 2 has apiVersion apps/v1; Namespaces and Lists are v1',
      line: 8,
    },
    {
      what: 'a document without a kind',
      text: 'metadata:\n  name: a\n',
      message: '/etc/pullfix/namespaces.yaml:1: the document has no kind; expected a Namespace, NamespaceList or List (kubectl get ns -o yaml)',
      line: 1,
    },
    {
      what: 'invalid YAML',
      text: 'apiVersion: v1\nkind: List\nitems:\n- metadata:\n    name: a\n   labels: [\n',
      message: '/etc/pullfix/namespaces.yaml:6: not valid YAML: ',
      line: 6,
    },
    {
      what: 'a namespace listed twice',
      text: `${NS('a')}---\n${NS('a')}`,
      message: '/etc/pullfix/namespaces.yaml:8: document 2: namespace a is listed twice (first in document 1)',
      line: 8,
    },
    {
      what: 'an empty file',
      text: '# nothing here\n',
      message: '/etc/pullfix/namespaces.yaml: holds no Namespace objects (expected the output of kubectl get ns -o yaml)',
    },
    { what: 'items that are not a list', text: 'apiVersion: v1\nkind: List\nitems: {}\n', message: '/etc/pullfix/namespaces.yaml:3: the document: items is not a list', line: 3 },
  ];
  for (const { what, text, message, line } of bad) {
    it(`refuses ${what}, saying where`, () => {
      const err = parseError(text);
      expect(err.file).to.equal('/etc/pullfix/namespaces.yaml');
      expect(err.line).to.equal(line);
      if (message.endsWith(': ')) expect(err.message.startsWith(message)).to.equal(true, err.message);
      else expect(err.message).to.equal(message);
    });
  }

  it('start() rejects naming a missing file and counts the error', async () => {
    const file = join(dir, 'missing.yaml');
    const source = new FileNamespaceSource(file);
    let error: unknown;
    await source.start().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(NamespaceFileError);
    expect((error as Error).message).to.equal(`namespace file ${file} does not exist`);
    expect(source.synced()).to.equal(false);
    expect(source.status()).to.deep.equal({ synced: false, connected: false, size: 0, errors: 1, lastError: `namespace file ${file} does not exist` });
  });

  it('start() rejects a bad file with the item and line', async () => {
    const file = join(dir, 'ns.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: List\nitems:\n- metadata: {}\n');
    const source = new FileNamespaceSource(file);
    let error: unknown;
    await source.start().catch((err: unknown) => (error = err));
    expect((error as Error).message).to.equal(`${file}:4: items[0]: has no metadata.name`);
  });

  describe('with watch', () => {
    let file: string;
    let source: FileNamespaceSource;
    const write = (text: string): void => {
      // Replace the file the way editors and ConfigMap volumes do: write beside it, rename.
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    };
    beforeEach(async () => {
      file = join(dir, 'namespaces.yaml');
      write(NS('team-a', { 'pullfix.dev/mode': 'enforce' }));
      source = new FileNamespaceSource(file, { watch: true, intervalMs: 100 });
      await source.start();
    });
    afterEach(() => source.stop());

    it('re-reads the file when it changes', async () => {
      write(`${NS('team-a', { 'pullfix.dev/mode': 'off' })}---\n${NS('team-b')}`);
      await eventually(() => source.get('team-b') !== undefined, 'the reload');
      expect(source.get('team-a')?.labels['pullfix.dev/mode']).to.equal('off');
      expect(source.status()).to.include({ size: 2, errors: 0, connected: true });
    });

    it('keeps the last good content when the new file is bad, and takes the next good one', async () => {
      write('apiVersion: v1\nkind: List\nitems:\n- metadata: {}\n');
      await eventually(() => source.status().errors === 1, 'the refusal');
      expect(source.status()).to.include({ synced: true, connected: false, size: 1, lastError: `${file}:4: items[0]: has no metadata.name` });
      expect(source.get('team-a')?.labels['pullfix.dev/mode']).to.equal('enforce');
      // Not refused (nor logged) again on every poll.
      await new Promise((r) => setTimeout(r, 300));
      expect(source.status().errors).to.equal(1);

      write(NS('team-c'));
      await eventually(() => source.get('team-c') !== undefined, 'the good file');
      expect(source.get('team-a')).to.equal(undefined);
      expect(source.status()).to.include({ connected: true, errors: 1, size: 1 });
    });

    it('keeps the last good content while the file is missing', async () => {
      removeDir(file);
      await eventually(() => source.status().errors === 1, 'the refusal');
      expect(source.status().lastError).to.equal(`namespace file ${file} does not exist`);
      expect(source.get('team-a')).not.to.equal(undefined);
    });
  });
});

describe('StaticNamespaceSource', () => {
  it('knows no namespace and is always synced', async () => {
    const source = new StaticNamespaceSource();
    expect(source.synced()).to.equal(true);
    await source.start();
    expect(source.get('default')).to.equal(undefined);
    expect(source.status()).to.deep.equal({ synced: true, connected: true, size: 0, errors: 0 });
    await source.stop();
  });
});
