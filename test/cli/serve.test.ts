// `pullfix serve` as a process (SPEC §6): the built CLI with real certificates, driven the way
// a kubelet and an API server drive it. SIGTERM while reviews are in flight, the request log
// line, and the startup errors that must exit 2 with a message naming what is wrong.
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CertFiles, makeCerts, makeTempDir, removeDir } from '../helpers/certs.js';
import { REPO_ROOT, loadReview } from '../helpers/fixtures.js';
import { type Target, holdReview, keepAliveAgent, pollUntil, postReview, scrape } from '../helpers/https-client.js';

const CLI = 'dist/src/cli/main.js';

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

/** A running `pullfix serve`, its output collected as it comes. */
class ServeProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = once(this.child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, at: Date.now() }));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logs(): LogLine[] {
    return this.lines.map((line) => JSON.parse(line) as LogLine);
  }

  /** The first log line with `msg`, waiting for it; fails early if the process exits. */
  async log(msg: string, timeoutMs = 10_000): Promise<LogLine> {
    let found: LogLine | undefined;
    await pollUntil(
      () => {
        found = this.logs().find((l) => l.msg === msg);
        if (!found && !this.running) throw new Error(`pullfix serve exited before logging "${msg}"; stderr: ${this.stderr}`);
        return found !== undefined;
      },
      `the log line "${msg}"`,
      timeoutMs,
    );
    return found as LogLine;
  }

  /** SIGKILL if still running: a test that failed half-way leaves nothing behind. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Runs `pullfix serve ARGS` to its end. */
async function serveToExit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = new ServeProcess(args);
  const { code } = await proc.exited;
  return { code, stdout: proc.lines.join('\n'), stderr: proc.stderr };
}

/** Two distinct free ports: bound together by the kernel's choice, then released. */
async function freePorts(): Promise<[number, number]> {
  const servers = [net.createServer(), net.createServer()];
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return [ports[0] as number, ports[1] as number];
}

