// Namespaces from the API server through a client-node informer (list, then watch from the
// list's resourceVersion). The informer is kept private: lookups are served from our own
// map of frozen plain data. Two client-node behaviours shape this file:
// - after an `error` event the informer stays stopped until start() is called again, so we
//   restart it ourselves, with exponential backoff and jitter;
// - informer.start() resolves even when the list failed (the failure goes to `error`), so
//   readiness is taken from our wrapper around the list call, not from start().
import { CoreV1Api, type KubeConfig, type V1Namespace, type V1NamespaceList, makeInformer } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { NamespaceInfo } from '../engine/types.js';
import { type NamespaceSource, type NamespaceSourceStatus, namespaceInfoFrom } from './namespace-source.js';

export interface InformerNamespaceSourceOptions {
  logger?: Logger;
  backoff?: { initialMs: number; maxMs: number };
}

type Informer = ReturnType<typeof makeInformer<V1Namespace>>;

export class InformerNamespaceSource implements NamespaceSource {
  private namespaces = new Map<string, NamespaceInfo>();
  private readonly informer: Informer;
  private readonly logger: Logger | undefined;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private hasSynced = false;
  private connected = false;
  private errors = 0;
  private lastError: string | undefined;
  private lastEventAt: Date | undefined;
  private attempt = 0;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private firstSync: Promise<void> | undefined;
  private resolveFirstSync: (() => void) | undefined;

  constructor(kubeConfig: KubeConfig, opts: InformerNamespaceSourceOptions = {}) {
    this.logger = opts.logger;
    this.initialMs = opts.backoff?.initialMs ?? 1000;
    this.maxMs = opts.backoff?.maxMs ?? 30_000;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    this.informer = makeInformer<V1Namespace>(kubeConfig, '/api/v1/namespaces', () => this.list(core));
    this.informer.on('add', (ns) => this.apply(ns));
    this.informer.on('update', (ns) => this.apply(ns));
    this.informer.on('delete', (ns) => this.remove(ns));
    this.informer.on('error', (err) => this.failed(err));
  }

  get(name: string): NamespaceInfo | undefined {
    return this.namespaces.get(name);
  }

  synced(): boolean {
    return this.hasSynced;
  }

  /**
   * Resolves after the first complete list. Until then failures are retried with backoff
   * (see status()); if stop() comes first, resolves with synced() still false.
   */
  start(): Promise<void> {
    if (!this.stopped) return this.firstSync ?? Promise.resolve();
    this.stopped = false;
    this.firstSync ??= new Promise<void>((resolve) => (this.resolveFirstSync = resolve));
    if (this.hasSynced) this.resolveFirstSync?.();
    this.run();
    return this.firstSync;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connected = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.resolveFirstSync?.();
    await this.informer.stop();
    // informer.start() only records its watch request once the response headers arrived, so a
    // stop() during that wait aborts nothing: stop again once the attempt has settled.
    await this.running;
    await this.informer.stop();
  }

  status(): NamespaceSourceStatus {
    return {
      synced: this.hasSynced,
      connected: this.connected,
      size: this.namespaces.size,
      ...(this.lastEventAt && { lastEventAt: this.lastEventAt }),
      errors: this.errors,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  /** The informer's list function: a complete view replaces ours. */
  private async list(core: CoreV1Api): Promise<V1NamespaceList> {
    const list = await core.listNamespace();
    // Throwing keeps the informer from opening a watch nobody will close (it does not check
    // for stop() between its list and its watch); the `error` it raises is ignored below.
    if (this.stopped) throw new Error('namespace source stopped');
    const next = new Map<string, NamespaceInfo>();
    for (const ns of list.items) {
      const name = ns.metadata?.name;
      if (name) next.set(name, namespaceInfoFrom({ ...ns.metadata, name }));
    }
    const first = !this.hasSynced;
    this.namespaces = next;
    this.hasSynced = true;
    this.healthy();
    if (first) {
      this.logger?.info({ namespaces: next.size }, 'namespace cache synced');
      this.resolveFirstSync?.();
    } else {
      this.logger?.info({ namespaces: next.size }, 'namespaces relisted');
    }
    return list;
  }

  private apply(ns: V1Namespace): void {
    if (this.stopped) return void this.informer.stop();
    const name = ns.metadata?.name;
    if (!name) return;
    this.namespaces.set(name, namespaceInfoFrom({ ...ns.metadata, name }));
    this.healthy();
  }

  private remove(ns: V1Namespace): void {
    if (this.stopped) return void this.informer.stop();
    const name = ns.metadata?.name;
    if (name) this.namespaces.delete(name);
    this.healthy();
  }

  private healthy(): void {
    this.connected = true;
    this.attempt = 0;
    this.lastEventAt = new Date();
  }

  private run(): void {
    const errorsBefore = this.errors;
    this.running = this.informer.start().then(
      () => {
        // No error during this attempt: the list (if any) succeeded and the watch is open.
        if (!this.stopped && this.errors === errorsBefore && this.hasSynced) {
          this.connected = true;
          this.attempt = 0;
        }
      },
      // start() itself rejects when the request cannot even be built (no cluster, auth plugin failure).
      (err: unknown) => this.failed(err),
    );
  }

  private failed(err: unknown): void {
    // Aborting our own watch on stop() is reported as an error too.
    if (this.stopped) return;
    this.errors++;
    this.connected = false;
    this.lastError = describe(err);
    if (this.restartTimer) return;
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.attempt++;
    this.logger?.warn(
      { err: this.lastError, retryInMs: delay, synced: this.hasSynced, namespaces: this.namespaces.size },
      'namespace watch failed; keeping the last known namespaces and retrying',
    );
    // Not unref()ed: until the first sync, this retry is the only thing the process waits on.
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) this.run();
    }, delay);
  }
}

/** One line, no headers or bodies: client-node's ApiException message embeds both. */
function describe(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; body?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof e.code === 'number') {
    let reason = '';
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      if (typeof body?.message === 'string') reason = `: ${body.message}`;
    } catch {
      // not a Status object
    }
    return `list namespaces: HTTP ${e.code}${reason}`;
  }
  if (typeof e.statusCode === 'number') return `watch namespaces: HTTP ${e.statusCode} ${String(e.message ?? '')}`.trim();
  return String(e.message ?? err).split('\n')[0] ?? 'unknown error';
}
