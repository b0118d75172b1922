// The serving certificate, re-read from files (cert-manager's pkg/server/tls style): poll every
// few seconds and also react to fs.watch, swap only when the bytes changed and the new pair
// parses and matches, keep the old pair otherwise. Kubernetes updates a Secret volume by
// swapping a `..data` symlink in the directory, so the directory is watched, not the file.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { watchFiles } from '../util/watch-files.js';
import { UserError } from '../util/user-error.js';

export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
  /** Upper-case hex, as `X509Certificate.serialNumber` and `getPeerCertificate()` print it. */
  serial: string;
  notAfter: Date;
}

/** A certificate or key file that cannot be used; `file` is the one at fault. */
export class CertificateError extends UserError {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

export interface CertificateSourceStats {
  reloads: number;
  failures: number;
  lastError?: string;
  loadedAt?: Date;
}

export interface FileCertificateSourceOptions {
  certFile: string;
  keyFile: string;
  intervalMs?: number;
  logger?: Logger;
}


export class FileCertificateSource {
  readonly stats: CertificateSourceStats = { reloads: 0, failures: 0 };
  private readonly certFile: string;
  private readonly keyFile: string;
  private readonly intervalMs: number;
  private readonly logger: Logger | undefined;
  private pair: CertificatePair | undefined;
  private rejected: { cert: Buffer; key: Buffer } | undefined;
  private rejectedError: string | undefined;
  private stopWatching: (() => void) | undefined;
  private onChange: ((pair: CertificatePair) => void) | undefined;

  constructor(opts: FileCertificateSourceOptions) {
    this.certFile = opts.certFile;
    this.keyFile = opts.keyFile;
    this.intervalMs = opts.intervalMs ?? 2000;
    this.logger = opts.logger;
  }

  /** Reads and checks both files; throws CertificateError naming the file at fault. */
  load(): CertificatePair {
    const pair = parsePair(readPem(this.certFile, 'certificate'), readPem(this.keyFile, 'private key'), this.certFile, this.keyFile);
    this.pair = pair;
    this.stats.loadedAt = new Date();
    return pair;
  }

  current(): CertificatePair {
    if (!this.pair) throw new Error('FileCertificateSource: load() was not called');
    return this.pair;
  }

  /** Starts watching; `onChange` gets every accepted new pair (and may throw to refuse it). */
  start(onChange: (pair: CertificatePair) => void): void {
    if (!this.pair) this.load();
    this.stop();
    this.onChange = onChange;
    this.stopWatching = watchFiles([this.certFile, this.keyFile], { intervalMs: this.intervalMs, logger: this.logger, what: 'certificate' }, () =>
      this.check(),
    );
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private check(): void {
    const old = this.pair;
    if (!old || !this.onChange) return;
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(this.certFile);
      key = readFileSync(this.keyFile);
    } catch (err) {
      this.refuse(undefined, (err as Error).message);
      return;
    }
    if (cert.equals(old.cert) && key.equals(old.key)) {
      this.rejected = this.rejectedError = undefined;
      return;
    }
    // The same bad bytes were already refused (and logged) once; wait for them to change.
    if (this.rejected && cert.equals(this.rejected.cert) && key.equals(this.rejected.key)) return;
    let pair: CertificatePair;
    try {
      pair = parsePair(cert, key, this.certFile, this.keyFile);
      this.onChange(pair);
    } catch (err) {
      // A half-written rotation (new cert, old key) lands here too, and is retried on the
      // next tick or file event, when its bytes have changed again.
      this.refuse({ cert, key }, (err as Error).message);
      return;
    }
    this.pair = pair;
    this.rejected = this.rejectedError = undefined;
    this.stats.reloads++;
    this.stats.loadedAt = new Date();
    this.logger?.info(
      { certFile: this.certFile, serial: pair.serial, notAfter: pair.notAfter.toISOString(), previousSerial: old.serial },
      'TLS certificate reloaded',
    );
  }

  private refuse(bytes: { cert: Buffer; key: Buffer } | undefined, message: string): void {
    // An unreadable file gives no bytes to remember; log it once per distinct error.
    if (!bytes && message === this.rejectedError) return;
    this.rejected = bytes;
    this.rejectedError = message;
    this.stats.failures++;
    this.stats.lastError = message;
    this.logger?.warn(
      { certFile: this.certFile, keyFile: this.keyFile, err: message, serial: this.pair?.serial },
      'refused new TLS certificate pair; still serving the current one',
    );
  }
}

function readPem(file: string, what: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`;
    throw new CertificateError(`TLS ${what} file ${file} ${why}`, file);
  }
  return bytes;
}

/** Checks that `cert` is a PEM certificate, `key` a PEM private key, and that they belong together. */
function parsePair(cert: Buffer, key: Buffer, certFile: string, keyFile: string): CertificatePair {
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CertificateError(`TLS certificate file ${certFile} is not a PEM certificate (no BEGIN CERTIFICATE block)`, certFile);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new CertificateError(`TLS certificate file ${certFile} is not a valid PEM certificate: ${(err as Error).message}`, certFile);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) {
    throw new CertificateError(`TLS key file ${keyFile} is not a PEM private key (no BEGIN PRIVATE KEY block)`, keyFile);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new CertificateError(`TLS key file ${keyFile} is not a valid PEM private key: ${(err as Error).message}`, keyFile);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CertificateError(`TLS key file ${keyFile} does not match the certificate in ${certFile}`, keyFile);
  }
  return { cert, key, serial: x509.serialNumber, notAfter: new Date(x509.validTo) };
}
