// Namespaces from the API server as controller-runtime's metadata-only informers read them:
// a paginated list, then a watch from the list's resourceVersion, both asking for
// PartialObjectMetadata (the API server sends metadata alone, no spec or status), each object
// parsed once and reduced at once to the few keys decisions need (SPEC §6). No typed models,
// no client-node informer: with 50,000 namespaces both cost more than the webhook itself.
//
// The loop: list (pages of `pageSize`) → watch from its resourceVersion → on a clean end,
// watch again from the last resourceVersion seen (bookmarks keep it fresh) → on 410 Gone,
// list again → on any other failure, back off (exponential, with jitter) and retry, keeping
// the last known namespaces meanwhile.
import type { Logger } from 'pino';
import { isObject } from '../engine/explicit.js';
import type { NamespaceInfo } from '../engine/types.js';
import { KubeStatusError, type KubeClient } from './kube-client.js';
import { type NamespaceRead, type NamespaceSource, type NamespaceSourceStatus, namespaceInfoFrom, sameNamespaceInfo } from './namespace-source.js';

export const LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const OBJECT_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** A DNS label (RFC 1123), what the API server accepts as a namespace name. */
const NAMESPACE_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export interface WatchNamespaceSourceOptions {
  logger?: Logger;
  backoff?: { initialMs: number; maxMs: number };
  /** Namespaces per list page (the `limit` parameter). */
  pageSize?: number;
  /** The budget for reading one namespace the cache does not know. */
  lookupTimeoutMs?: number;
  /** How long a failed or empty lookup is remembered, so a burst costs one call. */
  lookupMemoMs?: number;
  /** Lookups in flight at once; more fail at once (a caller posting made-up namespaces). */
  maxLookups?: number;
  /** The server ends each watch after about this long (randomised up to twice that). */
  watchTimeoutS?: number;
}

class Gone extends Error {}
class Stopped extends Error {}


interface Metadata {
  name?: unknown;
  resourceVersion?: unknown;
  labels?: unknown;
  annotations?: unknown;
}

function metadataOf(object: unknown): Metadata | undefined {
  return isObject(object) && isObject(object.metadata) ? (object.metadata as Metadata) : undefined;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  return isObject(value) ? (value as Record<string, string>) : undefined;
}

export class WatchNamespaceSource implements NamespaceSource {
  private namespaces = new Map<string, NamespaceInfo>();
  private readonly logger: Logger | undefined;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly pageSize: number;
  private readonly lookupTimeoutMs: number;
  private readonly lookupMemoMs: number;
  private readonly maxLookups: number;
  private readonly watchTimeoutS: number;
  private hasSynced = false;
  private connected = false;
  private errors = 0;
  private lastError: string | undefined;
  private lastEventAt: Date | undefined;
  private stopped = true;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private firstSync: Promise<void> | undefined;
  private resolveFirstSync: (() => void) | undefined;
  private readonly lookups = new Map<string, Promise<NamespaceRead>>();

