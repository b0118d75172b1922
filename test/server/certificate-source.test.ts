import { expect } from 'chai';
import { once } from 'node:events';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { CertificateError, FileCertificateSource } from '../../src/server/certificate-source.js';
import { type CertFiles, makeCerts, makeTempDir, removeDir, rotateCerts, serialOf } from '../helpers/certs.js';

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function loadError(certFile: string, keyFile: string): CertificateError {
  try {
    new FileCertificateSource({ certFile, keyFile }).load();
  } catch (err) {
    expect(err).to.be.instanceOf(CertificateError);
    return err as CertificateError;
  }
  throw new Error('load() did not throw');
}

/** One GET; resolves with the serial of the certificate the server presented. */
function get(port: number, ca: Buffer, agent: https.Agent | false): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', ca, agent }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(serial) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('FileCertificateSource', () => {
  describe('load()', () => {
    let files: CertFiles;
    let other: CertFiles;
    let scratch: string;
    before(() => {
      files = makeCerts();
      other = makeCerts();
      scratch = makeTempDir();
    });
    after(() => [files.dir, other.dir, scratch].forEach(removeDir));

    it('loads a matching pair with its serial and expiry', () => {
      const source = new FileCertificateSource({ certFile: files.cert, keyFile: files.key });
      const pair = source.load();
      expect(pair.serial).to.equal(serialOf(files.cert));
      expect(pair.cert.equals(readFileSync(files.cert))).to.equal(true);
      expect(pair.key.equals(readFileSync(files.key))).to.equal(true);
      // make-dev-certs.sh issues for 365 days
      const days = (pair.notAfter.getTime() - Date.now()) / 86_400_000;
      expect(days).to.be.within(363, 366);
      expect(source.current()).to.equal(pair);
      expect(source.stats.loadedAt).to.be.instanceOf(Date);
    });

    it('names a missing certificate file', () => {
      const missing = join(scratch, 'nope.crt');
      const err = loadError(missing, files.key);
      expect(err.file).to.equal(missing);
      expect(err.message).to.equal(`TLS certificate file ${missing} does not exist`);
    });

    it('names a missing key file', () => {
      const missing = join(scratch, 'nope.key');
      const err = loadError(files.cert, missing);
      expect(err.file).to.equal(missing);
      expect(err.message).to.equal(`TLS private key file ${missing} does not exist`);
    });

    it('names a certificate file that is not PEM', () => {
      const bad = join(scratch, 'bad.crt');
      writeFileSync(bad, 'this is not a certificate\n');
      const err = loadError(bad, files.key);
      expect(err.file).to.equal(bad);
      expect(err.message).to.contain('is not a PEM certificate');
    });

    it('names a certificate file whose PEM block is corrupt', () => {
      const bad = join(scratch, 'corrupt.crt');
      writeFileSync(bad, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      const err = loadError(bad, files.key);
      expect(err.file).to.equal(bad);
      expect(err.message).to.match(/^TLS certificate file .* is not a valid PEM certificate: /);
    });

    it('names a key file that is not a private key (a certificate given as the key)', () => {
      const err = loadError(files.cert, files.cert);
      expect(err.file).to.equal(files.cert);
      expect(err.message).to.equal(`TLS key file ${files.cert} is not a PEM private key (no BEGIN PRIVATE KEY block)`);
    });

    it('names a key file whose PEM block is corrupt', () => {
      const bad = join(scratch, 'corrupt.key');
      writeFileSync(bad, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
      const err = loadError(files.cert, bad);
      expect(err.file).to.equal(bad);
      expect(err.message).to.match(/^TLS key file .* is not a valid PEM private key: /);
      expect(err.message).not.to.contain('AAAA');
    });

    it('names the key file when the key does not belong to the certificate', () => {
      const err = loadError(files.cert, other.key);
      expect(err.file).to.equal(other.key);
      expect(err.message).to.equal(`TLS key file ${other.key} does not match the certificate in ${files.cert}`);
    });

    it('current() before load() is a programming error', () => {
      expect(() => new FileCertificateSource({ certFile: files.cert, keyFile: files.key }).current()).to.throw(/load\(\)/);
    });
  });

  describe('rotation behind a real HTTPS server', () => {
    let files: CertFiles;
    let ca: Buffer;
    let source: FileCertificateSource;
    let server: https.Server;
    let port: number;
    let firstSerial: string;

    beforeEach(async () => {
      files = makeCerts();
      ca = readFileSync(files.caCert);
      source = new FileCertificateSource({ certFile: files.cert, keyFile: files.key, intervalMs: 100 });
      const pair = source.load();
      firstSerial = pair.serial;
      server = https.createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (_req, res) => {
        // Hold each request a moment so some are in flight while the pair is swapped.
        setTimeout(() => res.end('ok'), 3);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
      source.start((p) => server.setSecureContext({ cert: p.cert, key: p.key, minVersion: 'TLSv1.2' }));
    });

    afterEach(async () => {
      source.stop();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
      removeDir(files.dir);
    });

    it('serves the new certificate to new connections and fails no request', async () => {
      const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 3, ca });
      let stop = false;
      let ok = 0;
      const errors: Error[] = [];
      const freshSerials: string[] = [];
      const loop = async (agent: https.Agent | false): Promise<void> => {
        while (!stop) {
          try {
            const serial = await get(port, ca, agent);
            if (agent === false) freshSerials.push(serial);
            ok++;
          } catch (err) {
            errors.push(err as Error);
          }
        }
      };
      const clients = [loop(keepAlive), loop(keepAlive), loop(keepAlive), loop(false)];
      try {
        await until(() => ok >= 20, '20 requests before the rotation');
        await rotateCerts(files);
        const newSerial = serialOf(files.cert);
        expect(newSerial).not.to.equal(firstSerial);
        await until(() => source.stats.reloads === 1, 'the reload');
        const okAtReload = ok;
        await until(() => ok >= okAtReload + 20, '20 requests after the rotation');
        stop = true;
        await Promise.all(clients);

        expect(errors).to.deep.equal([]);
        expect(source.current().serial).to.equal(newSerial);
        expect(await get(port, ca, false)).to.equal(newSerial);
        // Every new connection saw the old serial, then the new one, never going back.
        const firstNew = freshSerials.indexOf(newSerial);
        expect(freshSerials[0]).to.equal(firstSerial);
        expect(firstNew).to.be.greaterThan(0);
        expect(freshSerials.slice(firstNew).every((s) => s === newSerial)).to.equal(true);
        expect(source.stats.loadedAt).to.be.instanceOf(Date);
      } finally {
        stop = true;
        await Promise.all(clients);
        keepAlive.destroy();
      }
    });

    it('refuses a garbage key, keeps serving the old certificate, then accepts a good pair', async () => {
      writeFileSync(`${files.key}.new`, 'garbage, not a key\n');
      renameSync(`${files.key}.new`, files.key);
      await until(() => source.stats.failures === 1, 'the refusal');
      expect(source.stats.lastError).to.equal(`TLS key file ${files.key} is not a PEM private key (no BEGIN PRIVATE KEY block)`);
      expect(source.stats.reloads).to.equal(0);
      expect(source.current().serial).to.equal(firstSerial);
      expect(await get(port, ca, false)).to.equal(firstSerial);

      // The same bad bytes are not refused (or logged) again on every tick.
      await new Promise((r) => setTimeout(r, 350));
      expect(source.stats.failures).to.equal(1);

      await rotateCerts(files);
      await until(() => source.stats.reloads === 1, 'the reload');
      expect(await get(port, ca, false)).to.equal(serialOf(files.cert));
    });

    it('refuses a certificate issued for another key and keeps serving the old one', async () => {
      const other = makeCerts();
      try {
        // Replace the certificate atomically, as a Secret volume update would.
        const tmp = join(files.dir, '.tls.crt.new');
        writeFileSync(tmp, readFileSync(other.cert));
        renameSync(tmp, files.cert);
        await until(() => source.stats.failures === 1, 'the refusal');
        expect(source.stats.lastError).to.equal(`TLS key file ${files.key} does not match the certificate in ${files.cert}`);
        expect(source.current().serial).to.equal(firstSerial);
        expect(await get(port, ca, false)).to.equal(firstSerial);
        expect(source.stats.reloads).to.equal(0);
      } finally {
        removeDir(other.dir);
      }
    });

    it('stop() ends polling and watching', async () => {
      source.stop();
      await rotateCerts(files);
      await new Promise((r) => setTimeout(r, 300));
      expect(source.stats.reloads).to.equal(0);
      expect(await get(port, ca, false)).to.equal(firstSerial);
    });
  });
});
