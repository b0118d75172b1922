// Prometheus metrics. Gauges that mirror another component's state are read at scrape time
// (collect), so the request path only increments counters and observes one histogram.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LabelValues } from 'prom-client';
import type { NamespaceSource } from '../cluster/namespace-source.js';
import type { FileCertificateSource } from './certificate-source.js';

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
  return {
    request(kind, operation, result) {
      const labels: LabelValues<'kind' | 'operation' | 'result'> = { kind, operation, result };
      bound(requestChildren, `${kind}|${operation}|${result}`, () => requests.labels(labels)).inc();
    },
    patch(reason) {
      bound(patchChildren, reason, () => patches.labels({ reason })).inc();
    },
    latency(result, seconds) {
      bound(latencyChildren, result, () => latency.labels({ result })).observe(seconds);
    },
  };
}

export interface ObservedParts {
  namespaces: () => NamespaceSource;
  certificates?: () => FileCertificateSource | undefined;
}

export function createMetrics(parts: ObservedParts): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pullfix_' });

  const requests = new Counter({
    name: 'pullfix_admission_requests_total',
    help: 'Admission reviews answered, by kind, operation and result (patched, allowed, bad_request, too_large, refused, error).',
    labelNames: ['kind', 'operation', 'result'] as const,
    registers: [registry],
  });
  const patches = new Counter({
    name: 'pullfix_patches_total',
    help: 'Changes made, by reason: stray (pod-level value moved), policy (namespace class policy), stray_removed.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'pullfix_admission_duration_seconds',
    help: 'Time from a complete request body to the response being written.',
    labelNames: ['result'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const configReloads = new Counter({
    name: 'pullfix_config_reloads_total',
    help: 'Config file reloads, by result (ok, failed: the last good config is kept).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
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
  // Zero from the start, so an alert on failures has a series to watch before the first one.
  for (const result of ['found', 'not_found', 'failed']) namespaceLookups.labels({ result });
  const refused = new Counter({
    name: 'pullfix_requests_refused_total',
    help: 'Work refused to stay within the memory limit, by reason: body_budget (a review answered 429, its body not read: the in-flight budget was spent), connections (a connection closed on arrival: --max-connections reached).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of ['body_budget', 'connections']) refused.inc({ reason }, 0);

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
    name: 'pullfix_namespace_cache_last_event_age_seconds',
    help: 'Seconds since the namespace cache last heard from its source (-1: never).',
    registers: [registry],
    collect() {
      const at = status().lastEventAt;
      this.set(at ? (Date.now() - at.getTime()) / 1000 : -1);
    },
  });
  new Gauge({
    name: 'pullfix_namespace_cache_errors',
    help: 'Errors the namespace source has met since start (list/watch failures, bad files).',
    registers: [registry],
    collect() {
      this.set(status().errors);
    },
  });

  const certs = () => parts.certificates?.();
  new Gauge({
    name: 'pullfix_certificate_reloads',
    help: 'Serving certificate pairs reloaded since start (the pair loaded at start not counted).',
    registers: [registry],
    collect() {
      this.set(certs()?.stats.reloads ?? 0);
    },
  });
  new Gauge({
    name: 'pullfix_certificate_reload_failures',
    help: 'New certificate pairs refused (unreadable, unparsable or mismatched); the old pair is kept.',
    registers: [registry],
    collect() {
      this.set(certs()?.stats.failures ?? 0);
    },
  });
  new Gauge({
    name: 'pullfix_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate in use expires (Unix time).',
    registers: [registry],
    collect() {
      const source = certs();
      if (source) this.set(source.current().notAfter.getTime() / 1000);
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
    record: recorder(requests, patches, latency),
  };
}
