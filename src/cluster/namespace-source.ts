// Where the admission path learns a namespace's labels and annotations. Lookups are
// synchronous and served from memory: no request ever waits on the API server.
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

export interface NamespaceSource {
  /** Synchronous; never calls the API server. The result is frozen plain data. */
  get(name: string): NamespaceInfo | undefined;
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

/**
 * Copies what the engine needs out of a Namespace object into frozen plain data, so callers
 * can neither mutate the cache nor hold on to the client's objects.
 */
export function namespaceInfoFrom(metadata: NamespaceMetadata & { name: string }): NamespaceInfo {
  return Object.freeze({
    name: metadata.name,
    labels: Object.freeze({ ...(metadata.labels ?? {}) }),
    annotations: Object.freeze({ ...(metadata.annotations ?? {}) }),
  });
}
