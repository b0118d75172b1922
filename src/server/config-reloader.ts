// Keeps the engine in step with the config file: a ConfigMap update swaps a symlink in the
// mounted directory, which watchFiles sees. A bad new file is refused and the last good engine kept.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadConfigFile } from '../config/load-config.js';
import { compileConfig } from '../engine/config.js';
import { createEngine, type Engine } from '../engine/mutate.js';
import { watchFiles } from '../util/watch-files.js';

export interface ConfigReloaderOptions {
  file?: string;
  intervalMs?: number;
  logger?: Logger;
  onReload?: (result: 'ok' | 'failed', error?: Error) => void;
}

export class ConfigReloader {
  private engine: Engine;
  private lastText: string | undefined;
  private stopWatching: (() => void) | undefined;
  private lastReadError: string | undefined;

  /** Loads the file now; a bad file at start is an error for the caller (ConfigError). */
  constructor(private readonly options: ConfigReloaderOptions) {
    try {
      this.lastText = options.file ? readFileSync(options.file, 'utf8') : undefined;
    } catch {
      // Left to loadConfigFile below, which reports an unreadable file as a ConfigError
      // naming it (a raw ENOENT here reached `pullfix serve` users as a stack trace).
    }
    this.engine = createEngine(compileConfig(loadConfigFile(options.file)));
  }

  current(): Engine {
    return this.engine;
  }

  start(): void {
    const { file } = this.options;
    if (!file || this.stopWatching) return;
    const { intervalMs = 2000, logger } = this.options;
    this.stopWatching = watchFiles([file], { intervalMs, ...(logger ? { logger } : {}), what: 'config' }, () => this.reload());
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  /** Re-reads the file; returns whether a new config is in force. */
  reload(): boolean {
    const { file, logger, onReload } = this.options;
    if (!file) return false;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      // The file is polled: a file that stays missing is one failure, not one per poll.
      const message = (err as Error).message;
      if (message === this.lastReadError) return false;
      this.lastReadError = message;
      this.lastText = undefined;
      logger?.error({ file, error: message }, 'config reload failed; keeping the last good config');
      onReload?.('failed', err as Error);
      return false;
    }
    this.lastReadError = undefined;
    if (text === this.lastText) return false;
    try {
      this.engine = createEngine(compileConfig(loadConfigFile(file)));
      this.lastText = text;
      logger?.info({ file }, 'config reloaded');
      onReload?.('ok');
      return true;
    } catch (err) {
      this.lastText = text; // do not log the same bad file on every poll
      logger?.error({ file, error: (err as Error).message }, 'config reload failed; keeping the last good config');
      onReload?.('failed', err as Error);
      return false;
    }
  }
}
