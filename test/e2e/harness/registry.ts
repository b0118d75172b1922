// The suite's OCI registry: Debian's docker-registry (distribution 2.8) on a free loopback port,
// storage under the run's directory. Its access log (combined format, one line a request, with
// the user agent) is the suite's pull counter: manifest requests made by containerd are pulls
// the node really attempted, whatever the kubelet's events say.
//
// With `auth`, the registry wants HTTP Basic credentials from an htpasswd file (bcrypt, the only
// hash distribution accepts) for every request, /v2/ included: the private registry of the
// stale-build tests, which the node reaches through a pull secret and pullfix through the same.
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Started, httpGet, mustBeAlive, startProcess, waitFor } from './processes.js';

export const REGISTRY_BINARY = process.env.PULLFIX_E2E_REGISTRY ?? '/usr/bin/docker-registry';

export interface RegistryCredentials {
  user: string;
  password: string;
}

export interface RegistryOptions {
  binary?: string;
  /** The registry's own directory: its config, storage and log. */
  dir: string;
  port: number;
  auth?: RegistryCredentials;
}

export interface RegistryRequest {
  method: string;
  repository: string;
  /** The tag or digest after /manifests/. */
  reference: string;
  status: number;
  userAgent: string;
}

/** `"HEAD /v2/demo/manifests/dev HTTP/1.1" 200 527 "" "containerd/v2.4.2"` */
const MANIFEST_LINE = /"(HEAD|GET) \/v2\/(.+?)\/manifests\/(\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/;

/** The `Authorization` header value for `credentials`. */
export function basicAuth(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
}

export class Registry {
  /** `127.0.0.1:PORT`: the host part of every image the suite pushes. */
  readonly host: string;
  readonly logFile: string;
  private process: Started | undefined;

  constructor(private readonly opts: RegistryOptions) {
    this.host = `127.0.0.1:${opts.port}`;
    this.logFile = join(opts.dir, 'registry.log');
  }

  get auth(): RegistryCredentials | undefined {
    return this.opts.auth;
  }

  async start(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    const config = join(this.opts.dir, 'registry.yaml');
    const auth = this.opts.auth;
    const htpasswd = join(this.opts.dir, 'htpasswd');
    if (auth) writeFileSync(htpasswd, `${auth.user}:${bcrypt.hashSync(auth.password, 4)}\n`, { mode: 0o600 });
    writeFileSync(config, [
      'version: 0.1',
      'log:',
      '  level: info',
      '  formatter: text',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(this.opts.dir, 'registry'))}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: ${this.host}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      ...(auth ? ['auth:', '  htpasswd:', '    realm: pullfix-e2e', `    path: ${JSON.stringify(htpasswd)}`] : []),
      '',
    ].join('\n'));
    const registry = startProcess('registry', this.opts.binary ?? REGISTRY_BINARY, ['serve', config], this.logFile);
    this.process = registry;
    // With auth, /v2/ answers 401 to an anonymous request: that the registry is up is what counts here.
    const up = auth ? 401 : 200;
    await waitFor(`the registry ${this.host} /v2/`, async () => ((await httpGet(`http://${this.host}/v2/`)).status === up ? true : undefined), {
      timeoutMs: 30_000,
      guard: () => mustBeAlive(registry),
    });
  }

  /** Every manifest request in the access log so far, oldest first. */
  manifestRequests(): RegistryRequest[] {
    const out: RegistryRequest[] = [];
    for (const line of readFileSync(this.logFile, 'utf8').split('\n')) {
      const m = MANIFEST_LINE.exec(line);
      if (m) out.push({ method: m[1] as string, repository: m[2] as string, reference: m[3] as string, status: Number(m[4]), userAgent: m[5] as string });
    }
    return out;
  }

  /** Manifest requests the node (containerd) made for `repository`: its pull attempts. */
  nodePulls(repository: string): RegistryRequest[] {
    return this.manifestRequests().filter((r) => r.repository === repository && r.userAgent.startsWith('containerd/'));
  }

  async stop(): Promise<void> {
    await this.process?.stop(10_000);
  }
}
