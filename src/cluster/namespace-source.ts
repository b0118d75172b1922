// Where the admission path learns a namespace's labels and annotations. Lookups are
// synchronous and served from memory: no request ever waits on the API server.
import { LABEL_PREFIX, MUTABLE_TAGS_ANNOTATION, compileNamespacePattern } from '../engine/namespace-policy.js';
import type { NamespaceInfo } from '../engine/types.js';

export interface NamespaceSourceStatus {
  /** A complete view was loaded at least once (stays true while disconnected). */
  synced: boolean;
  /** The last list/watch (or file read) succeeded. */
  connected: boolean;
  /** Namespaces known now. */
  size: number;
  /** When the view last changed or was confirmed (a list, a watch event, a file read). */
  lastEventAt?: Date;
  errors: number;
  lastError?: string;
}

/** What reading one namespace from the API server gave. */
export interface NamespaceRead {
  found?: NamespaceInfo;
  /** Why it could not be read; unset when the API server says there is no such namespace. */
  failed?: string;
}

export interface NamespaceSource {
  /** Synchronous; never calls the API server. The result is frozen plain data. */
  get(name: string): NamespaceInfo | undefined;
  /**
   * For a namespace get() does not know: one read from the API server within a time budget,
   * shared by concurrent callers; never rejects. Only sources backed by an API server have it.
   */
  lookup?(name: string): Promise<NamespaceRead>;
  synced(): boolean;
  /** Resolves once a complete view is loaded. */
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): NamespaceSourceStatus;
}

/** No namespace source configured: every namespace is unknown, so config defaults apply. */
export class StaticNamespaceSource implements NamespaceSource {
  get(_name: string): NamespaceInfo | undefined {
    return undefined;
  }

  synced(): boolean {
    return true;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  status(): NamespaceSourceStatus {
    // Nothing to connect to, hence nothing to be disconnected from.
    return { synced: true, connected: true, size: 0, errors: 0 };
  }
}

/** The metadata of a Namespace object, as the API server or `kubectl get ns -o yaml` gives it. */
export interface NamespaceMetadata {
  name?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** The `pullfix.dev/` labels of a map, frozen; the one shared empty map when there are none. */
function pullfixLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  if (!labels) return EMPTY;
  let kept: Record<string, string> | undefined;
  for (const key in labels) {
    if (key.startsWith(LABEL_PREFIX)) (kept ??= {})[key] = String(labels[key]);
  }
  return kept ? Object.freeze(kept) : EMPTY;
}

function pullfixAnnotations(annotations: Record<string, string> | null | undefined): Record<string, string> {
  const pattern = annotations?.[MUTABLE_TAGS_ANNOTATION];
  return pattern === undefined ? EMPTY : Object.freeze({ [MUTABLE_TAGS_ANNOTATION]: String(pattern) });
}

/**
 * Copies what decisions need out of a Namespace object into frozen plain data: the
 * `pullfix.dev/` labels and the `pullfix.dev/mutable-tags` annotation, nothing else (SPEC §6),
 * so 50,000 namespaces cost little memory and callers can neither mutate the cache nor hold
 * on to a client's objects.
 */
export function namespaceInfoFrom(metadata: NamespaceMetadata & { name: string }): NamespaceInfo {
  const info: NamespaceInfo = Object.freeze({
    name: metadata.name,
    labels: pullfixLabels(metadata.labels),
    annotations: pullfixAnnotations(metadata.annotations),
  });
  // The namespace's mutable-tag pattern is compiled here, as the Namespace is read, so that a
  // review in it finds the pattern in the cache instead of compiling it on the request path.
  compileNamespacePattern(info);
  return info;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k] === b[k]);
}

/** Whether two infos hold the same decisions (a source keeps the old one, and its cached policy). */
export function sameNamespaceInfo(a: NamespaceInfo, b: NamespaceInfo): boolean {
  return a.name === b.name && sameMap(a.labels, b.labels) && sameMap(a.annotations, b.annotations);
}
