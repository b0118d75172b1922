// AdmissionReview in, AdmissionReview out. Pure given the engine and a namespace lookup:
// no HTTP here (controller-runtime's Handler never sees the transport).
import type { Engine, MutationResult } from '../engine/mutate.js';
import { kindTable, ruleFor, type KindRule } from '../engine/kinds.js';
import { LABEL_PREFIX, MUTABLE_TAGS_ANNOTATION, resolveNamespacePolicy, type EffectivePolicy } from '../engine/namespace-policy.js';
import type { NamespaceInfo } from '../engine/types.js';
import { formatWarning } from '../engine/describe.js';
import { admissionResponse, type AdmissionReviewResponse } from './response.js';
import { decodeReview, type AdmissionRequest } from './review.js';

/** What reading a namespace the cache did not know gave. */
export interface NamespaceLookup {
  /** The namespace, when the API server has it. */
  found?: NamespaceInfo;
  /** Why it could not be read (no answer within the budget, an error status); unset for 404. */
  failed?: string;
}

export interface AdmissionContext {
  /** The engine for the configuration in force now (it is swapped on config reload). */
  engine(): Engine;
  /** A namespace's labels and annotations from the cache; never calls the API server. */
  namespace(name: string): NamespaceInfo | undefined;
  /**
   * For a namespace the cache does not know (created a moment ago): one read from the API
   * server within its budget. Absent when the namespaces do not come from an API server.
   */
  lookup?(name: string): Promise<NamespaceLookup>;
}

export interface AdmissionOutcome {
  review: AdmissionReviewResponse;
  request: AdmissionRequest;
  /** The kind for metrics: a kind of SPEC §5 (or a configured pod-template kind), else `other`. */
  knownKind: string;
  result?: MutationResult;
  /** An unexpected failure inside the engine: the object was admitted unchanged. */
  failure?: Error;
  /** Invalid namespace labels, set the first time this namespace content is seen (log them once). */
  namespaceProblems?: readonly string[];
  /** How the namespace was read when the cache did not know it. */
  lookup?: 'found' | 'not_found' | 'failed';
}

export interface AdmissionHandler {
  /** Answers from the cache alone; throws BadRequestError for an unusable body. */
  handle(body: unknown): AdmissionOutcome;
  /**
   * The server's entry: like handle(), but a namespace the cache does not know is read once
   * from the API server first (then the answer is a promise). Throws BadRequestError.
   */
  admit(body: unknown): AdmissionOutcome | Promise<AdmissionOutcome>;
}

/** Namespace contents whose problems were already reported; bounded, as namespaces come and go. */
const REPORTED_LIMIT = 10_000;

function problemKey(namespace: NamespaceInfo): string {
  const keys = Object.keys(namespace.labels).filter((k) => k.startsWith(LABEL_PREFIX));
  const parts = keys.sort().map((k) => `${k}=${namespace.labels[k]}`);
  return JSON.stringify([namespace.name, parts, namespace.annotations[MUTABLE_TAGS_ANNOTATION] ?? null]);
}

export function createAdmissionHandler(context: AdmissionContext): AdmissionHandler {
  // Policies per namespace object: sources replace a NamespaceInfo when it changes, and a new
  // engine comes with a new config, so both identities together key a valid entry.
  let policies = new WeakMap<NamespaceInfo, EffectivePolicy>();
  let policiesFor: Engine | undefined;
  let defaultPolicy: EffectivePolicy | undefined;
  let kinds: Map<string, KindRule> = new Map();
  const reported = new Set<string>();

  function policyFor(engine: Engine, namespace: NamespaceInfo | undefined): { policy: EffectivePolicy; fresh?: readonly string[] } {
    if (policiesFor !== engine) {
      policies = new WeakMap();
      policiesFor = engine;
      defaultPolicy = undefined;
      kinds = kindTable(engine.config.podTemplates);
    }
    if (!namespace) return { policy: (defaultPolicy ??= resolveNamespacePolicy(engine.config, undefined)) };
    let policy = policies.get(namespace);
    if (policy) return { policy };
    policy = resolveNamespacePolicy(engine.config, namespace);
    policies.set(namespace, policy);
    if (policy.problems.length === 0) return { policy };
    // Once per namespace content, not per request and not per cache refresh of the same content.
    const key = problemKey(namespace);
    if (reported.has(key)) return { policy };
    if (reported.size >= REPORTED_LIMIT) reported.clear();
    reported.add(key);
    return { policy, fresh: policy.problems };
  }

  function answer(request: AdmissionRequest, namespace: NamespaceInfo | undefined, lookup?: AdmissionOutcome['lookup']): AdmissionOutcome {
    let knownKind = 'other';
    try {
      const engine = context.engine();
      const { policy, fresh } = policyFor(engine, namespace);
      if (ruleFor(kinds, request.group, request.kind)) knownKind = request.kind;
      const result = engine.mutate({
        group: request.group,
        kind: request.kind,
        operation: request.operation,
        ...(request.subResource ? { subResource: request.subResource } : {}),
        object: request.object,
        oldObject: request.oldObject,
        policy,
        source: 'admission',
      });
      const warnings = lookup === 'failed' ? [formatWarning(lookupWarning(request.namespace)), ...result.warnings] : result.warnings;
      const review = admissionResponse(request.apiVersion, request.uid, {
        patch: result.patch,
        warnings,
        changes: result.patch.length > 0 ? result.summary : undefined,
      });
      return { review, request, knownKind, result, ...(fresh && { namespaceProblems: fresh }), ...(lookup && { lookup }) };
    } catch (err) {
      // Never deny and never fail the API server's call: admit unchanged and say so.
      const review = admissionResponse(request.apiVersion, request.uid, {
        warnings: [formatWarning('internal error; object admitted unchanged')],
      });
      return { review, request, knownKind, failure: err instanceof Error ? err : new Error(String(err)), ...(lookup && { lookup }) };
    }
  }

  function handle(body: unknown): AdmissionOutcome {
    const request = decodeReview(body);
    return answer(request, request.namespace ? context.namespace(request.namespace) : undefined);
  }

  function admit(body: unknown): AdmissionOutcome | Promise<AdmissionOutcome> {
    const request = decodeReview(body);
    if (!request.namespace) return answer(request, undefined);
    const cached = context.namespace(request.namespace);
    if (cached || !context.lookup) return answer(request, cached);
    return context.lookup(request.namespace).then(
      (read) => answer(request, read.found, read.found ? 'found' : read.failed !== undefined ? 'failed' : 'not_found'),
      () => answer(request, undefined, 'failed'),
    );
  }

  return { handle, admit };
}

function lookupWarning(namespace: string): string {
  return `namespace ${namespace} could not be read from the API server; config defaults applied`;
}
