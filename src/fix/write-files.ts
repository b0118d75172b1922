// `--write`: every target checked before any is written, each written to a temporary file
// beside it and renamed over it, so a full disk or a crash leaves the original or the new
// file, never half of one.

import * as nodeFs from 'node:fs';
import path from 'node:path';
import { FixError } from './fix-error.js';

/** The file-system calls a write makes, replaceable so a failure half-way can be simulated. */
export interface WriteFs {
  openSync: typeof nodeFs.openSync;
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
  fsyncSync: typeof nodeFs.fsyncSync;
  fchmodSync: typeof nodeFs.fchmodSync;
  closeSync: typeof nodeFs.closeSync;
  renameSync: typeof nodeFs.renameSync;
  unlinkSync: typeof nodeFs.unlinkSync;
}

export const REAL_FS: WriteFs = nodeFs;

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = { EACCES: 'permission denied', EPERM: 'not permitted', ENOSPC: 'no space left on device', EROFS: 'read-only file system', EDQUOT: 'disk quota exceeded' };
  return (code && words[code]) ?? (err as Error).message;
}

/**
 * Why `file` cannot be rewritten, or undefined when it can: the file itself must be writable
 * (a file with no write permission bit is read-only, even to root) and so must its directory,
 * where the temporary file goes.
 */
function writeProblem(file: string): string | undefined {
  try {
    const real = nodeFs.realpathSync(file);
    const stat = nodeFs.statSync(real);
    if ((stat.mode & 0o222) === 0) return 'the file is read-only';
    nodeFs.accessSync(real, nodeFs.constants.W_OK);
    nodeFs.accessSync(path.dirname(real), nodeFs.constants.W_OK | nodeFs.constants.X_OK);
    return undefined;
  } catch (err) {
    return reason(err);
  }
}

/** Throws one error naming every target that cannot be written, before anything is. */
export function checkWritable(files: readonly string[]): void {
  const problems = files.flatMap((f) => {
    const why = writeProblem(f);
    return why ? [`${f}: cannot write: ${why}`] : [];
  });
  if (problems.length > 0) throw new FixError(`${problems.join('\npullfix: ')}\npullfix: nothing written`);
}

/** Writes `bytes` over `file` through a temporary file and a rename; the file keeps its permission bits. */
export function writeAtomically(file: string, bytes: Uint8Array, fs: WriteFs = REAL_FS): void {
  // Through a symbolic link, the file it points to is replaced, not the link.
  const real = nodeFs.realpathSync(file);
  const mode = nodeFs.statSync(real).mode & 0o7777;
  const tmp = path.join(path.dirname(real), `.${path.basename(real)}.pullfix-${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    try {
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, real);
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Already renamed, or never there: nothing to clean up.
    }
    throw new FixError(`${file}: cannot write: ${reason(err)}; the file is left as it was`);
  }
}
