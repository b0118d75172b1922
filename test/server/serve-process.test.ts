// `pullfix serve` as a process, for what only a process shows: the log line of a review
// answered just before SIGTERM is written (logging is asynchronous, the exit flushes it),
// start-up failures are one line and exit 2, and KUBECONFIG drives the metadata-only watch.
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CertFiles, makeCerts, makeTempDir, removeDir } from '../helpers/certs.js';
import { FakeKubeApi, fakeKubeconfigText } from '../helpers/fake-kube-api.js';
import { REPO_ROOT, loadReview } from '../helpers/fixtures.js';
import { pollUntil, postReview, scrape } from '../helpers/https-client.js';
import { freePort } from '../e2e/harness/processes.js';

const CLI = 'dist/src/cli/main.js';

class Serve {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    const clean = { ...process.env };
    delete clean.KUBECONFIG;
    delete clean.KUBERNETES_SERVICE_HOST;
    this.child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...clean, ...env } });
    this.child.stdout?.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    this.child.stderr?.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  lines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}


describe('pullfix serve (process): logs, start-up errors, KUBECONFIG', function () {
  let certs: CertFiles;
  let ca: Buffer;
  let dir: string;
  let proc: Serve | undefined;

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

  const tls = (): string[] => ['--tls-cert', certs.cert, '--tls-key', certs.key, '--host', '127.0.0.1'];

  async function ready(healthPort: number): Promise<void> {
    await pollUntil(async () => {
      if (proc?.child.exitCode !== null) throw new Error(`pullfix serve exited: ${proc?.stderr}`);
      return (await scrape(healthPort, '/readyz').catch(() => ({ status: 0 }))).status === 200;
    }, 'readiness', 10_000);
  }

  it('writes the log line of a review patched just before SIGTERM (the exit flushes the buffered log)', async () => {
    const [port, healthPort] = [await freePort(), await freePort()];
    proc = new Serve(['--namespaces', 'examples/namespaces.yaml', '--port', String(port), '--health-port', String(healthPort), ...tls()]);
    await ready(healthPort);
    const review = loadReview('pod-misplaced-kubectl-apply.json') as unknown as { request: { uid: string } };
    review.request.uid = 'c0ffee00-0000-4000-8000-000000000001';
    const reply = await postReview({ port, ca, agent: false }, review);
    expect(reply.body.response.patch).to.be.a('string');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).to.equal(0);
    const patched = proc.lines().filter((l) => l.msg === 'patched');
    expect(patched.map((l) => l.uid)).to.deep.equal(['c0ffee00-0000-4000-8000-000000000001']);
    expect(proc.lines().at(-1)?.msg).to.equal('stopped');
  });

  for (const flag of ['--port', '--health-port'] as const) {
    it(`a ${flag} already in use is one line naming it, exit 2`, async () => {
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const taken = (holder.address() as AddressInfo).port;
      try {
        const other = await freePort();
        const ports = flag === '--port' ? { port: taken, health: other } : { port: other, health: taken };
        proc = new Serve(['--namespaces', 'examples/namespaces.yaml', '--port', String(ports.port), '--health-port', String(ports.health), ...tls()]);
        expect(await proc.exited).to.equal(2);
        expect(proc.stderr).to.equal(`pullfix: cannot listen on 127.0.0.1:${taken} (${flag}): the port is already in use\n`);
      } finally {
        holder.close();
      }
    });
  }

  it('a certificate that is not PEM is one line naming the file, exit 2', async () => {
    const bad = join(dir, 'tls.crt');
    writeFileSync(bad, 'not a certificate\n');
    proc = new Serve(['--namespaces', 'examples/namespaces.yaml', '--port', String(await freePort()), '--health-port', String(await freePort()), '--tls-cert', bad, '--tls-key', certs.key]);
    expect(await proc.exited).to.equal(2);
    expect(proc.stderr).to.equal(`pullfix: TLS certificate file ${bad} is not a PEM certificate (no BEGIN CERTIFICATE block)\n`);
  });

  it('a KUBECONFIG that names no current context is one line naming the file, exit 2', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\n');
    proc = new Serve(['--port', String(await freePort()), '--health-port', String(await freePort()), ...tls()], { KUBECONFIG: kubeconfig });
    expect(await proc.exited).to.equal(2);
    expect(proc.stderr).to.equal(`pullfix: kubeconfig ${kubeconfig} has no current-context\n`);
  });

  it('with KUBECONFIG: lists and watches namespaces as metadata only, and applies their labels', async () => {
    const api = await FakeKubeApi.start({ shop: { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always' } });
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, fakeKubeconfigText(api.url));
      const [port, healthPort] = [await freePort(), await freePort()];
      proc = new Serve(['--port', String(port), '--health-port', String(healthPort), ...tls()], { KUBECONFIG: kubeconfig });
      await ready(healthPort);
      const review = loadReview('pod-one-container.json') as unknown as { request: { namespace: string; object: { metadata: { namespace: string } } } };
      review.request.namespace = 'shop';
      review.request.object.metadata.namespace = 'shop';
      const reply = await postReview({ port, ca }, review);
      expect(reply.body.response.auditAnnotations?.changes).to.match(/IfNotPresent->Always/);
      expect(api.requests[0]).to.deep.include({ kind: 'list', accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' });
      // A namespace created after the list, not yet seen by the watch: one GET.
      api.applySilently('fresh', { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always' });
      review.request.namespace = 'fresh';
      review.request.object.metadata.namespace = 'fresh';
      const fresh = await postReview({ port, ca }, review);
      expect(fresh.body.response.auditAnnotations?.changes).to.match(/IfNotPresent->Always/);
      expect(api.count('get')).to.equal(1);
    } finally {
      await proc?.kill();
      await api.close();
    }
  });
});
