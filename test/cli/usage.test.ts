// What a user sees for a mistyped command line and for `pullfix version`, through the built CLI:
// kubectl's shape for usage errors (one line, the nearest name when one is close, where the
// usage is; exit 2), never the whole help or a stack trace.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoPath } from '../helpers/fixtures.js';
import { CLI } from '../helpers/run-cli.js';

function pullfix(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli: usage errors and pullfix version', () => {
  it('an unknown flag: one line, the nearest flag, where the usage is; exit 2', () => {
    const r = pullfix(['fix', '--chek', '-']);
    expect(r.status).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal("error: unknown option '--chek'\n(Did you mean --check?)\nSee 'pullfix fix --help' for usage.\n");
  });

  it('an unknown command names the nearest one', () => {
    const r = pullfix(['versoin']);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.equal("error: unknown command 'versoin'\n(Did you mean version?)\nSee 'pullfix --help' for usage.\n");
  });

  it('a flag far from any other gets no suggestion, still no help dump', () => {
    const r = pullfix(['audit', '--zzzzzzzz']);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.equal("error: unknown option '--zzzzzzzz'\nSee 'pullfix audit --help' for usage.\n");
  });

  it('serve --log-level with a value it does not know lists the allowed ones (no stack trace)', () => {
    const r = pullfix(['serve', '--log-level', 'verbose', '--tls-cert', 'x', '--tls-key', 'y']);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.equal("error: option '--log-level <level>' argument 'verbose' is invalid. Allowed choices are debug, info, warn, error.\nSee 'pullfix serve --help' for usage.\n");
  });

  it('krm on an object with no kind says what it wants, not "got undefined"', () => {
    const r = pullfix(['krm'], '{}\n');
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.equal('pullfix: expected kind ResourceList, got an object with no kind (a KRM function reads a ResourceList on stdin; for manifests use pullfix fix)\n');
  });

  it('version: text, -o json and -o yaml carry the version, the commit built from and the Node.js version', () => {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    // make build writes the commit; a checkout without git history reports `unknown`.
    let head = 'unknown';
    try {
      head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not a git checkout
    }
    const json = pullfix(['version', '-o', 'json']);
    expect(json.status).to.equal(0);
    const info = JSON.parse(json.stdout) as Record<string, string>;
    expect(info).to.deep.equal({ version: pkg.version, commit: head, nodeVersion: process.version, platform: `${process.platform}/${process.arch}` });
    expect(parse(pullfix(['version', '-o', 'yaml']).stdout)).to.deep.equal(info);
    expect(pullfix(['version']).stdout).to.equal(`pullfix ${pkg.version} (commit ${head}, Node.js ${process.version}, ${process.platform}/${process.arch})\n`);
    expect(pullfix(['--version']).stdout, '--version stays the bare version').to.equal(`${pkg.version}\n`);
    const bad = pullfix(['version', '-o', 'xml']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain("Allowed choices are text, json, yaml.");
  });
});
