// A local stand-in for the Kubernetes API server, Namespaces only, speaking the real list and
// watch protocol: GET /api/v1/namespaces answers a NamespaceList with
// metadata.resourceVersion; GET /api/v1/namespaces?watch=true&resourceVersion=N streams the
// events after N as newline-delimited JSON over a chunked response, then live ones. Tests
// drive it: change namespaces, drop or end watch streams, fail requests with a Status, expire
// old resourceVersions (410 Gone, as HTTP status or as an ERROR event).
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeEndpoint } from '../../src/cluster/kube-endpoint.js';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeNamespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { finalizers: string[] };
  status: { phase: 'Active' | 'Terminating' };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

interface HistoryEvent {
  rv: number;
  type: WatchEventType;
  object: FakeNamespace;
}

export interface RequestRecord {
  kind: 'list' | 'watch' | 'get';
  resourceVersion?: string;
  /** The Accept header, to check that a client asks for metadata only. */
  accept?: string;
  /** list: the `limit` asked for; get: the name. */
  limit?: number;
  name?: string;
}

export interface Failure {
  /** Which requests fail. */
  on: 'list' | 'watch' | 'get' | 'any';
  /** HTTP status answered, with a Status object. */
  status: number;
  /** How many requests fail; default 1. Infinity for an outage (end it with `recover()`). */
  times?: number;
}

const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  410: 'Expired',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** A metav1.Status as the API server sends it with an error. */
export function statusObject(code: number, message: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'Unknown',
    code,
  };
}

export class FakeKubeApi {
  readonly requests: RequestRecord[] = [];
  private readonly server: http.Server;
  private readonly namespaces = new Map<string, FakeNamespace>();
  private history: HistoryEvent[] = [];
  private rv = 100;
  /** Watches from a resourceVersion older than this get 410 Gone (the watch cache's window). */
  private oldestRv = 100;
  private goneAs: 'status' | 'event' = 'event';
  private readonly watches = new Set<{ res: http.ServerResponse; from: number; metadataOnly: boolean }>();
  private failures: Array<Required<Failure>> = [];
  /** Continue tokens handed out: token → the names still to come. */
  private readonly pages = new Map<string, string[]>();
  /** The next list page asked for with a continue token gets 410, as after etcd compaction. */
  expireNextContinue = false;
  /** GET of one namespace waits this long before answering (a slow API server). */
  getDelayMs = 0;

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  /** Starts on 127.0.0.1 on a free port, with the given namespaces (name → labels). */
  static async start(initial: Record<string, Record<string, string>> = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi();
    for (const [name, labels] of Object.entries(initial)) api.apply(name, labels);
    api.history = []; // the initial state comes from the list, not from watch replay
    api.oldestRv = api.rv;
    api.server.listen(0, '127.0.0.1');
    await once(api.server, 'listening');
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig pointing at this server, built in code as a test would. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
    return kc;
  }

  /** The same server as a KubeEndpoint for pullfix's own client. */
  endpoint(): KubeEndpoint {
    return { server: new URL(this.url), origin: 'fake API server', requestOptions: () => ({ headers: {} }) };
  }

  /**
   * Creates a namespace without telling open watches: one the API server has but whose
   * ADDED event has not reached the watch yet (created a moment ago).
   */
  applySilently(name: string, labels: Record<string, string>, annotations?: Record<string, string>): void {
    const watches = [...this.watches];
    this.watches.clear();
    try {
      this.apply(name, labels, annotations);
    } finally {
      for (const w of watches) this.watches.add(w);
    }
  }

