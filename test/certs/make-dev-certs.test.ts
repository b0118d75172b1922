// certs/make-dev-certs.sh: the CA and serving certificate that `make run`, the plain
// cluster install and the TLS tests rely on. Real openssl, real files, a real TLS
// handshake on loopback: what the API server does when it calls the webhook.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/certs/, so the repository root is three levels up.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = path.join(root, 'certs', 'make-dev-certs.sh');
const serviceName = 'pullfix.pullfix-system.svc';
const serverAuthOid = '1.3.6.1.5.5.7.3.1';

function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

function makeCerts(dir: string, ...args: string[]): string {
  return execFileSync('bash', [script, dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function read(dir: string, name: string): string {
  return fs.readFileSync(path.join(dir, name), 'utf8');
}

function x509(dir: string, name: string): crypto.X509Certificate {
  return new crypto.X509Certificate(read(dir, name));
}

function opensslVerify(dir: string): string {
  return execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'tls.crt')], {
    encoding: 'utf8',
  });
}

function sans(cert: crypto.X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(',').map((s) => s.trim());
}

describe('certs/make-dev-certs.sh', function () {
  let base = ''; // a fresh temporary directory for the whole suite

  before(function () {
    if (!hasOpenssl()) this.skip(); // the script needs openssl; nothing to check without it
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'pullfix-certs-'));
  });

  after(function () {
    if (base) fs.rmSync(base, { recursive: true, force: true });
  });

  describe('first run', function () {
    let dir = ''; // does not exist before the run: the script makes it
    let stdout = '';
    before(function () {
      dir = path.join(base, 'out', 'nested');
      stdout = makeCerts(dir);
    });

    it('writes the four files and prints one line saying where', function () {
      for (const f of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']) {
        expect(fs.existsSync(path.join(dir, f)), f).to.equal(true);
      }
      expect(stdout.trim().split('\n')).to.have.length(1);
      expect(stdout).to.contain(dir);
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    });

    it('keeps the private keys private (0600)', function () {
      expect(fs.statSync(path.join(dir, 'ca.key')).mode & 0o777).to.equal(0o600);
      expect(fs.statSync(path.join(dir, 'tls.key')).mode & 0o777).to.equal(0o600);
    });

    it('makes a CA certificate that may sign certificates', function () {
      const ca = x509(dir, 'ca.crt');
      expect(ca.ca).to.equal(true);
      const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'ca.crt'), '-noout', '-ext', 'keyUsage'], {
        encoding: 'utf8',
      });
      expect(text).to.contain('Certificate Sign');
    });

    it('signs the serving certificate with the CA (openssl verify)', function () {
      expect(opensslVerify(dir)).to.contain('OK');
      const leaf = x509(dir, 'tls.crt');
      expect(leaf.ca).to.equal(false);
      expect(leaf.checkIssued(x509(dir, 'ca.crt'))).to.equal(true);
      expect(leaf.verify(x509(dir, 'ca.crt').publicKey)).to.equal(true);
    });

    it('carries every name the API server or a local client may use', function () {
      expect(sans(x509(dir, 'tls.crt'))).to.deep.equal([
        'DNS:localhost',
        'IP Address:127.0.0.1',
        'DNS:pullfix',
        'DNS:pullfix.pullfix-system',
        'DNS:pullfix.pullfix-system.svc',
        'DNS:pullfix.pullfix-system.svc.cluster.local',
      ]);
    });

    it('is for server authentication only, with a digital-signature key usage', function () {
      const leaf = x509(dir, 'tls.crt');
      // Node names the extended key usage `keyUsage` (a list of OIDs).
      expect(leaf.keyUsage).to.deep.equal([serverAuthOid]);
      const eku = execFileSync('openssl', ['x509', '-in', path.join(dir, 'tls.crt'), '-noout', '-ext', 'extendedKeyUsage'], {
        encoding: 'utf8',
      });
      expect(eku).to.contain('TLS Web Server Authentication');
      const ku = execFileSync('openssl', ['x509', '-in', path.join(dir, 'tls.crt'), '-noout', '-ext', 'keyUsage'], {
        encoding: 'utf8',
      });
      expect(ku).to.contain('Digital Signature');
    });

    it('is valid now and for about a year', function () {
      const leaf = x509(dir, 'tls.crt');
      const now = Date.now();
      const days = (Date.parse(leaf.validTo) - now) / 86_400_000;
      expect(Date.parse(leaf.validFrom)).to.be.at.most(now + 1000);
      expect(days).to.be.within(364, 366);
    });

    it('writes the private key that matches the certificate', function () {
      const key = crypto.createPrivateKey(read(dir, 'tls.key'));
      expect(x509(dir, 'tls.crt').checkPrivateKey(key)).to.equal(true);
      const caKey = crypto.createPrivateKey(read(dir, 'ca.key'));
      expect(x509(dir, 'ca.crt').checkPrivateKey(caKey)).to.equal(true);
    });

    it('serves TLS that a client trusting only the CA accepts for pullfix.pullfix-system.svc', async function () {
      const ca = read(dir, 'ca.crt');
      const server = https.createServer({ cert: read(dir, 'tls.crt'), key: read(dir, 'tls.key') }, (_req, res) => {
        res.end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const result = await new Promise<{ authorized: boolean; identity: Error | undefined; wrong: Error | undefined }>(
          (resolve, reject) => {
            const socket = tls.connect({ host: '127.0.0.1', port, servername: serviceName, ca }, () => {
              const peer = socket.getPeerCertificate();
              resolve({
                authorized: socket.authorized,
                identity: tls.checkServerIdentity(serviceName, peer),
                wrong: tls.checkServerIdentity('pullfix.other-namespace.svc', peer),
              });
              socket.end();
            });
            socket.on('error', reject);
          },
        );
        expect(result.authorized).to.equal(true);
        expect(result.identity).to.equal(undefined);
        expect(result.wrong).to.be.instanceOf(Error);

        // And a whole HTTPS request, the way the API server calls /mutate.
        const body = await new Promise<string>((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port, servername: serviceName, ca, path: '/', agent: false }, (res) => {
              let data = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (data += chunk));
              res.on('end', () => resolve(data));
            })
            .on('error', reject);
        });
        expect(body).to.equal('ok');
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('is refused by a client that does not trust the CA', async function () {
      const server = https.createServer({ cert: read(dir, 'tls.crt'), key: read(dir, 'tls.key') }, (_req, res) => {
        res.end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const err = await new Promise<Error | undefined>((resolve) => {
          const socket = tls.connect({ host: '127.0.0.1', port, servername: serviceName }, () => {
            socket.end();
            resolve(undefined);
          });
          socket.on('error', resolve);
        });
        expect(err).to.be.instanceOf(Error);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('re-issues only the serving pair on a second run (rotation)', function () {
      const caBefore = read(dir, 'ca.crt');
      const caKeyBefore = read(dir, 'ca.key');
      const leafBefore = x509(dir, 'tls.crt');
      const keyBefore = read(dir, 'tls.key');

      const stdout = makeCerts(dir);
      expect(stdout).to.contain('existing CA reused');

      expect(read(dir, 'ca.crt')).to.equal(caBefore);
      expect(read(dir, 'ca.key')).to.equal(caKeyBefore);
      const leafAfter = x509(dir, 'tls.crt');
      expect(leafAfter.serialNumber).to.not.equal(leafBefore.serialNumber);
      expect(read(dir, 'tls.key')).to.not.equal(keyBefore);
      expect(opensslVerify(dir)).to.contain('OK');
      expect(leafAfter.checkPrivateKey(crypto.createPrivateKey(read(dir, 'tls.key')))).to.equal(true);
      expect(sans(leafAfter)).to.include('DNS:pullfix.pullfix-system.svc');
      // No temporary files left behind for a directory watcher to trip on.
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    });
  });

  it('takes the service and namespace from its arguments', function () {
    const out = path.join(base, 'custom');
    makeCerts(out, 'hook', 'tools');
    const names = sans(x509(out, 'tls.crt'));
    expect(names).to.include.members([
      'DNS:hook',
      'DNS:hook.tools',
      'DNS:hook.tools.svc',
      'DNS:hook.tools.svc.cluster.local',
      'DNS:localhost',
      'IP Address:127.0.0.1',
    ]);
    expect(names).to.not.include('DNS:pullfix.pullfix-system.svc');
  });

  it('refuses a directory holding a CA key that does not match the CA certificate', function () {
    const a = path.join(base, 'a');
    const b = path.join(base, 'b');
    makeCerts(a);
    makeCerts(b);
    fs.copyFileSync(path.join(b, 'ca.key'), path.join(a, 'ca.key'));
    const tlsBefore = read(a, 'tls.crt');
    const run = spawnSync('bash', [script, a], { encoding: 'utf8' });
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.contain('does not match');
    expect(read(a, 'tls.crt')).to.equal(tlsBefore);
  });

  it('refuses a directory holding only half a CA', function () {
    const half = path.join(base, 'half');
    makeCerts(half);
    fs.rmSync(path.join(half, 'ca.key'));
    const run = spawnSync('bash', [script, half], { encoding: 'utf8' });
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.contain('only one of ca.crt and ca.key');
  });

  it('prints usage and fails without an output directory', function () {
    const run = spawnSync('bash', [script], { encoding: 'utf8' });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.contain('usage:');
  });
});
