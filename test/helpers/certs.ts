// Real certificates for tests, made by the same script developers and the plain install use
// (certs/make-dev-certs.sh), so the tests exercise what ships.
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// dist/test/helpers/certs.js -> repository root
const SCRIPT = fileURLToPath(new URL('../../../certs/make-dev-certs.sh', import.meta.url));

export interface CertFiles {
  dir: string;
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

/** A fresh temporary directory; remove it with `removeDir`. */
export function makeTempDir(prefix = 'pullfix-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs `make-dev-certs.sh DIR`: a new CA and serving pair the first time, and on a DIR that
 * already has a CA, a new serving pair (new serial) from the same CA. Files are renamed into
 * place, so a watcher never sees a half-written file.
 */
export function makeCerts(dir: string = makeTempDir()): CertFiles {
  execFileSync('bash', [SCRIPT, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
  };
}

/**
 * Issues a new serving pair in `files.dir` from the existing CA, without blocking the event
 * loop (so servers and clients in the same test keep running during the rotation).
 */
export async function rotateCerts(files: CertFiles): Promise<void> {
  await promisify(execFile)('bash', [SCRIPT, files.dir]);
}

/** The serial of a PEM certificate file, as Node prints it (upper-case hex). */
export function serialOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).serialNumber;
}
