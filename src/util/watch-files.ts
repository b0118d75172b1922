// Noticing that mounted files changed. Kubernetes updates Secret and ConfigMap volumes by
// swapping a `..data` symlink in the directory, and editors replace files rather than write
// them, so the directories are watched, not the files. fs.watch only makes a change quick to
// see; the poll is what guarantees it (network and overlay filesystems may not support watch).
import { type FSWatcher, watch } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export interface WatchFilesOptions {
  intervalMs: number;
  logger?: Logger;
  /** What the files are, for log lines ("certificate", "namespace file", ...). */
  what: string;
}

// Coalesces the burst of events one update causes (two renames, a symlink swap).
const SETTLE_MS = 30;

/** Calls `check` every interval and soon after any event in the files' directories; returns a stop function. */
export function watchFiles(files: readonly string[], options: WatchFilesOptions, check: () => void): () => void {
  const { logger, what } = options;
  const poll = setInterval(check, options.intervalMs);
  poll.unref();
  let settle: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    if (settle) clearTimeout(settle);
    settle = setTimeout(() => {
      settle = undefined;
      check();
    }, SETTLE_MS);
    settle.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (err) => {
        logger?.warn({ dir, err: err.message }, `${what} directory watch failed; polling only`);
        watcher.close();
      });
      watchers.push(watcher);
    } catch (err) {
      logger?.warn({ dir, err: (err as Error).message }, `cannot watch ${what} directory; polling only`);
    }
  }
  return () => {
    stopped = true;
    clearInterval(poll);
    if (settle) clearTimeout(settle);
    for (const watcher of watchers) watcher.close();
  };
}
