// `pullfix fix DIR`, `-R`, `--exclude` and Helm chart templates, through the built CLI on real
// directories; and the repository's own pre-commit hook run over its own YAML.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { CLI } from '../helpers/run-cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const STRAY = (name: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  imagePullPolicy: Always\n  containers:\n  - name: a\n    image: a:1\n`;
const CLEAN = 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n';
const TEMPLATE = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    {{- include "labels" . | nindent 4 }}\n';
// Parses as YAML: only where it sits says it is a template.
const PARSING_TEMPLATE = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullPolicy: Always\n  containers:\n  - name: a\n    image: "{{ .Values.image }}"\n';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function pullfix(cwd: string, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The files findings name, in order of first mention. */
function filesIn(stdout: string): string[] {
  return [...new Set(stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0] as string))];
}

describe('pullfix fix on directories', () => {
  let root: string;
  const put = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pullfix-dirs-'));
    put('app/a.yaml', STRAY('a'));
    put('app/b.yml', STRAY('b'));
    put('app/c.json', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c' }, spec: { imagePullPolicy: 'Never', containers: [{ name: 'a', image: 'a:1' }] } }));
    put('app/notes.txt', STRAY('txt'));
    put('app/svc.yaml', CLEAN);
    put('app/sub/d.yaml', STRAY('d'));
    put('app/sub/deeper/e.yaml', STRAY('e'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('DIR reads the .yaml, .yml and .json files directly in it, in name order', () => {
    const r = pullfix(root, 'fix', '--check', 'app');
    expect(r.stderr).to.equal('');
    expect(r.status).to.equal(1);
    expect(filesIn(r.stdout)).to.deep.equal(['app/a.yaml', 'app/b.yml', 'app/c.json']);
  });

  it('-R and --recursive descend into every directory below', () => {
    for (const flag of ['-R', '--recursive']) {
      const r = pullfix(root, 'fix', '--check', flag, 'app/');
      expect(r.status).to.equal(1);
      expect(filesIn(r.stdout)).to.deep.equal(['app/a.yaml', 'app/b.yml', 'app/c.json', 'app/sub/d.yaml', 'app/sub/deeper/e.yaml']);
    }
  });

  it('--exclude leaves out names at any depth, or paths from the directory given (repeatable)', () => {
    const byName = pullfix(root, 'fix', '--check', '-R', 'app', '--exclude', 'deeper', '--exclude', '*.json');
    expect(filesIn(byName.stdout)).to.deep.equal(['app/a.yaml', 'app/b.yml', 'app/sub/d.yaml']);
    const byPath = pullfix(root, 'fix', '--check', '-R', 'app', '--exclude', 'sub/*.yaml');
    expect(filesIn(byPath.stdout)).to.deep.equal(['app/a.yaml', 'app/b.yml', 'app/c.json', 'app/sub/deeper/e.yaml']);
    // Relative to the directory given, not to the working directory.
    const notFromCwd = pullfix(root, 'fix', '--check', '-R', 'app', '--exclude', 'app/sub');
    expect(filesIn(notFromCwd.stdout)).to.include('app/sub/d.yaml');
  });

  it('--write rewrites the changed files found in a directory, and leaves links alone as before', () => {
    symlinkSync(path.join(root, 'app', 'a.yaml'), path.join(root, 'app', 'sub', 'link.yaml'));
    const r = pullfix(root, 'fix', '--write', '-R', 'app');
    expect(r.status).to.equal(1); // the link is named and skipped
    expect(r.stderr).to.include('app/sub/link.yaml: a symbolic link');
    expect(readFileSync(path.join(root, 'app', 'sub', 'd.yaml'), 'utf8')).to.not.include('  imagePullPolicy: Always\n  containers');
    expect(pullfix(root, 'fix', '--check', '-R', 'app', '--exclude', 'link.yaml').status).to.equal(0);
  });

  it('a directory with no manifest file is an error naming it, exit 2', () => {
    mkdirSync(path.join(root, 'empty', 'sub'), { recursive: true });
    put('empty/sub/x.yaml', CLEAN);
    const r = pullfix(root, 'fix', '--check', 'empty');
    expect(r.status).to.equal(2);
    expect(r.stderr).to.equal('pullfix: empty: no .yaml, .yml, .json files directly in it (-R reads its subdirectories too); name manifest files or another directory\n');
    expect(pullfix(root, 'fix', '--check', '-R', 'empty').status).to.equal(0);
  });

  describe('Helm chart templates', () => {
    beforeEach(() => {
      put('chart/Chart.yaml', 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
      put('chart/values.yaml', 'image: a:1\n');
      put('chart/templates/pod.yaml', TEMPLATE);
      put('chart/templates/parses.yaml', PARSING_TEMPLATE);
      put('chart/templates/tests/test.yaml', TEMPLATE);
    });

    it('are skipped with one note naming them; the other findings are still reported', () => {
      const r = pullfix(root, 'fix', '--check', '-R', 'app', 'chart');
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal(
        'pullfix: skipped 3 Helm template files (chart/templates/parses.yaml, chart/templates/pod.yaml, chart/templates/tests/test.yaml): ' +
          'render them first, e.g. helm template CHART | pullfix fix -\n',
      );
      expect(filesIn(r.stdout)).to.deep.equal(['app/a.yaml', 'app/b.yml', 'app/c.json', 'app/sub/d.yaml', 'app/sub/deeper/e.yaml']);
    });

    it('a chart alone checks clean (exit 0), and --write writes nothing', () => {
      expect(pullfix(root, 'fix', '--check', '-R', 'chart').status).to.equal(0);
      const w = pullfix(root, 'fix', '--write', '-R', 'chart');
      expect(w.status).to.equal(0);
      expect(readFileSync(path.join(root, 'chart', 'templates', 'parses.yaml'), 'utf8')).to.equal(PARSING_TEMPLATE);
    });

    it('a template outside a chart is skipped when it does not parse; one that parses is a manifest', () => {
      put('loose/t.yaml', TEMPLATE);
      put('loose/p.yaml', PARSING_TEMPLATE);
      const r = pullfix(root, 'fix', '--check', 'loose');
      expect(r.stderr).to.equal('pullfix: skipped 1 Helm template file (loose/t.yaml): render them first, e.g. helm template CHART | pullfix fix -\n');
      expect(filesIn(r.stdout)).to.deep.equal(['loose/p.yaml']);
    });

    it('a template on standard input is still an error (it is the whole input), exit 2', () => {
      const r = spawnSync(process.execPath, [CLI, 'fix', '--check', '-'], { cwd: root, encoding: 'utf8', input: TEMPLATE });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(/^<stdin>:4:\d+: looks like a Helm template/);
    });
  });
});

describe("the repository's pre-commit hook on the repository's own YAML", () => {
  // What pre-commit runs: the hook's entry, then every staged file its `files` pattern matches,
  // from the repository's root. Here: every tracked file of charts/, manifests/ and examples/.
  const hooks = parse(readFileSync(path.join(REPO_ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as { id: string; entry: string; files: string }[];
  const hook = hooks.find((h) => h.id === 'pullfix-check');
  // These two show the mistake pullfix fixes, on purpose: the README and the krm example run on them.
  const DEMONSTRATIONS = ['examples/krm/app/web.yaml', 'examples/manifests/misplaced-pull-policy.yaml'];

  function trackedFiles(): string[] {
    const git = spawnSync('git', ['ls-files', 'charts', 'manifests', 'examples'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (git.status !== 0) return [];
    const pattern = new RegExp(hook?.files ?? '$^');
    return git.stdout.split('\n').filter((f) => f !== '' && pattern.test(f));
  }

  function runHook(files: string[]): Run {
    const [command, ...args] = (hook?.entry ?? '').split(/\s+/);
    expect(command).to.equal('pullfix');
    const r = spawnSync(process.execPath, [CLI, ...args, ...files], { cwd: REPO_ROOT, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('passes on every chart, manifest and example file, the chart templates skipped with one note', function () {
    const files = trackedFiles();
    if (files.length === 0) this.skip(); // not a git checkout (an unpacked archive)
    expect(files.some((f) => f.startsWith('charts/pullfix/templates/'))).to.equal(true);
    const r = runHook(files.filter((f) => !DEMONSTRATIONS.includes(f)));
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^pullfix: skipped \d+ Helm template files \(charts\/pullfix\/templates\/[^\n]*\n$/);
    expect(r.status).to.equal(0);
  });

  it('finds the mistakes in the two demonstration files and nothing else', function () {
    const files = trackedFiles();
    if (files.length === 0) this.skip();
    const r = runHook(files);
    expect(r.status).to.equal(1);
    expect(filesIn(r.stdout)).to.deep.equal(DEMONSTRATIONS);
  });
});
