// `pullfix fix --write` on a symbolic link, through the built CLI (README "`pullfix fix`"):
// the link is reported and skipped, exit 1, unless `--follow-symlinks` is given.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/cli/: three levels up is the repository root.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

const STRAY = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullPolicy: Always\n  containers:\n  - name: a\n    image: a:1\n';

describe('pullfix fix --write on a symbolic link (CLI)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pullfix-cli-links-'));
    mkdirSync(path.join(root, 'repo'));
    mkdirSync(path.join(root, 'elsewhere'));
    writeFileSync(path.join(root, 'elsewhere', 'secret.yaml'), STRAY);
    symlinkSync(path.join(root, 'elsewhere', 'secret.yaml'), path.join(root, 'repo', 'pod.yaml'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function pullfix(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, 'fix', ...args], { cwd: path.join(root, 'repo'), encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('reports the link with its target, exits 1 and leaves the target as it was', () => {
    const run = pullfix('--write', 'pod.yaml');
    expect(run.status).to.equal(1);
    expect(run.stderr).to.equal(
      `pullfix: pod.yaml: a symbolic link (to ${path.join(root, 'elsewhere', 'secret.yaml')}): not written; --follow-symlinks writes through it\n`,
    );
    expect(readFileSync(path.join(root, 'elsewhere', 'secret.yaml'), 'utf8')).to.equal(STRAY);
    expect(lstatSync(path.join(root, 'repo', 'pod.yaml')).isSymbolicLink()).to.equal(true);
  });

  it('--follow-symlinks writes through the link, exit 0', () => {
    const run = pullfix('--write', '--follow-symlinks', 'pod.yaml');
    expect(run.status).to.equal(0);
    expect(run.stderr).to.equal('fixed pod.yaml: 1 container policy set, 1 pod-level imagePullPolicy removed\n');
    expect(readFileSync(path.join(root, 'elsewhere', 'secret.yaml'), 'utf8')).to.not.include('  imagePullPolicy: Always\n  containers');
    expect(lstatSync(path.join(root, 'repo', 'pod.yaml')).isSymbolicLink()).to.equal(true);
  });

  it('lists --follow-symlinks in its help', () => {
    expect(pullfix('--help').stdout).to.match(/--follow-symlinks\s+with --write, write through symbolic links/);
  });
});
