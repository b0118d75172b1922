// Prometheus metrics. Gauges that mirror another component's state are read at scrape time
// (collect), so the request path only increments counters and observes one histogram.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LabelValues } from 'prom-client';
import type { NamespaceSource } from '../cluster/namespace-source.js';
import { kindTable } from '../engine/kinds.js';
import type { FileCertificateSource } from './certificate-source.js';

/**
 * Every label value pullfix can record, so that each series exists at 0 from the start: an alert
 * on `rate()` or `increase()` sees the first failure only when the series had a sample before it.
 */
export const LABEL_VALUES = {
  /** The operations the webhook configurations send (a DELETE or CONNECT review is counted too, from its first). */
  operations: ['CREATE', 'UPDATE'],
  /** Results of a decoded review. */
  reviewResults: ['patched', 'allowed', 'error'],
  /** Results of a review refused before it was decoded (counted with kind and operation ""). */
  refusedResults: ['bad_request', 'too_large', 'refused', 'error'],
  patchReasons: ['stray', 'policy', 'default', 'stray_removed'],
  reloadResults: ['ok', 'failed'],
  lookupResults: ['found', 'not_found', 'failed'],
  refusedReasons: ['body_budget', 'connections'],
} as const;

/** The built-in kinds of SPEC §5 and `other`, the kind label of a review of any other kind. */
export function builtInKinds(): string[] {
  return [...new Set([...kindTable([]).keys()].map((key) => key.slice(key.indexOf('/') + 1))), 'other'];
}

/**
 * Upper bounds of the latency histogram, in seconds: fine below a millisecond (a review takes
 * about 0.2 ms), and up to 30 s, the longest timeoutSeconds the API server allows a webhook
 * (pullfix's configurations set 5 s), so a review near its timeout falls in a finite bucket.
 */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface Metrics {
  registry: Registry;
  requests: Counter<'kind' | 'operation' | 'result'>;
  patches: Counter<'reason'>;
  latency: Histogram<'result'>;
  configReloads: Counter<'result'>;
  namespaceProblems: Counter;
  namespaceLookups: Counter<'result'>;
  /** Work refused to stay within the memory limit (server/limits.ts), by reason. */
  refused: Counter<'reason'>;
  /** The request path's counters, bound to their label values once. */
  record: RequestRecorder;
}

/**
 * Label children bound once per label values, so a request costs a Map lookup and an add
 * rather than prom-client hashing a label object. Every label value comes from a bounded set
 * (the kinds of SPEC §5 and `other`, four operations, a few results and reasons).
 */
export interface RequestRecorder {
  request(kind: string, operation: string, result: string): void;
  patch(reason: string): void;
  latency(result: string, seconds: number): void;
  /** Puts every series of `kind` at 0 (once): a configured podTemplates kind, say. */
  knownKind(kind: string): void;
}

function recorder(requests: Metrics['requests'], patches: Metrics['patches'], latency: Metrics['latency']): RequestRecorder {
  const requestChildren = new Map<string, { inc(): void }>();
  const patchChildren = new Map<string, { inc(): void }>();
  const latencyChildren = new Map<string, { observe(value: number): void }>();
  function bound<C>(cache: Map<string, C>, key: string, make: () => C): C {
    let child = cache.get(key);
    if (child === undefined) {
      child = make();
      cache.set(key, child);
    }
    return child;
  }
  // prom-client makes a series on its first inc or observation, not on labels(): each is
  // created at 0 here, when bound.
  const request = (kind: string, operation: string, result: string) => {
    const labels: LabelValues<'kind' | 'operation' | 'result'> = { kind, operation, result };
    return bound(requestChildren, `${kind}|${operation}|${result}`, () => {
      requests.inc(labels, 0);
      return requests.labels(labels);
    });
  };
  const known = new Set<string>();
  const self: RequestRecorder = {
    request(kind, operation, result) {
      request(kind, operation, result).inc();
    },
    patch(reason) {
      bound(patchChildren, reason, () => patches.labels({ reason })).inc();
    },
    latency(result, seconds) {
      bound(latencyChildren, result, () => latency.labels({ result })).observe(seconds);
    },
    knownKind(kind) {
      if (known.has(kind)) return;
      known.add(kind);
      for (const operation of LABEL_VALUES.operations) for (const result of LABEL_VALUES.reviewResults) request(kind, operation, result);
    },
  };
  for (const kind of builtInKinds()) self.knownKind(kind);
  for (const result of LABEL_VALUES.refusedResults) request('', '', result);
  for (const reason of LABEL_VALUES.patchReasons) patches.inc({ reason }, 0);
  for (const result of LABEL_VALUES.reviewResults) latency.zero({ result });
  return self;
}