  /** Creates or updates a namespace (ADDED or MODIFIED to open watches). */
  apply(name: string, labels: Record<string, string>, annotations?: Record<string, string>): FakeNamespace {
    const existing = this.namespaces.get(name);
    const rv = ++this.rv;
    const ns: FakeNamespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        uid: existing?.metadata.uid ?? randomUUID(),
        resourceVersion: String(rv),
        creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        // The API server sets this label on every namespace (since 1.21).
        labels: { ...labels, 'kubernetes.io/metadata.name': name },
        ...(annotations && { annotations }),
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    this.namespaces.set(name, ns);
    this.publish({ rv, type: existing ? 'MODIFIED' : 'ADDED', object: ns });
    return ns;
  }

  /** Deletes a namespace (DELETED to open watches). */
  delete(name: string): void {
    const existing = this.namespaces.get(name);
    if (!existing) throw new Error(`fake API: no namespace ${name}`);
    this.namespaces.delete(name);
    const rv = ++this.rv;
    const object = structuredClone(existing);
    object.metadata.resourceVersion = String(rv);
    object.status.phase = 'Terminating';
    this.publish({ rv, type: 'DELETED', object });
  }

  /** A BOOKMARK event carrying only the current resourceVersion. */
  bookmark(): void {
    const object = { kind: 'Namespace', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } };
    for (const w of this.watches) w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }

  /** Fails the next matching requests with `status` and a Status body. */
  fail(failure: Failure): void {
    this.failures.push({ times: 1, ...failure });
  }

  /** Ends every failure set with `fail()`. */
  recover(): void {
    this.failures = [];
  }

  /**
   * Forgets the watch history (as etcd compaction does): watches from an older
   * resourceVersion get 410 Gone, either as an HTTP 410 with a Status or, as the real API
   * server does, as a 200 stream with one ERROR event carrying the 410 Status.
   */
  compact(as: 'status' | 'event' = 'event'): void {
    this.history = [];
    this.oldestRv = this.rv;
    this.goneAs = as;
  }

  /** Sends an ERROR event with a 410 Status to every open watch and ends them, as the server does. */
  expireWatches(): void {
    const event = { type: 'ERROR', object: statusObject(410, 'too old resource version: 1 (2)') };
    for (const w of this.watches) w.res.end(`${JSON.stringify(event)}\n`);
    this.watches.clear();
  }

  /** Ends open watch streams cleanly, as the server does when a watch times out. */
  endWatches(): void {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  /** Cuts open watch connections abruptly (a network failure or a killed API server). */
  dropWatches(): void {
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  count(kind: RequestRecord['kind']): number {
    return this.requests.filter((r) => r.kind === kind).length;
  }

  /** Stops the server (new connections are refused); safe to call twice. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.dropWatches();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private publish(event: HistoryEvent): void {
    this.history.push(event);
    for (const w of this.watches) w.res.write(this.eventLine(event.type, event.object, w.metadataOnly));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const accept = req.headers.accept;
    const metadataOnly = (accept ?? '').startsWith('application/json;as=PartialObjectMetadata');
    const one = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && one) return this.getOne(decodeURIComponent(one[1]!), res, accept, metadataOnly);
    if (req.method !== 'GET' || url.pathname !== '/api/v1/namespaces') {
      return this.send(res, 404, statusObject(404, `the server could not find the requested resource`));
    }
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const resourceVersion = url.searchParams.get('resourceVersion') ?? undefined;
    const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : undefined;
    this.requests.push({
      kind: watch ? 'watch' : 'list',
      ...(resourceVersion !== undefined && { resourceVersion }),
      ...(accept !== undefined && { accept }),
      ...(limit !== undefined && { limit }),
    });

    const failure = this.takeFailure(watch ? 'watch' : 'list');
    if (failure) return this.send(res, failure.status, statusObject(failure.status, `fake API server: injected ${failure.status}`));
    if (!watch) return this.list(res, metadataOnly, limit, url.searchParams.get('continue') ?? undefined);

    const from = Number(resourceVersion ?? 0);
    if (from !== 0 && from < this.oldestRv) {
      const message = `too old resource version: ${from} (${this.oldestRv})`;
      if (this.goneAs === 'status') return this.send(res, 410, statusObject(410, message));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: statusObject(410, message) })}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const entry = { res, from, metadataOnly };
    for (const e of this.history) {
      if (e.rv > from) res.write(this.eventLine(e.type, e.object, metadataOnly));
    }
    this.watches.add(entry);
    res.on('close', () => this.watches.delete(entry));
  }

  private takeFailure(on: 'list' | 'watch' | 'get'): Required<Failure> | undefined {
    const failure = this.failures.find((f) => f.on === 'any' || f.on === on);
    if (failure && --failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
    return failure;
  }

  private getOne(name: string, res: http.ServerResponse, accept: string | undefined, metadataOnly: boolean): void {
    this.requests.push({ kind: 'get', name, ...(accept !== undefined && { accept }) });
    const answer = (): void => {
      if (res.destroyed) return;
      const failure = this.takeFailure('get');
      if (failure) return this.send(res, failure.status, statusObject(failure.status, `fake API server: injected ${failure.status}`));
      const ns = this.namespaces.get(name);
      if (!ns) return this.send(res, 404, statusObject(404, `namespaces "${name}" not found`));
      this.send(res, 200, metadataOnly ? partial(ns) : ns);
    };
    if (this.getDelayMs > 0) setTimeout(answer, this.getDelayMs);
    else answer();
  }

  private eventLine(type: string, object: FakeNamespace, metadataOnly: boolean): string {
    return `${JSON.stringify({ type, object: metadataOnly ? partial(object) : object })}\n`;
  }

  private list(res: http.ServerResponse, metadataOnly: boolean, limit: number | undefined, token: string | undefined): void {
    let names: string[];
    if (token !== undefined) {
      const rest = this.expireNextContinue ? undefined : this.pages.get(token);
      this.expireNextContinue = false;
      if (!rest) return this.send(res, 410, statusObject(410, 'The provided continue parameter is too old to display a consistent list result.'));
      this.pages.delete(token);
      names = rest;
    } else {
      names = [...this.namespaces.keys()].sort((a, b) => a.localeCompare(b));
    }
    const now = limit && limit > 0 ? names.slice(0, limit) : names;
    const rest = limit && limit > 0 ? names.slice(limit) : [];
    const metadata: Record<string, unknown> = { resourceVersion: String(this.rv) };
    if (rest.length > 0) {
      const next = randomUUID();
      this.pages.set(next, rest);
      metadata.continue = next;
      metadata.remainingItemCount = rest.length;
    }
    // List items carry no kind/apiVersion; the list does. Metadata-only items keep theirs.
    const items = now
      .map((name) => this.namespaces.get(name))
      .filter((ns): ns is FakeNamespace => ns !== undefined)
      .map((ns) => (metadataOnly ? partial(ns) : (({ apiVersion: _a, kind: _k, ...others }) => others)(ns)));
    this.send(res, 200, {
      kind: metadataOnly ? 'PartialObjectMetadataList' : 'NamespaceList',
      apiVersion: metadataOnly ? 'meta.k8s.io/v1' : 'v1',
      metadata,
      items,
    });
  }

  /** Expires every continue token handed out (as etcd compaction does). */
  expireContinueTokens(): void {
    this.pages.clear();
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/** A Namespace as PartialObjectMetadata: what the API server sends for `as=PartialObjectMetadata`. */
export function partial(ns: FakeNamespace): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: ns.metadata };
}

/** Polls `cond` every 10 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A kubeconfig whose one context points at `url` (a FakeKubeApi) with a dummy token, as `serve` reads it. */
export function fakeKubeconfigText(url: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'current-context: fake',
    'contexts: [{name: fake, context: {cluster: fake, user: fake}}]',
    `clusters: [{name: fake, cluster: {server: "${url}"}}]`,
    'users: [{name: fake, user: {token: not-a-secret}}]',
    '',
  ].join('\n');
}
