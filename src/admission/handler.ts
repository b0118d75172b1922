// AdmissionReview in, AdmissionReview out. Pure given the engine and a namespace lookup:
// no HTTP here (controller-runtime's Handler never sees the transport).
import type { Engine, MutationResult } from '../engine/mutate.js';
import { resolveNamespacePolicy, type EffectivePolicy } from '../engine/namespace-policy.js';
import type { NamespaceInfo } from '../engine/types.js';
import { formatWarning } from '../engine/describe.js';
import { admissionResponse, type AdmissionReviewResponse } from './response.js';
import { decodeReview, type AdmissionRequest } from './review.js';

export interface AdmissionContext {
  /** The engine for the configuration in force now (it is swapped on config reload). */
  engine(): Engine;
  /** A namespace's labels and annotations from the cache; never calls the API server. */
  namespace(name: string): NamespaceInfo | undefined;
}

export interface AdmissionOutcome {
  review: AdmissionReviewResponse;
  request: AdmissionRequest;
  result?: MutationResult;
  /** An unexpected failure inside the engine: the object was admitted unchanged. */
  failure?: Error;
}

export interface AdmissionHandler {
  /** Throws BadRequestError for a body that is not a usable AdmissionReview. */
  handle(body: unknown): AdmissionOutcome;
}

export function createAdmissionHandler(context: AdmissionContext): AdmissionHandler {
  // Policies per namespace object: sources replace a NamespaceInfo when it changes, and a new
  // engine comes with a new config, so both identities together key a valid entry.
  let policies = new WeakMap<NamespaceInfo, EffectivePolicy>();
  let policiesFor: Engine | undefined;
  let defaultPolicy: EffectivePolicy | undefined;

  function policyFor(engine: Engine, namespace: NamespaceInfo | undefined): EffectivePolicy {
    if (policiesFor !== engine) {
      policies = new WeakMap();
      policiesFor = engine;
      defaultPolicy = undefined;
    }
    if (!namespace) return (defaultPolicy ??= resolveNamespacePolicy(engine.config, undefined));
    let policy = policies.get(namespace);
    if (!policy) {
      policy = resolveNamespacePolicy(engine.config, namespace);
      policies.set(namespace, policy);
    }
    return policy;
  }

  function handle(body: unknown): AdmissionOutcome {
    const request = decodeReview(body);
    try {
      const engine = context.engine();
      const namespace = request.namespace ? context.namespace(request.namespace) : undefined;
      const result = engine.mutate({
        group: request.group,
        kind: request.kind,
        operation: request.operation,
        ...(request.subResource ? { subResource: request.subResource } : {}),
        object: request.object,
        oldObject: request.oldObject,
        policy: policyFor(engine, namespace),
        source: 'admission',
      });
      const review = admissionResponse(request.apiVersion, request.uid, {
        patch: result.patch,
        warnings: result.warnings,
        changes: result.patch.length > 0 ? result.summary : undefined,
      });
      return { review, request, result };
    } catch (err) {
      // Never deny and never fail the API server's call: admit unchanged and say so.
      const review = admissionResponse(request.apiVersion, request.uid, {
        warnings: [formatWarning('internal error; object admitted unchanged')],
      });
      return { review, request, failure: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  return { handle };
}
