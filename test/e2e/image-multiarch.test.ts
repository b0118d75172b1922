// The multi-platform image (`make image-multiarch`: tools/build-image-index.sh), built for real for
// linux/amd64 and linux/arm64 and pushed to a loopback docker-registry: the index names both
// platforms, the arm64 image's config says arm64 and its node and dynamic loader are AArch64 ELF
// files (checked by their headers: nothing arm64 can run here, and nothing needed to). Needs
// root, mmdebstrap, umoci, crane (make e2e builds it) and docker-registry; no cluster.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { REGISTRY_BINARY, Registry } from './harness/registry.js';
import { freePort } from './harness/processes.js';
import { root } from '../manifests/helm.js';

type Json = Record<string, any>;

const CRANE = process.env['CRANE'] ?? path.join(process.env['PULLFIX_E2E_CACHE'] ?? path.join(homedir(), '.cache', 'pullfix-e2e'), 'crane-v0.22.1', 'crane');
// ELF e_machine values (elf.h).
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (mmdebstrap --mode=root needs it)';
  for (const tool of ['mmdebstrap', 'umoci']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not found on PATH`;
  if (!existsSync(CRANE)) return `crane not found at ${CRANE} (test/e2e/cluster/build.sh builds it)`;
  if (!existsSync(REGISTRY_BINARY)) return `${REGISTRY_BINARY} not found`;
  return undefined;
}

/** The ELF header of `file` inside the gzip layer `layer`: class (2 = 64-bit) and machine. */
function elfOf(layer: string, file: string, scratch: string): { magic: string; elfClass: number; machine: number } {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  execFileSync('tar', ['-xzf', layer, '-C', scratch, file]);
  const head = readFileSync(path.join(scratch, file)).subarray(0, 20);
  return { magic: head.subarray(0, 4).toString('latin1'), elfClass: head[4] ?? 0, machine: head.readUInt16LE(18) };
}

describe('e2e: multi-platform image (tools/build-image-index.sh)', function () {
  this.timeout(1_200_000);
  let dir = '';
  let registry: Registry | undefined;
  let out: Record<string, string> = {};
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

  const get = async (p: string, accept: string): Promise<Json> => {
    const res = await fetch(`http://${registry?.host}${p}`, { headers: { accept } });
    expect(res.status, p).to.equal(200);
    return (await res.json()) as Json;
  };
  const blob = (platform: string, digest: string): string => path.join(dir, 'layouts', platform, 'blobs', ...digest.split(':'));

  before(async function () {
    const reason = missing();
    if (reason) {
      console.warn(`    skipped: ${reason}`);
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), 'pullfix-multiarch-'));
    registry = new Registry({ dir: path.join(dir, 'registry'), port: await freePort() });
    await registry.start();
    // What `make image-multiarch` runs after its compile.
    const stdout = execFileSync('bash', [path.join(root, 'tools', 'build-image-index.sh')], {
      cwd: root,
      env: { ...process.env, CRANE, IMAGE_PUSH: `${registry.host}/pullfix:${version}`, IMAGE_INSECURE: '1', IMAGE_OUT: path.join(dir, 'layouts') },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    out = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  });

  after(async function () {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pushes an OCI index of linux/amd64 and linux/arm64 under the tag, each image under <tag>-linux-<arch>', async function () {
    const index = await get(`/v2/pullfix/manifests/${version}`, 'application/vnd.oci.image.index.v1+json');
    expect(index['mediaType']).to.equal('application/vnd.oci.image.index.v1+json');
    const entries = (index['manifests'] as Json[]).map((m) => ({ digest: m['digest'], os: m['platform']?.['os'], architecture: m['platform']?.['architecture'] }));
    expect(entries).to.deep.equal([
      { digest: out['IMAGE_DIGEST_linux_amd64'], os: 'linux', architecture: 'amd64' },
      { digest: out['IMAGE_DIGEST_linux_arm64'], os: 'linux', architecture: 'arm64' },
    ]);
    const res = await fetch(`http://${registry?.host}/v2/pullfix/manifests/${version}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
    expect(res.headers.get('docker-content-digest')).to.equal(out['IMAGE_INDEX_DIGEST']);
    for (const arch of ['amd64', 'arm64']) {
      const single = await fetch(`http://${registry?.host}/v2/pullfix/manifests/${version}-linux-${arch}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(single.headers.get('docker-content-digest'), arch).to.equal(out[`IMAGE_DIGEST_linux_${arch}`]);
    }
  });

  it('the arm64 image is arm64 through and through: config, node binary, dynamic loader, Debian packages', async function () {
    const manifest = await get(`/v2/pullfix/manifests/${out['IMAGE_DIGEST_linux_arm64']}`, 'application/vnd.oci.image.manifest.v1+json');
    const config = await get(`/v2/pullfix/blobs/${manifest['config']['digest']}`, '*/*');
    expect(config['architecture']).to.equal('arm64');
    expect(config['os']).to.equal('linux');
    expect(config['config']['Entrypoint']).to.deep.equal(['/usr/local/bin/node', '/app/dist/src/cli/main.js']);
    const [base, node] = (manifest['layers'] as Json[]).map((l) => blob('linux-arm64', l['digest'] as string)) as [string, string];
    const scratch = path.join(dir, 'scratch');
    expect(elfOf(node, './usr/local/bin/node', scratch)).to.deep.equal({ magic: '\x7fELF', elfClass: 2, machine: EM_AARCH64 });
    // The loader arm64 binaries name (PT_INTERP /lib/ld-linux-aarch64.so.1): a link to glibc's.
    expect(execFileSync('tar', ['-tvzf', base, './lib/ld-linux-aarch64.so.1'], { encoding: 'utf8' })).to.include('-> aarch64-linux-gnu/ld-linux-aarch64.so.1');
    expect(elfOf(base, './lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', scratch).machine).to.equal(EM_AARCH64);
    execFileSync('tar', ['-xzf', base, '-C', scratch, './var/lib/dpkg/status.d']);
    for (const pkg of ['libc6', 'libgcc-s1', 'libstdc++6']) {
      expect(readFileSync(path.join(scratch, 'var', 'lib', 'dpkg', 'status.d', pkg), 'utf8'), pkg).to.match(/^Architecture: arm64$/m);
    }
  });

  it('the amd64 image stays x86-64 (the same recipe, the other platform)', async function () {
    const manifest = await get(`/v2/pullfix/manifests/${out['IMAGE_DIGEST_linux_amd64']}`, 'application/vnd.oci.image.manifest.v1+json');
    const config = await get(`/v2/pullfix/blobs/${manifest['config']['digest']}`, '*/*');
    expect(config['architecture']).to.equal('amd64');
    const node = blob('linux-amd64', (manifest['layers'] as Json[])[1]?.['digest'] as string);
    expect(elfOf(node, './usr/local/bin/node', path.join(dir, 'scratch')).machine).to.equal(EM_X86_64);
  });
});
