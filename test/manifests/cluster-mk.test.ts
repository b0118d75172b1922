// mk/cluster.mk, run for real with a stand-in kubectl: no cluster exists here, so
// `kubectl apply/delete/rollout/wait` are recorded instead of sent, while
// `kubectl kustomize` and `kubectl create --dry-run=client` are the real thing.
// This checks what `make deploy` would send: the namespace first, then the TLS
// Secret, then the server, and only once it has rolled out the webhook configuration
// with every caBundle filled in; the image replaced throughout. And that
// `make undeploy` removes the webhook configuration first.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const kubectl = process.env['KUBECTL'] ?? 'kubectl';

interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}
interface Call {
  argv: string;
  objects: KObject[];
}

function available(cmd: string, ...args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function documents(text: string): KObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((v): v is KObject => v !== null && typeof v === 'object');
}

const fakeKubectl = `#!/usr/bin/env bash
# Stand-in kubectl for tests: offline verbs run for real, the rest are recorded.
set -euo pipefail
case "\${1:-}" in
  kustomize|create) exec "$REAL_KUBECTL" "$@" ;;
esac
{
  echo "### $*"
  if [[ "\${1:-}" == apply ]]; then
    prev=''
    for a in "$@"; do
      if [[ "$prev" == -f ]]; then
        if [[ "$a" == - ]]; then cat; else cat "$a"; fi
      fi
      prev=$a
    done
  fi
} >> "$FAKE_KUBECTL_LOG"
`;

