// The kubectl plugin's release: tools/plugin-tarball.sh builds the tarball, tools/krew-manifest.mjs
// its krew manifest (the two steps of `make plugin-release`). The manifest must carry what krew
// validates (krew's pkg/index/validation) and the tarball's real sha256; the tarball, installed
// the way krew installs it (its `files` copied, `bin` linked onto PATH), must run as
// `kubectl pullfix` with nothing but node on PATH, and say why it cannot without node.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { repoPath } from '../helpers/fixtures.js';

type Json = Record<string, any>;

const URI_BASE = 'https://github.com/pullfix/pullfix/releases/download/v0.1.0';

function run(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', cwd: opts.cwd ?? repoPath(), env: opts.env ?? process.env, input: opts.input, timeout: 180_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kubectl plugin release (tarball + krew manifest)', function () {
  this.timeout(240_000);
  let dir = '';
  let tarball = '';
  let plugin: Json = {};
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string; engines: { node: string } };

  before(function () {
    if (!existsSync(repoPath('dist', 'src', 'cli', 'kubectl-pullfix.js'))) throw new Error('dist/ missing: run make build first');
    dir = mkdtempSync(path.join(tmpdir(), 'pullfix-krew-'));
    // The two steps of `make plugin-release`, after its compile.
    const built = run('bash', [repoPath('tools', 'plugin-tarball.sh')], { env: { ...process.env, RELEASE_OUT: path.join(dir, 'out') } });
    expect(built.status, built.stderr).to.equal(0);
    tarball = built.stdout.trim();
    expect(tarball).to.equal(path.join(dir, 'out', `kubectl-pullfix-${pkg.version}.tar.gz`));
    const made = run(process.execPath, [repoPath('tools', 'krew-manifest.mjs'), '--tarball', tarball, '--uri-base', URI_BASE, '--out', path.join(dir, 'out', 'pullfix.yaml')]);
    expect(made.status, made.stderr).to.equal(0);
    plugin = parse(readFileSync(path.join(dir, 'out', 'pullfix.yaml'), 'utf8')) as Json;
  });

  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is a krew Plugin with the fields krew validates, the package version and the tarball\'s sha256', function () {
    expect(plugin['apiVersion']).to.equal('krew.googlecontainertools.github.com/v1alpha2');
    expect(plugin['kind']).to.equal('Plugin');
    // krew: a plugin name is lowercase letters, digits and dashes; `kubectl pullfix` is its command.
    expect(plugin['metadata']).to.deep.equal({ name: 'pullfix' });
    const spec = plugin['spec'] as Json;
    expect(spec['version']).to.equal(`v${pkg.version}`);
    expect(spec['version']).to.match(/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(spec['homepage']).to.match(/^https:\/\//);
    expect(spec['shortDescription']).to.be.a('string').with.length.within(10, 50);
    expect(spec['description']).to.be.a('string').with.length.above(spec['shortDescription'].length);
    expect(spec['caveats']).to.include('Node.js 20.9 or newer').and.include('`node` on PATH');
    expect(pkg.engines.node).to.equal('>=20.9');
    const platforms = spec['platforms'] as Json[];
    expect(platforms).to.have.length(1);
    const [platform] = platforms as [Json];
    expect(platform['selector']).to.deep.equal({
      matchExpressions: [
        { key: 'os', operator: 'In', values: ['linux', 'darwin'] },
        { key: 'arch', operator: 'In', values: ['amd64', 'arm64'] },
      ],
    });
    expect(platform['uri']).to.equal(`${URI_BASE}/kubectl-pullfix-${pkg.version}.tar.gz`);
    expect(platform['sha256']).to.match(/^[0-9a-f]{64}$/);
    expect(platform['sha256']).to.equal(createHash('sha256').update(readFileSync(tarball)).digest('hex'));
    expect(platform['bin']).to.equal('kubectl-pullfix');
    expect(platform['files']).to.be.an('array').that.is.not.empty;
    for (const f of platform['files'] as Json[]) {
      expect(f['from'], JSON.stringify(f)).to.be.a('string').that.is.not.empty;
      expect(f['to'], JSON.stringify(f)).to.be.a('string').that.is.not.empty;
    }
  });

  describe('installed as krew installs it', function () {
    let binDir = '';
    let nodeDir = '';

    before(function () {
      // krew: unpack, copy each `files` entry into the version's directory, link `bin` into ~/.krew/bin.
      const unpacked = path.join(dir, 'unpacked');
      mkdirSync(unpacked);
      const untar = run('tar', ['-xzf', tarball, '-C', unpacked]);
      expect(untar.status, untar.stderr).to.equal(0);
      const installed = path.join(dir, 'krew', 'store', 'pullfix', (plugin['spec'] as Json)['version'] as string);
      mkdirSync(installed, { recursive: true });
      const platform = ((plugin['spec'] as Json)['platforms'] as Json[])[0] as Json;
      for (const f of platform['files'] as Json[]) {
        const from = path.join(unpacked, f['from'] as string);
        expect(existsSync(from), `files: ${f['from']} is in the tarball`).to.equal(true);
        cpSync(from, path.join(installed, f['to'] as string, path.basename(from)), { recursive: true });
      }
      const bin = path.join(installed, platform['bin'] as string);
      expect(statSync(bin).mode & 0o111, 'bin is executable').to.equal(0o111);
      binDir = path.join(dir, 'krew', 'bin');
      mkdirSync(binDir);
      symlinkSync(bin, path.join(binDir, 'kubectl-pullfix'));
      nodeDir = path.join(dir, 'node-bin');
      mkdirSync(nodeDir);
      symlinkSync(process.execPath, path.join(nodeDir, 'node'));
    });

    // Only the plugin, node and the system's tools: nothing from the checkout.
    // Without node: the link alone (the shebang's /usr/bin/env is found by its absolute path).
    const env = (withNode: boolean): NodeJS.ProcessEnv => ({ PATH: (withNode ? [binDir, nodeDir, '/usr/bin', '/bin'] : [binDir]).join(':'), HOME: dir });

    it('runs as `kubectl pullfix` from the link, with its own dependencies: version, and fix on a manifest', function () {
      const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0 ? 'kubectl' : undefined;
      if (!kubectl) this.skip();
      const version = run('kubectl', ['pullfix', 'version'], { env: env(true), cwd: dir });
      expect(version.status, version.stderr).to.equal(0);
      expect(version.stdout).to.match(new RegExp(`^pullfix ${pkg.version.replace(/\./g, '\\.')} \\(`));
      const pod = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  imagePullPolicy: Always\n  containers:\n    - name: app\n      image: registry.example/web:1.0\n';
      writeFileSync(path.join(dir, 'pod.yaml'), pod);
      const fixed = run('kubectl', ['pullfix', 'fix', path.join(dir, 'pod.yaml')], { env: env(true), cwd: dir });
      expect(fixed.status, fixed.stderr).to.equal(0);
      const out = parse(fixed.stdout) as Json;
      expect(out['spec']['imagePullPolicy']).to.equal(undefined);
      expect(out['spec']['containers'][0]['imagePullPolicy']).to.equal('Always');
    });

    it('without node on PATH it fails, as the caveats say', function () {
      const r = run(path.join(binDir, 'kubectl-pullfix'), ['version'], { env: env(false), cwd: dir });
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.match(/node/);
    });
  });

  it('krew-manifest refuses a missing tarball or a bad uri base, naming the flag (exit 2)', function () {
    const missing = run(process.execPath, [repoPath('tools', 'krew-manifest.mjs'), '--tarball', path.join(dir, 'nope.tar.gz'), '--uri-base', URI_BASE]);
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.equal(`krew-manifest: --tarball: ${path.join(dir, 'nope.tar.gz')} not found (make plugin-release builds it)\n`);
    const bad = run(process.execPath, [repoPath('tools', 'krew-manifest.mjs'), '--tarball', tarball, '--uri-base', 'github.com/pullfix']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/^krew-manifest: --uri-base: must be an http\(s\) URL, got 'github\.com\/pullfix'\n$/);
  });
});