describe('pullfix serve (process)', function () {
  let certs: CertFiles;
  let ca: Buffer;
  let dir: string;
  let proc: ServeProcess | undefined;

  before(() => {
    certs = makeCerts();
    ca = readFileSync(certs.caCert);
  });
  after(() => removeDir(certs.dir));
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    await proc?.kill();
    proc = undefined;
    removeDir(dir);
  });

  async function start(): Promise<{ port: number; healthPort: number }> {
    const [port, healthPort] = await freePorts();
    proc = new ServeProcess([
      '--config', 'examples/config.yaml',
      '--tls-cert', certs.cert,
      '--tls-key', certs.key,
      '--namespaces', 'examples/namespaces.yaml',
      '--port', String(port),
      '--health-port', String(healthPort),
      '--host', '127.0.0.1',
    ]);
    const listening = await proc.log('pullfix webhook listening');
    expect(listening).to.deep.include({ port, healthPort, config: 'examples/config.yaml' });
    await pollUntil(async () => (await scrape(healthPort, '/readyz')).status === 200, 'readiness');
    return { port, healthPort };
  }

  it('on SIGTERM finishes 30 reviews in flight, closes idle connections and exits 0', async () => {
    const { port } = await start();
    const running = proc as ServeProcess;
    const review = loadReview('pod-50-containers.json');

    // An API server connection that is idle when the signal comes.
    const idle: Target = { port, ca, agent: keepAliveAgent(ca) };
    expect((await postReview(idle, review)).status).to.equal(200);
    const idleSocket = Object.values((idle.agent as https.Agent).freeSockets).flat()[0];
    expect(idleSocket, 'an idle keep-alive connection').not.to.equal(undefined);
    const idleClosed = new Promise<number>((resolve) => idleSocket?.once('close', () => resolve(Date.now())));

    // 30 reviews on 6 keep-alive agents, each with its headers read by the server and its
    // handler waiting for the body: in flight for certain when the signal arrives.
    const agents = Array.from({ length: 6 }, () => keepAliveAgent(ca));
    const held = Array.from({ length: 30 }, (_, i) => holdReview({ port, ca, agent: agents[i % agents.length] as https.Agent }, review));
    try {
      await Promise.all(held.map((h) => h.accepted));

      const signalled = Date.now();
      running.child.kill('SIGTERM');
      await running.log('shutting down: finishing requests in flight');
      await idleClosed;

      const replies = await Promise.all(held.map((h) => h.release()));
      for (const reply of replies) {
        expect(reply.status).to.equal(200);
        expect(reply.body.apiVersion).to.equal('admission.k8s.io/v1');
        expect(reply.body.response.uid).to.equal(review.request.uid);
        expect(reply.body.response.allowed).to.equal(true);
        expect(reply.body.response.patchType).to.equal('JSONPatch');
        expect(reply.headers.connection).to.equal('close');
      }

      const exit = await running.exited;
      expect({ code: exit.code, signal: exit.signal }).to.deep.equal({ code: 0, signal: null });
      // Nothing waited for a keep-alive or shutdown timeout (20 s).
      expect(exit.at - signalled).to.be.below(5000);
      // The 30 held reviews were answered between the signal and the end: one before, 30 after.
      const messages = running.logs().map((l) => l.msg);
      const draining = messages.indexOf('shutting down: finishing requests in flight');
      expect(messages.slice(0, draining).filter((m) => m === 'patched')).to.have.length(1);
      expect(messages.slice(draining + 1)).to.deep.equal([...Array<string>(30).fill('patched'), 'stopped']);
      expect(running.stderr).to.equal('');
      await postReview({ port, ca }, review).then(
        () => expect.fail('answered after exit'),
        (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ECONNREFUSED'),
      );
    } finally {
      for (const agent of [...agents, idle.agent as https.Agent]) agent.destroy();
    }
  });

  it('logs one line per patched request: who and what changed, no object contents', async () => {
    const { port } = await start();
    const running = proc as ServeProcess;
    const target: Target = { port, ca, agent: keepAliveAgent(ca) };
    try {
      const pod = loadReview('pod-misplaced-kubectl-apply.json');
      const configMap = loadReview('configmap.json');
      // The ConfigMap first: a line for it would come before the Pod's in the ordered output.
      expect((await postReview(target, configMap)).status).to.equal(200);
      expect((await postReview(target, pod)).status).to.equal(200);
      await pollUntil(() => running.lines.some((l) => l.includes(pod.request.uid)), 'the log line');
      const raw = running.lines.find((l) => l.includes(pod.request.uid)) as string;

      const { time, ...fields } = JSON.parse(raw) as Record<string, unknown>;
      expect(time).to.be.a('number');
      expect(fields).to.deep.equal({
        level: 30,
        app: 'pullfix',
        uid: '8f6b1a52-1d3c-4f7e-9a0b-2c4d6e8f0a11',
        kind: 'Pod',
        namespace: 'default',
        name: 'myapp',
        operation: 'CREATE',
        dryRun: false,
        changes: 'containers[myapp]: IfNotPresent->Always (pod-level value)',
        msg: 'patched',
      });
      // One `name` key (the object's): a second one would be read differently by each collector.
      expect(raw.match(/"name":/g)).to.have.length(1);
      for (const content of ['myregistry.com', '5c3dda6b', 'last-applied', 'imagePullSecrets', 'kubernetes-admin', 'registry-key']) {
        expect(raw).not.to.contain(content);
      }
      // Unchanged objects are not logged.
      expect(running.lines.some((l) => l.includes(configMap.request.uid))).to.equal(false);
    } finally {
      (target.agent as https.Agent).destroy();
    }
  });

  describe('startup errors exit 2 with a message naming the problem', () => {
    it('serve without --tls-cert', async () => {
      const run = await serveToExit(['--tls-key', certs.key, '--namespaces', 'examples/namespaces.yaml']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.equal(
        'pullfix: serve needs --tls-cert and --tls-key: the webhook port speaks TLS only (make run generates development certificates)\n',
      );
      expect(run.stdout).to.equal('');
    });

    it('a config file with a bad value', async () => {
      const config = join(dir, 'config.yaml');
      writeFileSync(config, 'mode: default\npolicies:\n  mutable: always\n');
      const run = await serveToExit(['--config', config, '--tls-cert', certs.cert, '--tls-key', certs.key, '--namespaces', 'examples/namespaces.yaml']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.equal(`pullfix: ${config}: policies.mutable: must be one of Always, IfNotPresent, Never (case-sensitive), got "always"\n`);
      expect(run.stdout).not.to.contain('listening');
    });

    it('a config file with an unknown field', async () => {
      const config = join(dir, 'config.yaml');
      writeFileSync(config, 'mode: default\npolicy:\n  mutable: Always\n');
      const run = await serveToExit(['--config', config, '--tls-cert', certs.cert, '--tls-key', certs.key, '--namespaces', 'examples/namespaces.yaml']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.equal(`pullfix: ${config}: policy: unknown field; expected one of mode, policies, mutableTags, exemptImages, workloads, podTemplates\n`);
    });

    it('a config file that does not exist', async () => {
      const config = join(dir, 'missing.yaml');
      const run = await serveToExit(['--config', config, '--tls-cert', certs.cert, '--tls-key', certs.key, '--namespaces', 'examples/namespaces.yaml']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.equal(`pullfix: ${config}: (file): cannot be read: ENOENT\n`);
    });

    it('a certificate file that does not exist', async () => {
      const missing = join(dir, 'tls.crt');
      const run = await serveToExit(['--tls-cert', missing, '--tls-key', certs.key, '--namespaces', 'examples/namespaces.yaml']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.equal(`pullfix: TLS certificate file ${missing} does not exist\n`);
    });

    it('a key file that does not exist', async () => {
      const missing = join(dir, 'tls.key');
      const run = await serveToExit(['--tls-cert', certs.cert, '--tls-key', missing, '--namespaces', 'examples/namespaces.yaml']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.equal(`pullfix: TLS private key file ${missing} does not exist\n`);
    });
  });
});