describe('mk/cluster.mk', function () {
  let work = '';
  let log = '';
  let env: NodeJS.ProcessEnv = {};

  before(function () {
    for (const [cmd, arg] of [['make', '--version'], [kubectl, 'version'], ['openssl', 'version']] as const) {
      if (!available(cmd, arg, ...(cmd === kubectl ? ['--client'] : []))) {
        console.warn(`    skipped: ${cmd} not found on PATH`);
        this.skip();
      }
    }
    // A copy of what the targets read, so the test writes nothing into the work tree.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'pullfix-cluster-mk-'));
    for (const dir of ['certs', 'manifests', 'mk']) fs.cpSync(path.join(root, dir), path.join(work, dir), { recursive: true });
    const bin = path.join(work, 'fake-kubectl');
    fs.writeFileSync(bin, fakeKubectl, { mode: 0o755 });
    log = path.join(work, 'kubectl.log');
    env = { ...process.env, REAL_KUBECTL: kubectl, FAKE_KUBECTL_LOG: log };
  });

  after(function () {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  function make(...args: string[]): string {
    fs.writeFileSync(log, '');
    return execFileSync('make', ['--no-print-directory', '-f', 'mk/cluster.mk', `KUBECTL=${path.join(work, 'fake-kubectl')}`, ...args], {
      cwd: work,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  function calls(): Call[] {
    return fs
      .readFileSync(log, 'utf8')
      .split(/^### /m)
      .filter((chunk) => chunk.trim() !== '')
      .map((chunk) => {
        const newline = chunk.indexOf('\n');
        return { argv: chunk.slice(0, newline), objects: documents(chunk.slice(newline + 1)) };
      });
  }

  it('parses, and every target has a recipe (make -n)', function () {
    const out = make('-n', 'deploy', 'deploy-cert-manager', 'undeploy', 'image', 'manifests-render');
    expect(out).to.contain('certs/make-dev-certs.sh .run/cluster-certs');
    expect(out, 'make image builds without a Docker engine').to.contain('bash tools/build-image.sh');
    expect(make('-n', 'image', 'IMAGE_BUILDER=docker')).to.contain('docker build -t ghcr.io/pullfix/pullfix:0.1.0 .');
  });

  it('manifests-render prints the base and every overlay', function () {
    const objects = documents(make('-s', 'manifests-render'));
    const webhooks = objects.filter((o) => o.kind === 'MutatingWebhookConfiguration');
    expect(webhooks).to.have.length(3);
    expect(objects.filter((o) => o.kind === 'Certificate').map((o) => o.metadata.name)).to.have.members([
      'pullfix-ca',
      'pullfix-serving-cert',
    ]);
  });

  it('deploy applies the namespace, the TLS Secret, the server, then the webhook with the CA filled in', function () {
    make('deploy', 'IMAGE=localhost:5000/team/pullfix:dev');
    const seen = calls();
    expect(seen.map((c) => c.argv)).to.deep.equal([
      'apply -f manifests/base/namespace.yaml',
      'apply -f -',
      'apply -f -',
      '-n pullfix-system rollout status deployment/pullfix --timeout=120s',
      'apply -f -',
    ]);
    const applies = seen.filter((c) => c.argv.startsWith('apply'));
    expect(applies.map((c) => c.objects.map((o) => o.kind)[0])).to.deep.equal(['Namespace', 'Secret', 'Namespace', 'Namespace']);
    // The server goes in before any webhook points at it.
    const server = applies[2]?.objects ?? [];
    expect(server.map((o) => o.kind)).to.include('Deployment');
    expect(server.map((o) => o.kind)).to.not.include('MutatingWebhookConfiguration');

    expect(applies[0]?.objects.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal(['Namespace/pullfix-system']);

    const certs = path.join(work, '.run', 'cluster-certs');
    const secret = applies[1]?.objects[0] as KObject & { type: string; data: Record<string, string> };
    expect(secret.metadata).to.deep.include({ name: 'pullfix-tls', namespace: 'pullfix-system' });
    expect(secret.type).to.equal('kubernetes.io/tls');
    const servingPem = Buffer.from(secret.data['tls.crt'] ?? '', 'base64').toString('utf8');
    expect(servingPem).to.equal(fs.readFileSync(path.join(certs, 'tls.crt'), 'utf8'));

    const manifests = applies[3]?.objects ?? [];
    expect(manifests.map((o) => o.kind).sort()).to.deep.equal([...server.map((o) => o.kind), 'MutatingWebhookConfiguration'].sort());
    const config = manifests.find((o) => o.kind === 'MutatingWebhookConfiguration') as
      | (KObject & { webhooks: { name: string; clientConfig: { caBundle?: string } }[] })
      | undefined;
    expect(config?.webhooks.map((w) => w.name)).to.deep.equal(['default.pullfix.dev', 'enforce.pullfix.dev', 'enforce-open.pullfix.dev']);
    const ca = new crypto.X509Certificate(fs.readFileSync(path.join(certs, 'ca.crt')));
    for (const w of config?.webhooks ?? []) {
      const bundle = Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8');
      // The API server verifies the Secret's serving certificate with this bundle.
      expect(new crypto.X509Certificate(bundle).fingerprint256, w.name).to.equal(ca.fingerprint256);
      expect(new crypto.X509Certificate(servingPem).checkIssued(new crypto.X509Certificate(bundle)), w.name).to.equal(true);
    }
    const deployment = manifests.find((o) => o.kind === 'Deployment') as
      | (KObject & { spec: { template: { spec: { containers: { image: string }[] } } } })
      | undefined;
    expect(deployment?.spec.template.spec.containers[0]?.image).to.equal('localhost:5000/team/pullfix:dev');
  });

  it('deploy keeps the CA across runs and takes an image by digest and an overlay', function () {
    const caBefore = fs.readFileSync(path.join(work, '.run', 'cluster-certs', 'ca.crt'), 'utf8');
    const digest = `sha256:${'ab'.repeat(32)}`;
    make('deploy', `IMAGE=registry.example:5000/pullfix@${digest}`, 'KUSTOMIZE_DIR=manifests/overlays/kruise');
    expect(fs.readFileSync(path.join(work, '.run', 'cluster-certs', 'ca.crt'), 'utf8')).to.equal(caBefore);
    const manifests = calls().filter((c) => c.argv.startsWith('apply')).at(-1)?.objects ?? [];
    const deployment = manifests.find((o) => o.kind === 'Deployment') as
      | (KObject & { spec: { template: { spec: { containers: { image: string }[] } } } })
      | undefined;
    expect(deployment?.spec.template.spec.containers[0]?.image).to.equal(`registry.example:5000/pullfix@${digest}`);
    const config = manifests.find((o) => o.kind === 'MutatingWebhookConfiguration') as
      | (KObject & { webhooks: { rules: { apiGroups: string[] }[]; clientConfig: { caBundle?: string } }[] })
      | undefined;
    for (const w of config?.webhooks ?? []) {
      expect(w.rules.some((r) => r.apiGroups.includes('apps.kruise.io'))).to.equal(true);
      expect(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8')).to.equal(caBefore);
    }
  });

  it('deploy-cert-manager leaves the caBundle to cert-manager', function () {
    make('deploy-cert-manager');
    const seen = calls();
    expect(seen.map((c) => c.argv)).to.deep.equal([
      'apply -f -',
      '-n pullfix-system wait certificate/pullfix-serving-cert --for=condition=Ready --timeout=120s',
      '-n pullfix-system rollout status deployment/pullfix --timeout=120s',
      'apply -f -',
    ]);
    expect(seen[0]?.objects.map((o) => o.kind)).to.include('Certificate').and.not.include('MutatingWebhookConfiguration');
    const manifests = seen[3]?.objects ?? [];
    expect(manifests.map((o) => o.kind)).to.include('Certificate');
    const config = manifests.find((o) => o.kind === 'MutatingWebhookConfiguration') as
      | (KObject & { metadata: { annotations?: Record<string, string> }; webhooks: { clientConfig: { caBundle?: string } }[] })
      | undefined;
    expect(config?.metadata.annotations?.['cert-manager.io/inject-ca-from']).to.equal('pullfix-system/pullfix-serving-cert');
    for (const w of config?.webhooks ?? []) expect(w.clientConfig.caBundle).to.equal(undefined);
  });

  it('undeploy removes the webhook configuration before the webhook', function () {
    make('undeploy');
    expect(calls().map((c) => c.argv)).to.deep.equal([
      'delete mutatingwebhookconfiguration pullfix --ignore-not-found',
      'delete -k manifests --ignore-not-found',
    ]);
  });
});
