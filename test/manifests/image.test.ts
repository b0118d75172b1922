// The daemonless image (tools/build-image.sh, `make image`), built for real into a temporary OCI
// layout and read back with plain fs and JSON: the config the kubelet and the Deployment rely
// on (numeric non-root user, entrypoint, labels), the layers' ownership (read-only for the app
// user), the unpacked root filesystem running pullfix under chroot as 65532, and a second build
// giving the same manifest digest. Needs root, mmdebstrap and umoci (.ci/install-tools) and the
// Debian mirror and npm registry; skipped, with the reason, where they are missing.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
}
interface ImageConfig {
  os: string;
  architecture: string;
  config: {
    User?: string;
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Env?: string[];
    Labels?: Record<string, string>;
  };
}
interface Entry {
  mode: string; // as `tar -tv` prints it: drwxr-xr-x, -rw-r--r--, lrwxrwxrwx
  owner: string; // uid/gid
  name: string;
}
/** Where `command -v` finds TOOL, or undefined. */
function which(tool: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
// chroot lives in /usr/sbin; the runs below give the image a PATH of its own.
const chroot = which('chroot') ?? 'chroot';

interface Build {
  layout: string;
  digest: string;
  seconds: number;
}

function missingTool(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (mmdebstrap --mode=root and chroot need it)';
  for (const tool of ['mmdebstrap', 'umoci', 'chroot', 'tar']) {
    if (which(tool) === undefined) return `${tool} not found on PATH`;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) return 'dist/src/cli/main.js missing (make build)';
  return undefined;
}

function build(out: string): Build {
  const started = Date.now();
  const stdout = execFileSync('bash', [path.join(root, 'tools', 'build-image.sh')], {
    cwd: root,
    env: { ...process.env, IMAGE_OUT: out, IMAGE_PUSH: '' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const vars = Object.fromEntries(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { layout: out, digest: vars['IMAGE_DIGEST'] ?? '', seconds: (Date.now() - started) / 1000 };
}

function blobPath(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return path.join(layout, 'blobs', algorithm ?? '', hex ?? '');
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function entries(layer: string): Entry[] {
  const listing = execFileSync('tar', ['-tvzf', layer, '--numeric-owner'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return listing
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [mode = '', owner = '', , , , ...rest] = l.split(/\s+/);
      return { mode, owner, name: rest.join(' ').replace(/ -> .*$/, '') };
    });
}

describe('daemonless image (tools/build-image.sh)', function () {
  this.timeout(900_000);
  let work = '';
  let first: Build;
  let manifest: Manifest;
  let config: ImageConfig;
  let rootfs = '';
  const pkg = readJson<{ version: string; license: string }>(path.join(root, 'package.json'));

  before(function () {
    const missing = missingTool();
    if (missing !== undefined) {
      console.warn(`    skipped: ${missing}`);
      this.skip();
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'pullfix-image-test-'));
    first = build(path.join(work, 'oci'));
    const index = readJson<{ manifests: Descriptor[] }>(path.join(first.layout, 'index.json'));
    expect(index.manifests).to.have.length(1);
    expect(index.manifests[0]?.digest).to.equal(first.digest);
    manifest = readJson<Manifest>(blobPath(first.layout, first.digest));
    config = readJson<ImageConfig>(blobPath(first.layout, manifest.config.digest));
    rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(rootfs);
    // Our layers hold no whiteouts, so unpacking them in order is the image's filesystem.
    for (const layer of manifest.layers) execFileSync('tar', ['-xzf', blobPath(first.layout, layer.digest), '-C', rootfs]);
    const compressed = manifest.layers.reduce((n, l) => n + l.size, 0);
    const unpacked = Number(execFileSync('du', ['-sb', rootfs], { encoding: 'utf8' }).split('\t')[0]);
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    console.log(
      `    image ${first.digest}: ${mib(compressed)} MiB compressed (layers ${manifest.layers.map((l) => mib(l.size)).join(' + ')}), ` +
        `${mib(unpacked)} MiB unpacked; built in ${first.seconds.toFixed(0)} s`,
    );
  });

  after(function () {
    if (work !== '') fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs as 65532 from /app, with the entrypoint of the Dockerfile', function () {
    expect(config.os).to.equal('linux');
    expect(config.architecture).to.equal('amd64');
    // Numeric, so the kubelet can enforce runAsNonRoot without reading /etc/passwd.
    expect(config.config.User).to.equal('65532:65532');
    expect(config.config.Entrypoint).to.deep.equal(['/usr/local/bin/node', '/app/dist/src/cli/main.js']);
    expect(config.config.Cmd ?? []).to.deep.equal([]);
    expect(config.config.WorkingDir).to.equal('/app');
    expect(config.config.Env).to.include('NODE_ENV=production');
  });

  it('carries the OCI labels, the revision being the commit built', function () {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const labels = config.config.Labels ?? {};
    expect(labels['org.opencontainers.image.revision']).to.equal(head);
    expect(labels['org.opencontainers.image.version']).to.equal(pkg.version);
    expect(labels['org.opencontainers.image.licenses']).to.equal(pkg.license);
    expect(labels['org.opencontainers.image.source']).to.match(/^https:\/\//);
  });

  it('has four gzip layers: base, node, dependencies, app', function () {
    expect(manifest.layers.map((l) => l.mediaType)).to.deep.equal(Array(4).fill('application/vnd.oci.image.layer.v1.tar+gzip'));
    const names = manifest.layers.map((l) => entries(blobPath(first.layout, l.digest)).map((e) => e.name));
    expect(names[0]).to.include.members(['./etc/passwd', './etc/ssl/certs/ca-certificates.crt', './lib64/ld-linux-x86-64.so.2']);
    expect(names[1]).to.include('./usr/local/bin/node');
    expect(names[2]).to.include.members(['./app/package.json', './app/node_modules/express/package.json']);
    expect(names[3]).to.include('./app/dist/src/cli/main.js');
    // No shell, no package manager, no dev dependencies.
    const all = names.flat();
    for (const absent of ['./bin/sh', './usr/bin/sh', './usr/bin/dpkg', './usr/bin/apt', './usr/bin/openssl', './app/node_modules/typescript/package.json', './app/node_modules/mocha/package.json']) {
      expect(all, absent).to.not.include(absent);
    }
  });

  it('leaves nothing under /app or /usr/local that the app user could change', function () {
    for (const layer of manifest.layers.slice(1)) {
      for (const e of entries(blobPath(first.layout, layer.digest))) {
        expect(e.owner, e.name).to.equal('0/0');
        // Symbolic links carry no permissions of their own.
        if (!e.mode.startsWith('l')) expect(e.mode.slice(5, 6) + e.mode.slice(8, 9), `${e.mode} ${e.name}`).to.equal('--');
      }
    }
    const base = entries(blobPath(first.layout, manifest.layers[0]?.digest ?? ''));
    const nonrootOwned = base.filter((e) => e.owner !== '0/0').map((e) => `${e.owner} ${e.name}`);
    expect(nonrootOwned).to.deep.equal(['65532/65532 ./home/nonroot/']);
    expect(fs.readFileSync(path.join(rootfs, 'etc', 'passwd'), 'utf8')).to.match(/^nonroot:x:65532:65532:/m);
  });

  it('runs pullfix under chroot as 65532', function () {
    const run = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(chroot, ['--userspec=65532:65532', rootfs, ...(config.config.Entrypoint ?? []), ...args], {
        cwd: '/',
        encoding: 'utf8',
        input,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production', HOME: '/home/nonroot' },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const version = run(['--version']);
    expect(version.stderr).to.equal('');
    expect(version.status).to.equal(0);
    expect(version.stdout.trim()).to.equal(pkg.version);
    const help = run(['--help']);
    expect(help.status).to.equal(0);
    expect(help.stdout).to.match(/^Usage: pullfix /);
    const clean = run(['fix', '--check', '-'], fs.readFileSync(path.join(root, 'examples', 'manifests', 'clean.yaml'), 'utf8'));
    expect(clean.stderr).to.equal('');
    expect(clean.status).to.equal(0);
    const node = spawnSync(chroot, ['--userspec=65532:65532', rootfs, '/usr/local/bin/node', '--version'], { encoding: 'utf8' });
    expect(node.stdout.trim()).to.match(/^v24\./);
  });

  it('is reproducible: a second build gives the same manifest digest', function () {
    const second = build(path.join(work, 'oci-again'));
    console.log(`    second (warm) build in ${second.seconds.toFixed(0)} s`);
    expect(second.digest).to.equal(first.digest);
  });
});
