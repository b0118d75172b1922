// `--write`: every target checked before any is written, each written to a temporary file
// beside it and renamed over it, so a full disk or a crash leaves the original or the new
// file, never half of one. A symbolic link is not written through unless asked
// (`--follow-symlinks`): a link in the tree being fixed may point anywhere, and replacing the
// file it points to, outside that tree, is not what "rewrite these files in place" promises.

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

export interface WriteOptions {
  /** Write through a symbolic link to the file it points to (the link stays); otherwise a link is refused. */
  followSymlinks?: boolean;
}

/** What a symbolic link at `file` points to, as the link says it (`ls -l`); undefined when `file` is not a link. */
export function symlinkTarget(file: string): string | undefined {
  try {
    return nodeFs.lstatSync(file).isSymbolicLink() ? nodeFs.readlinkSync(file) : undefined;
  } catch {
    return undefined; // missing or unreadable: the write path names that problem
  }
}

/** The one line that says a link was left alone (after `pullfix: `). */
export function symlinkNotice(file: string, target: string): string {
  return `${file}: a symbolic link (to ${target}): not written; --follow-symlinks writes through it`;
}

/** The path a write replaces: the file a link points to when following links, else the path itself. */
function destination(file: string, options: WriteOptions): string {
  return options.followSymlinks ? nodeFs.realpathSync(file) : file;
}

/**
 * Why `file` cannot be rewritten, or undefined when it can: the file itself must be writable
 * (a file with no write permission bit is read-only, even to root) and so must its directory,
 * where the temporary file goes.
 */
function writeProblem(file: string, options: WriteOptions): string | undefined {
  try {
    const real = destination(file, options);
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
export function checkWritable(files: readonly string[], options: WriteOptions = {}): void {
  const problems = files.flatMap((f) => {
    const why = writeProblem(f, options);
    return why ? [`${f}: cannot write: ${why}`] : [];
  });
  if (problems.length > 0) throw new FixError(`${problems.join('\npullfix: ')}\npullfix: nothing written`);
}

/**
 * Writes `bytes` over `file` through a temporary file and a rename; the file keeps its permission
 * bits. A symbolic link is refused (FixError) unless `followSymlinks`, and then the file it
 * points to is replaced, not the link.
 */
export function writeAtomically(file: string, bytes: Uint8Array, fs: WriteFs = REAL_FS, options: WriteOptions = {}): void {
  if (!options.followSymlinks) {
    const target = symlinkTarget(file);
    if (target !== undefined) throw new FixError(symlinkNotice(file, target));
  }
  // Not following, the rename replaces the path itself: a link put there since the check above
  // is replaced, never written through.
  const real = destination(file, options);
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
