// `kubectl pullfix`: the kubectl-pullfix bin on PATH, linked as npm links a package's bins,
// run by the real kubectl as a plugin.
import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoPath } from '../helpers/fixtures.js';

const kubectl = process.env['KUBECTL'] ?? 'kubectl';

describe('kubectl pullfix (kubectl plugin)', function () {
  this.timeout(30_000);
  let bin = '';

  before(function () {
    if (spawnSync(kubectl, ['version', '--client'], { stdio: 'ignore' }).status !== 0) {
      console.warn(`    skipped: ${kubectl} not found`);
      this.skip();
    }
    bin = mkdtempSync(path.join(tmpdir(), 'pullfix-plugin-'));
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { bin: Record<string, string> };
    const target = repoPath(pkg.bin['kubectl-pullfix'] ?? 'missing');
    // What npm does for each `bin` entry: make the target executable, link it into PATH.
    chmodSync(target, 0o755);
    symlinkSync(target, path.join(bin, 'kubectl-pullfix'));
  });

  after(function () {
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env['PATH'] ?? ''}`, KUBECONFIG: path.join(bin, 'none') };
    const r = spawnSync(kubectl, args, { encoding: 'utf8', env, cwd: repoPath(), timeout: 20_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('is listed by kubectl plugin list', function () {
    const r = run(['plugin', 'list']);
    expect(r.stdout).to.include(path.join(bin, 'kubectl-pullfix'));
  });

  it('runs the pullfix CLI: --version is the package version', function () {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    expect(run(['pullfix', '--version'])).to.deep.include({ status: 0, stdout: `${pkg.version}\n` });
  });

  it('passes arguments and exit codes through: kubectl pullfix fix --check', function () {
    const r = run(['pullfix', 'fix', '--check', 'examples/manifests/misplaced-pull-policy.yaml']);
    expect(r.status).to.equal(1);
    expect(r.stdout).to.equal(
      'examples/manifests/misplaced-pull-policy.yaml:19: removed pod-level imagePullPolicy Always: Kubernetes ignores it there\n' +
        'examples/manifests/misplaced-pull-policy.yaml:23: container "myapp": imagePullPolicy set to Always (moved from pod level)\n',
    );
    expect(run(['pullfix', 'fix', '--check', 'examples/manifests/clean.yaml']).status).to.equal(0);
  });
});
