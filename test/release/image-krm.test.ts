// The KRM function image (`make image-krm`: tools/build-image.sh with IMAGE_VARIANT=krm), built
// for real and checked without a container engine: its config runs `pullfix krm` with no
// arguments, and its unpacked root filesystem, run under chroot the way kustomize runs a container
// function (`docker run ... --network none --user nobody IMAGE`, through a `docker` on PATH that
// does the same with chroot), gives what the exec function of examples/krm gives. Needs root,
// mmdebstrap, umoci and chroot (as test/manifests/image.test.ts), and the standalone kustomize.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { repoPath } from '../helpers/fixtures.js';
import { findKustomize } from '../krm/kustomize.js';

type Json = Record<string, any>;

function which(tool: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', env: { PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const blob = (layout: string, digest: string): string => path.join(layout, 'blobs', ...digest.split(':'));
const readJson = (file: string): Json => JSON.parse(readFileSync(file, 'utf8')) as Json;

describe('KRM function image (tools/build-image.sh IMAGE_VARIANT=krm)', function () {
  this.timeout(900_000);
  let work = '';
  let config: Json = {};
  let rootfs = '';
  let chroot = '';
  const version = (readJson(repoPath('package.json')) as { version: string }).version;

  before(function () {
    const missing = process.getuid?.() !== 0 ? 'not root (mmdebstrap --mode=root and chroot need it)' : ['mmdebstrap', 'umoci', 'chroot'].find((t) => which(t) === undefined);
    if (missing !== undefined) {
      console.warn(`    skipped: ${missing.includes(' ') ? missing : `${missing} not found on PATH`}`);
      this.skip();
    }
    chroot = which('chroot') ?? 'chroot';
    work = mkdtempSync(path.join(tmpdir(), 'pullfix-krm-image-'));
    const layout = path.join(work, 'oci');
    const out = execFileSync('bash', [repoPath('tools', 'build-image.sh')], {
      cwd: repoPath(),
      env: { ...process.env, IMAGE_VARIANT: 'krm', IMAGE_OUT: layout, IMAGE_PUSH: '' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const digest = /^IMAGE_DIGEST=(\S+)$/m.exec(out)?.[1] ?? '';
    expect(/^IMAGE_TAG=(\S+)$/m.exec(out)?.[1]).to.equal(version);
    const manifest = readJson(blob(layout, digest));
    config = readJson(blob(layout, manifest['config']['digest'] as string));
    rootfs = path.join(work, 'rootfs');
    mkdirSync(rootfs);
    for (const layer of manifest['layers'] as Json[]) execFileSync('tar', ['-xzf', blob(layout, layer['digest'] as string), '-C', rootfs]);
  });

  after(function () {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs `pullfix krm` with no arguments (kustomize and kpt pass none), as the image\'s non-root user', function () {
    expect(config['config']['Entrypoint']).to.deep.equal(['/usr/local/bin/node', '/app/dist/src/cli/main.js', 'krm']);
    expect(config['config']['Cmd'] ?? []).to.deep.equal([]);
    expect(config['config']['User']).to.equal('65532:65532');
    expect(config['config']['ExposedPorts']).to.equal(undefined);
    expect(config['config']['Labels']['org.opencontainers.image.title']).to.equal('pullfix-krm');
    expect(config['architecture']).to.equal('amd64');
  });

  it('fixes a ResourceList on stdin under chroot as nobody, as `pullfix krm` does on the host', function () {
    const items = parseAllDocuments(readFileSync(repoPath('examples', 'krm', 'app', 'web.yaml'), 'utf8')).map((d) => d.toJS() as Json);
    const list = stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items, functionConfig: { apiVersion: 'pullfix.dev/v1alpha1', kind: 'PullfixConfig', metadata: { name: 'pullfix' }, policies: { mutable: 'Always' } } });
    const inImage = spawnSync(chroot, ['--userspec=65534:65534', rootfs, ...(config['config']['Entrypoint'] as string[])], { input: list, encoding: 'utf8', cwd: '/', env: { PATH: '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production' } });
    expect(inImage.status, inImage.stderr).to.equal(0);
    const onHost = spawnSync(process.execPath, [repoPath('dist', 'src', 'cli', 'main.js'), 'krm'], { input: list, encoding: 'utf8' });
    expect(onHost.status, onHost.stderr).to.equal(0);
    expect(inImage.stdout).to.equal(onHost.stdout);
    const [out] = parseAllDocuments(inImage.stdout).map((d) => d.toJS() as Json);
    const web = (out?.['items'] as Json[]).find((i) => i['kind'] === 'Deployment' && i['metadata']['name'] === 'web');
    expect(web?.['spec']['template']['spec']['imagePullPolicy']).to.equal(undefined);
    expect(web?.['spec']['template']['spec']['containers'][0]['imagePullPolicy']).to.equal('Always');
  });

  it('runs from kustomize as a container function (config.kubernetes.io/function: container: image:), with kustomize\'s docker flags', function () {
    const found = findKustomize();
    if ('skip' in found) {
      console.warn(`    skipped: ${found.skip}`);
      this.skip();
    }
    const image = `ghcr.io/pullfix/pullfix-krm:${version}`;
    // `docker` as kustomize calls it, done with chroot: run [flags] IMAGE, stdin and stdout attached.
    // CommonJS: no package.json above the temporary directory says otherwise.
    const shimDir = path.join(work, 'shim');
    mkdirSync(shimDir);
    writeFileSync(path.join(shimDir, 'docker'), [
      `#!${process.execPath}`,
      "const { spawnSync } = require('node:child_process');",
      "const { writeFileSync } = require('node:fs');",
      'const args = process.argv.slice(2);',
      `writeFileSync(${JSON.stringify(path.join(shimDir, 'args.json'))}, JSON.stringify(args));`,
      "if (args[0] !== 'run') process.exit(64);",
      "const withValue = new Set(['-a', '--network', '--user', '-e', '--env', '--mount', '-v', '--workdir']);",
      "let i = 1, user = '';",
      "for (; i < args.length && args[i].startsWith('-'); i++) if (withValue.has(args[i])) { if (args[i] === '--user') user = args[i + 1]; i++; }",
      `if (args[i] !== ${JSON.stringify(image)}) { process.stderr.write('docker shim: unexpected image ' + args[i] + '\\n'); process.exit(65); }`,
      "const uid = user === 'nobody' ? '65534:65534' : '65532:65532';",
      `const entry = ${JSON.stringify(config['config']['Entrypoint'])};`,
      `const r = spawnSync(${JSON.stringify(chroot)}, ['--userspec=' + uid, ${JSON.stringify(rootfs)}, ...entry, ...args.slice(i + 1)], { stdio: 'inherit', cwd: '/', env: { PATH: '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production' } });`,
      'process.exit(r.status ?? 1);',
      '',
    ].join('\n'));
    chmodSync(path.join(shimDir, 'docker'), 0o755);
    const pkgDir = path.join(work, 'pkg');
    mkdirSync(pkgDir);
    cpSync(repoPath('examples', 'krm', 'app'), path.join(pkgDir, 'app'), { recursive: true });
    writeFileSync(path.join(pkgDir, 'kustomization.yaml'), 'resources:\n  - app\ntransformers:\n  - pullfix.yaml\n');
    const execConfig = readFileSync(repoPath('examples', 'krm', 'pullfix.yaml'), 'utf8');
    const containerConfig = execConfig.replace('      exec:\n        path: ./pullfix-krm\n', `      container:\n        image: ${image}\n`);
    expect(containerConfig).to.not.equal(execConfig);
    writeFileSync(path.join(pkgDir, 'pullfix.yaml'), containerConfig);
    const viaContainer = spawnSync(found.binary, ['build', '--enable-alpha-plugins', pkgDir], { encoding: 'utf8', env: { ...process.env, PATH: `${shimDir}:${process.env['PATH'] ?? ''}` } });
    expect(viaContainer.status, viaContainer.stderr).to.equal(0);
    const args = JSON.parse(readFileSync(path.join(shimDir, 'args.json'), 'utf8')) as string[];
    expect(args.slice(-1)).to.deep.equal([image]);
    expect(args.join(' ')).to.include('--network none').and.include('--user nobody');
    // The same as the exec function of examples/krm, which runs the checkout's build.
    expect(existsSync(repoPath('examples', 'krm', 'pullfix-krm'))).to.equal(true);
    const viaExec = spawnSync(found.binary, ['build', '--enable-alpha-plugins', '--enable-exec', repoPath('examples', 'krm')], { encoding: 'utf8' });
    expect(viaExec.status, viaExec.stderr).to.equal(0);
    expect(viaContainer.stdout).to.equal(viaExec.stdout);
    expect(viaContainer.stdout).to.match(/imagePullPolicy: Always/);
  });
});
