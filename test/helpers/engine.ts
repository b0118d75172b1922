import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { createEngine, type MutationResult, type Source } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import type { PullfixConfig } from '../../src/engine/types.js';
import type { Review } from './fixtures.js';

export interface RunOptions {
  config?: Partial<PullfixConfig>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  source?: Source;
}

/** Runs the engine on a review's request the way the admission layer does. */
export function runEngine(review: Review, options: RunOptions = {}): MutationResult {
  const config = compileConfig({ ...DEFAULT_CONFIG, ...options.config });
  const engine = createEngine(config);
  const policy = resolveNamespacePolicy(config, {
    name: review.request.namespace ?? 'default',
    labels: options.labels ?? {},
    annotations: options.annotations ?? {},
  });
  const { kind, operation, subResource, object, oldObject } = review.request;
  return engine.mutate({
    group: kind.group,
    kind: kind.kind,
    operation,
    ...(subResource ? { subResource } : {}),
    object,
    oldObject: oldObject ?? undefined,
    policy,
    source: options.source ?? 'admission',
  });
}
