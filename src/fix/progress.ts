// Progress of `fix` over many files: a line on standard error that rewrites itself, only for a
// person watching a terminal. Piped or redirected (CI logs, pre-commit, `2>file`), nothing is
// printed, so logs and scripts see the same output as before.

/** Below this many files a run ends before a progress line is worth reading. */
export const PROGRESS_MIN_FILES = 50;
/** How often the line is rewritten, at most: a terminal need not redraw per file. */
export const PROGRESS_INTERVAL_MS = 100;

/** Whether to show progress: standard error is a terminal that can rewrite a line, and there are enough files. */
export function wantsProgress(stderrIsTTY: boolean, files: number, term: string | undefined): boolean {
  return stderrIsTTY && term !== 'dumb' && files >= PROGRESS_MIN_FILES;
}

export interface Progress {
  /** One more file done. */
  tick(): void;
  /** Clears the line, so what follows starts on a clean one. */
  done(): void;
}

export const NO_PROGRESS: Progress = { tick() {}, done() {} };

/** A rewriting line `pullfix: fixing 120/480 files` written through `write`, at most once per interval of `now`. */
export function progressLine(total: number, write: (text: string) => void, now: () => number = Date.now): Progress {
  let count = 0;
  let last = -Infinity;
  let shown = false;
  return {
    tick() {
      count++;
      const t = now();
      if (t - last < PROGRESS_INTERVAL_MS && count < total) return;
      last = t;
      shown = true;
      write(`\rpullfix: fixing ${count}/${total} files`);
    },
    done() {
      // Carriage return and erase to the end of the line (ECMA-48 EL).
      if (shown) write('\r\x1b[K');
    },
  };
}
