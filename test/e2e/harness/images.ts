// Test images without a daemon and without the internet: crane appends tarball layers onto an
// empty base and pushes them to the suite's registry. A "build" is busybox (one layer, shared by
// every build) plus a file naming the build (a second, tiny layer), so pushing build 2 under a
// tag that held build 1 is exactly what a user's CI does, and a node that has build 1 fetches
// only the small layer. Digests are reproducible: same build, same bytes.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = process.env.PULLFIX_E2E_BUSYBOX ?? '/bin/busybox';

/** The node's platform: the images carry it in their config, as a real build's would. */
const PLATFORM = `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}`;

/**
 * What a build's container runs: print the build, then wait for SIGTERM. crane reads
 * `--entrypoint` as one CSV record, so no comma and no double quote inside.
 */
const ENTRYPOINT = ['/bin/sh', '-c', "cat /build; trap 'exit 0' TERM; while true; do sleep 1; done"];

function tarball(root: string, file: string): void {
  // Reproducible layers: sorted names, fixed owner and time.
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', root, '-cf', file, '.'], { stdio: 'ignore' });
}

export class TestImages {
  private readonly busyboxLayer: string;
  private readonly env: NodeJS.ProcessEnv;

  /**
   * With `credentials`, crane logs in with them: they go into a Docker config.json of this
   * object's own (DOCKER_CONFIG), never the host's ~/.docker.
   */
  constructor(private readonly crane: string, readonly registry: string, private readonly dir: string, credentials?: { user: string; password: string }) {
    mkdirSync(dir, { recursive: true });
    this.busyboxLayer = join(dir, 'busybox.tar');
    const dockerConfig = join(dir, 'docker');
    mkdirSync(dockerConfig, { recursive: true });
    const auths = credentials ? { [registry]: { auth: Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64') } } : {};
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths }), { mode: 0o600 });
    this.env = { ...process.env, DOCKER_CONFIG: dockerConfig };
  }

  private run(args: string[]): string {
    try {
      return execFileSync(this.crane, ['--insecure', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: this.env }).trim();
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`crane ${args.join(' ')}: ${stderr.trim() || (err as Error).message}`);
    }
  }

  private ensureBusyboxLayer(): void {
    if (existsSync(this.busyboxLayer)) return;
    const root = join(this.dir, 'busybox-root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'cat', 'sleep', 'echo', 'ls']) symlinkSync('busybox', join(root, 'bin', applet));
    tarball(root, this.busyboxLayer);
    rmSync(root, { recursive: true, force: true });
  }

  /** `REGISTRY/repository:tag` */
  ref(repository: string, tag: string): string {
    return `${this.registry}/${repository}:${tag}`;
  }

  /**
   * Pushes build `build` of `repository` under `tag` (moving the tag if it held another build)
   * and returns its manifest digest. The container prints `REPOSITORY build BUILD`.
   */
  pushBuild(repository: string, tag: string, build: number, platform: string = PLATFORM): string {
    this.ensureBusyboxLayer();
    const root = join(this.dir, `build-${repository.replace(/\W/g, '_')}-${build}`);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'build'), `${repository} build ${build}\n`);
    const layer = `${root}.tar`;
    tarball(root, layer);
    const staging = this.ref(repository, `staging-${build}`);
    this.run(['append', '--oci-empty-base', '--new_layer', this.busyboxLayer, '--new_layer', layer, '--new_tag', staging]);
    const target = this.ref(repository, tag);
    this.run(['mutate', staging, '--set-platform', platform, '--entrypoint', ENTRYPOINT.join(','), '--tag', target]);
    return this.digest(target);
  }

  /**
   * A multi-platform tag: an OCI index of the images `tags` of `repository` (each pushed with
   * its own platform by pushBuild), pushed under `tag`. Returns the index's digest.
   */
  pushIndex(repository: string, tag: string, tags: readonly string[]): string {
    const target = this.ref(repository, tag);
    this.run(['index', 'append', ...tags.flatMap((t) => ['--manifest', this.ref(repository, t)]), '--tag', target]);
    return this.digest(target);
  }

  /** The node's platform, `linux/amd64` or `linux/arm64`. */
  static get nodePlatform(): string {
    return PLATFORM;
  }

  /** The sandbox (pause) image, from the static program build.sh made. */
  pushPause(pauseBinary: string, ref: string): void {
    const root = join(this.dir, 'pause-root');
    mkdirSync(root, { recursive: true });
    copyFileSync(pauseBinary, join(root, 'pause'));
    chmodSync(join(root, 'pause'), 0o755);
    const layer = join(this.dir, 'pause.tar');
    tarball(root, layer);
    const staging = `${ref}-staging`;
    this.run(['append', '--oci-empty-base', '--new_layer', layer, '--new_tag', staging]);
    this.run(['mutate', staging, '--set-platform', PLATFORM, '--entrypoint', '/pause', '--tag', ref]);
  }

  /** The digest `ref` resolves to in the registry now. */
  digest(ref: string): string {
    return this.run(['digest', ref]);
  }

  /** `crane copy`: the same manifest under another tag. */
  copy(from: string, to: string): void {
    this.run(['copy', from, to]);
  }
}