  constructor(
    private readonly client: KubeClient,
    opts: WatchNamespaceSourceOptions = {},
  ) {
    this.logger = opts.logger;
    this.initialMs = opts.backoff?.initialMs ?? 1000;
    this.maxMs = opts.backoff?.maxMs ?? 30_000;
    this.pageSize = opts.pageSize ?? 500;
    this.lookupTimeoutMs = opts.lookupTimeoutMs ?? 1000;
    this.lookupMemoMs = opts.lookupMemoMs ?? 5000;
    this.maxLookups = opts.maxLookups ?? 32;
    this.watchTimeoutS = opts.watchTimeoutS ?? 300;
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
    this.running = this.loop();
    return this.firstSync;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connected = false;
    this.abort?.abort();
    this.wake?.();
    this.resolveFirstSync?.();
    await this.running;
    this.client.close();
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

  /** One GET of a namespace the cache does not know, shared by concurrent callers, within the budget. */
  lookup(name: string): Promise<NamespaceRead> {
    const known = this.namespaces.get(name);
    if (known) return Promise.resolve({ found: known });
    const pending = this.lookups.get(name);
    if (pending) return pending;
    if (!NAMESPACE_NAME.test(name)) return Promise.resolve({});
    if (this.lookups.size >= this.maxLookups) return Promise.resolve({ failed: `more than ${this.maxLookups} namespace lookups at once` });
    const read = this.read(name);
    this.lookups.set(name, read);
    void read.then((result) => {
      // Found: it is in the cache now. Not found or failed: remembered a moment, so a burst of
      // requests in that namespace costs one call, then asked again.
      if (result.found) this.lookups.delete(name);
      else setTimeout(() => this.lookups.delete(name), this.lookupMemoMs).unref();
    });
    return read;
  }

  private async read(name: string): Promise<NamespaceRead> {
    try {
      const object = await this.client.getJson(`/api/v1/namespaces/${name}`, OBJECT_ACCEPT, {
        timeoutMs: this.lookupTimeoutMs,
        what: `get namespace ${name}`,
      });
      const info = this.infoFrom(metadataOf(object));
      if (!info) return { failed: `get namespace ${name}: the answer has no metadata.name` };
      // The watch may have delivered it meanwhile, and is newer: it wins.
      const current = this.namespaces.get(name);
      if (current) return { found: current };
      this.namespaces.set(name, info);
      this.logger?.info({ namespace: name }, 'namespace not yet in the cache; read from the API server');
      return { found: info };
    } catch (err) {
      if (err instanceof KubeStatusError && err.status === 404) return {};
      return { failed: (err as Error).message };
    }
  }

  /** Reduces an object's metadata to a NamespaceInfo, keeping the one already held when equal. */
  private infoFrom(metadata: Metadata | undefined): NamespaceInfo | undefined {
    const name = metadata?.name;
    if (typeof name !== 'string' || name === '') return undefined;
    const labels = stringMap(metadata?.labels);
    const annotations = stringMap(metadata?.annotations);
    const info = namespaceInfoFrom({ name, ...(labels && { labels }), ...(annotations && { annotations }) });
    const held = this.namespaces.get(name);
    return held && sameNamespaceInfo(held, info) ? held : info;
  }

  private async loop(): Promise<void> {
    let resourceVersion: string | undefined;
    let attempt = 0;
    while (!this.stopped) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.list();
          attempt = 0;
        }
        resourceVersion = await this.watch(resourceVersion);
        attempt = 0;
      } catch (err) {
        if (this.stopped || err instanceof Stopped) break;
        if (err instanceof Gone) {
          // The watch cache no longer holds our resourceVersion: a fresh list, at once.
          this.logger?.info({ resourceVersion }, 'namespace watch expired (410 Gone); listing again');
          resourceVersion = undefined;
          continue;
        }
        this.errors++;
        this.connected = false;
        this.lastError = (err as Error).message.split('\n')[0];
        const base = Math.min(this.maxMs, this.initialMs * 2 ** attempt);
        const delay = Math.round(base / 2 + (Math.random() * base) / 2);
        attempt++;
        this.logger?.warn(
          { err: this.lastError, retryInMs: delay, synced: this.hasSynced, namespaces: this.namespaces.size },
          'namespace watch failed; keeping the last known namespaces and retrying',
        );
        // Not unref()ed: until the first sync, this retry is the only thing the process waits on.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** A complete, paginated list; replaces the cache at the end. Returns its resourceVersion. */
  private async list(): Promise<string> {
    const next = new Map<string, NamespaceInfo>();
    let token: string | undefined;
    let resourceVersion = '';
    let pages = 0;
    do {
      const query = `limit=${this.pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
      let page: unknown;
      try {
        page = await this.client.getJson(`/api/v1/namespaces?${query}`, LIST_ACCEPT, { what: 'list namespaces' });
      } catch (err) {
        // A continue token outlived the etcd compaction window: start the list again.
        if (err instanceof KubeStatusError && err.status === 410) throw new Gone(err.message);
        throw err;
      }
      if (this.stopped) throw new Stopped();
      if (!isObject(page) || !Array.isArray(page.items)) throw new Error('list namespaces: the answer is not a list');
      for (const item of page.items) {
        const info = this.infoFrom(metadataOf(item));
        if (info) next.set(info.name, info);
      }
      const meta = isObject(page.metadata) ? page.metadata : {};
      token = typeof meta.continue === 'string' && meta.continue !== '' ? meta.continue : undefined;
      resourceVersion = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : resourceVersion;
      pages++;
    } while (token);
    const first = !this.hasSynced;
    this.namespaces = next;
    this.hasSynced = true;
    this.healthy();
    this.logger?.info({ namespaces: next.size, pages }, first ? 'namespace cache synced' : 'namespaces listed again');
    if (first) this.resolveFirstSync?.();
    return resourceVersion;
  }

  /** Follows a watch until the server ends it; returns the last resourceVersion seen. */
  private async watch(from: string): Promise<string> {
    const abort = new AbortController();
    this.abort = abort;
    const timeout = Math.round(this.watchTimeoutS * (1 + Math.random()));
    const path = `/api/v1/namespaces?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(from)}&timeoutSeconds=${timeout}`;
    let resourceVersion = from;
    try {
      const res = await this.client.stream(path, OBJECT_ACCEPT, abort.signal, 'watch namespaces').catch((err: unknown) => {
        if (err instanceof KubeStatusError && err.status === 410) throw new Gone(err.message);
        throw err;
      });
      if (this.stopped) throw new Stopped();
      this.connected = true;
      let partial = '';
      res.setEncoding('utf8');
      for await (const chunk of res) {
        const lines = (partial + (chunk as string)).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() !== '') resourceVersion = this.event(line, resourceVersion);
        }
      }
      if (partial.trim() !== '') resourceVersion = this.event(partial, resourceVersion);
      return resourceVersion;
    } catch (err) {
      if (this.stopped) throw new Stopped();
      throw err;
    } finally {
      abort.abort();
      if (this.abort === abort) this.abort = undefined;
    }
  }

  /** Applies one watch event; returns the resourceVersion after it. */
  private event(line: string, resourceVersion: string): string {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      throw new Error('watch namespaces: an event is not JSON');
    }
    if (!isObject(event)) throw new Error('watch namespaces: an event is not an object');
    const { type, object } = event;
    if (type === 'ERROR') {
      const status = isObject(object) ? object : {};
      if (status.code === 410) throw new Gone(String(status.message ?? 'Gone'));
      throw new Error(`watch namespaces: ERROR event ${String(status.code ?? '')} ${String(status.message ?? '')}`.trim());
    }
    const metadata = metadataOf(object);
    const rv = typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED') {
      const info = this.infoFrom(metadata);
      if (info) this.namespaces.set(info.name, info);
    } else if (type === 'DELETED') {
      if (typeof metadata?.name === 'string') this.namespaces.delete(metadata.name);
    }
    // BOOKMARK: only the resourceVersion moves.
    this.healthy();
    return rv;
  }

  private healthy(): void {
    this.connected = true;
    this.lastEventAt = new Date();
  }
}