export interface ObservedParts {
  namespaces: () => NamespaceSource;
  certificates?: () => FileCertificateSource | undefined;
  /** The kinds the config adds (podTemplates), whose series are put at 0 as they appear. */
  configuredKinds?: () => Iterable<string>;
}

export function createMetrics(parts: ObservedParts): Metrics {
  const registry = new Registry();
  // Node's process_* and nodejs_* series under their usual names, as every dashboard expects them.
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'pullfix_admission_requests_total',
    help: 'Admission reviews answered, by kind, operation and result (patched, allowed, bad_request, too_large, refused, error).',
    labelNames: ['kind', 'operation', 'result'] as const,
    registers: [registry],
    collect() {
      for (const kind of parts.configuredKinds?.() ?? []) record.knownKind(kind);
    },
  });
  const patches = new Counter({
    name: 'pullfix_patches_total',
    help: 'Changes made, by reason: stray (pod-level value moved), policy (namespace class policy), default (the image\'s default written out), stray_removed.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'pullfix_admission_duration_seconds',
    help: 'Time from a complete request body to the response being written.',
    labelNames: ['result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const configReloads = new Counter({
    name: 'pullfix_config_reloads_total',
    help: 'Config file reloads, by result (ok, failed: the last good config is kept).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of LABEL_VALUES.reloadResults) configReloads.inc({ result }, 0);
  const namespaceProblems = new Counter({
    name: 'pullfix_namespace_label_problems_total',
    help: 'Namespace contents with an invalid pullfix.dev label or annotation (the value is ignored), counted once per content seen.',
    registers: [registry],
  });
  const namespaceLookups = new Counter({
    name: 'pullfix_namespace_lookups_total',
    help: 'Namespaces read from the API server because the cache did not know them yet, by result (found, not_found, failed: config defaults applied).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of LABEL_VALUES.lookupResults) namespaceLookups.inc({ result }, 0);
  const refused = new Counter({
    name: 'pullfix_requests_refused_total',
    help: 'Work refused to stay within the memory limit, by reason: body_budget (a review answered 429, its body not read: the in-flight budget was spent), connections (a connection closed on arrival: --max-connections reached).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of LABEL_VALUES.refusedReasons) refused.inc({ reason }, 0);
  const record = recorder(requests, patches, latency);

  const status = () => parts.namespaces().status();
  new Gauge({
    name: 'pullfix_namespace_cache_synced',
    help: '1 once the namespace cache has a complete view (it stays 1 while disconnected).',
    registers: [registry],
    collect() {
      this.set(status().synced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'pullfix_namespace_cache_connected',
    help: '1 while the namespace watch is connected (always 1 for file and default sources).',
    registers: [registry],
    collect() {
      this.set(status().connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'pullfix_namespace_cache_size',
    help: 'Namespaces in the cache.',
    registers: [registry],
    collect() {
      this.set(status().size);
    },
  });
  new Gauge({
    name: 'pullfix_namespace_cache_last_event_timestamp_seconds',
    help: 'When the namespace cache last heard from its source (Unix time); absent until it has.',
    registers: [registry],
    collect() {
      const at = status().lastEventAt;
      if (at) this.set(at.getTime() / 1000);
      else this.remove();
    },
  });
  new Counter({
    name: 'pullfix_namespace_cache_errors_total',
    help: 'Errors the namespace source has met (list/watch failures, bad files).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(status().errors);
    },
  });

  const certs = () => parts.certificates?.();
  new Counter({
    name: 'pullfix_certificate_reloads_total',
    help: 'New serving certificate pairs, by result (ok: in use; failed: unreadable, unparsable or mismatched, the old pair is kept). The pair loaded at start is not counted.',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const stats = certs()?.stats;
      this.reset();
      this.inc({ result: 'ok' }, stats?.reloads ?? 0);
      this.inc({ result: 'failed' }, stats?.failures ?? 0);
    },
  });
  new Gauge({
    name: 'pullfix_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate in use expires (Unix time).',
    registers: [registry],
    collect() {
      const source = certs();
      if (source) this.set(source.current().notAfter.getTime() / 1000);
      else this.remove();
    },
  });

  return {
    registry,
    requests,
    patches,
    latency,
    configReloads,
    namespaceProblems,
    namespaceLookups,
    refused,
    record,
  };
}
