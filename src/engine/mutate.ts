import fjp from 'fast-json-patch';
import type { Operation as PatchOperation } from 'fast-json-patch';
import {
  combineEvidence,
  getPath,
  isObject,
  lastAppliedEvidence,
  managedFieldsEvidence,
  readLastApplied,
  readRecordedStray,
} from './explicit.js';
import { classifyImage, defaultPullPolicy, parseImageReference } from './image-reference.js';
import { kindTable, ruleFor, type KindRule, type Operation } from './kinds.js';
import { CHANGES_ANNOTATION, IGNORE_LABEL, type EffectivePolicy } from './namespace-policy.js';
import { readStray, type Stray } from './stray.js';
import type { CompiledConfig } from './config.js';
import type { ContainerList, ImageClass, JsonObject, PullPolicy } from './types.js';
import { formatWarning, summarise, warningFor } from './describe.js';

const { compare } = fjp;

/**
 * Where the object comes from. `admission`: the API server has defaulted it, so explicitness
 * must be inferred (SPEC §4). `manifest`: nothing is defaulted, a written value is explicit.
 */
export type Source = 'admission' | 'manifest';

export type { ContainerList } from './types.js';

export interface MutationRequest {
  group: string;
  kind: string;
  operation: Operation;
  subResource?: string;
  object: unknown;
  oldObject?: unknown;
  policy: EffectivePolicy;
  source: Source;
}

export interface ContainerChange {
  list: ContainerList;
  index: number;
  name: string;
  from?: string;
  to: PullPolicy;
  reason: 'stray' | 'policy';
  imageClass: ImageClass;
}

export interface MutationResult {
  /** RFC 6902 operations; empty when nothing changed or the operation may only be warned about. */
  patch: PatchOperation[];
  /** The object with the changes applied (the input itself when nothing changed). */
  mutated: unknown;
  changes: ContainerChange[];
  /** Whether the stray pod-level field was removed from the object. */
  strayRemoved: boolean;
  /**
   * Messages for the user, each prefixed `pullfix: ` and at most 120 characters, in a fixed
   * order that callers rely on (`fix --check` places each on its line): notices first
   * (namespace labels, the stray value, unparsable images), then one per entry of `changes`
   * in the same order, then one for the removed stray field.
   */
  warnings: string[];
  /** One line describing the changes, for the annotation, audit annotation and logs; '' when none. */
  summary: string;
  /** Why the object was not considered at all, when it was not. */
  skipped?: string;
}

export interface Engine {
  readonly config: CompiledConfig;
  mutate(request: MutationRequest): MutationResult;
}

function unchanged(object: unknown, skipped: string, warnings: string[] = []): MutationResult {
  return { patch: [], mutated: object, changes: [], strayRemoved: false, warnings, summary: '', skipped };
}

function controllerOwned(object: unknown): boolean {
  const refs = getPath(object, ['metadata', 'ownerReferences']);
  return Array.isArray(refs) && refs.some((ref) => isObject(ref) && ref.controller === true);
}

interface Decision {
  target?: PullPolicy;
  reason?: 'stray' | 'policy';
}

/** SPEC §4's precedence tables, rows 2–5 (row 1, exempt images, is decided by the caller). */
export function decide(
  mode: 'default' | 'enforce',
  explicit: boolean,
  stray: PullPolicy | undefined,
  classPolicy: PullPolicy | undefined,
): Decision {
  if (mode === 'enforce') {
    if (classPolicy) return { target: classPolicy, reason: 'policy' };
    if (explicit) return {};
    if (stray) return { target: stray, reason: 'stray' };
    return {};
  }
  if (explicit) return {};
  if (stray) return { target: stray, reason: 'stray' };
  if (classPolicy) return { target: classPolicy, reason: 'policy' };
  return {};
}

function namesIn(list: unknown): Set<unknown> {
  return new Set(Array.isArray(list) ? list.map((c) => (isObject(c) ? c.name : undefined)) : []);
}

interface Plan {
  changes: ContainerChange[];
  warnings: string[];
}

function planContainers(
  request: MutationRequest,
  rule: KindRule,
  podSpec: JsonObject,
  lastAppliedPodSpec: unknown,
  stray: Stray | undefined,
  ephemeral: boolean,
): Plan {
  const { policy, source, object } = request;
  const mode = policy.mode === 'enforce' ? 'enforce' : 'default';
  const changes: ContainerChange[] = [];
  const warnings: string[] = [];
  const lists: ContainerList[] = ephemeral ? ['ephemeralContainers'] : ['containers', 'initContainers'];
  // Only the ephemeral containers this request adds: the ones already there are immutable.
  const existing = ephemeral ? namesIn(getPath(request.oldObject, ['spec', 'ephemeralContainers'])) : undefined;

  for (const list of lists) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((container: unknown, index) => {
      if (!isObject(container)) return;
      const name = typeof container.name === 'string' ? container.name : `#${index}`;
      if (existing?.has(container.name)) return;
      const image = container.image;
      if (typeof image !== 'string') return;
      const parsed = parseImageReference(image);
      if (!parsed.ok) {
        warnings.push(formatWarning(`container ${JSON.stringify(name)}: image ${JSON.stringify(image)} does not parse (${parsed.error}); left alone`));
        return;
      }
      if (policy.isExempt(image)) return;
      const imageClass = classifyImage(parsed.ref, policy.mutableTags);
      const current = container.imagePullPolicy;
      const explicit = isExplicit(source, rule, lastAppliedPodSpec, list, container, image, object);
      const decision = decide(mode, explicit, ephemeral ? undefined : stray?.value, policy.policies[imageClass]);
      if (decision.target && decision.target !== current) {
        changes.push({
          list,
          index,
          name,
          ...(typeof current === 'string' ? { from: current } : {}),
          to: decision.target,
          reason: decision.reason ?? 'policy',
          imageClass,
        });
      }
    });
  }
  return { changes, warnings };
}

function isExplicit(
  source: Source,
  rule: KindRule,
  lastAppliedPodSpec: unknown,
  list: ContainerList,
  container: JsonObject,
  image: string,
  object: unknown,
): boolean {
  const current = container.imagePullPolicy;
  // Nothing written, nothing defaulted (a manifest, or a schemaless custom resource template).
  if (typeof current !== 'string') return false;
  if (source === 'manifest') return true;
  const name = container.name;
  if (typeof name === 'string') {
    const evidence = combineEvidence(
      lastAppliedEvidence(lastAppliedPodSpec, list, name),
      managedFieldsEvidence(object, rule.podSpecPath, list, name),
    );
    if (evidence !== 'unknown') return evidence === 'explicit';
  }
  return current !== defaultPullPolicy(image);
}

/**
 * The stray value an earlier call in this same admission removed, from pullfix's own note. A
 * note the old object already carried is left from an earlier write and says nothing about
 * what the user sends now, so only a note new in this request counts.
 */
function freshRecordedStray(object: unknown, oldObject: unknown): string | undefined {
  const note = getPath(object, ['metadata', 'annotations', CHANGES_ANNOTATION]);
  if (note === undefined || note === getPath(oldObject, ['metadata', 'annotations', CHANGES_ANNOTATION])) return undefined;
  return readRecordedStray(object, CHANGES_ANNOTATION);
}

/**
 * Applies a plan to a copy and diffs the copy against the original. The copy is made on
 * write: only the objects on the way to a change (the pod spec and its ancestors, the changed
 * container lists and containers, metadata and its annotations) are copied, and everything else
 * is shared with the original. `compare` skips a shared subtree at once (it is the same object),
 * so the patch is the one a deep copy would give, without copying and walking the whole object
 * (its managed fields and last-applied annotation are most of it). `mutated` shares those
 * untouched parts with the input, as it is the input itself when nothing changes.
 */
function applyPlan(
  object: JsonObject,
  podSpecPath: readonly string[],
  changes: ContainerChange[],
  removeStray: boolean,
  summary: string,
  annotate: boolean,
): { mutated: JsonObject; patch: PatchOperation[] } {
  const mutated: JsonObject = { ...object };
  // The caller found an object at every step of the path (getPath), so each step is copied.
  let podSpec = mutated;
  for (const segment of podSpecPath) {
    const copy: JsonObject = { ...(podSpec[segment] as JsonObject) };
    podSpec[segment] = copy;
    podSpec = copy;
  }
  const copiedLists = new Set<ContainerList>();
  for (const change of changes) {
    if (!copiedLists.has(change.list)) {
      podSpec[change.list] = [...(podSpec[change.list] as JsonObject[])];
      copiedLists.add(change.list);
    }
    const list = podSpec[change.list] as JsonObject[];
    list[change.index] = { ...(list[change.index] as JsonObject), imagePullPolicy: change.to };
  }
  if (removeStray) delete podSpec.imagePullPolicy;
  if (annotate && isObject(mutated.metadata)) {
    const metadata: JsonObject = { ...mutated.metadata };
    mutated.metadata = metadata;
    if (metadata.annotations === undefined || metadata.annotations === null) metadata.annotations = {};
    else if (isObject(metadata.annotations)) metadata.annotations = { ...metadata.annotations };
    if (isObject(metadata.annotations)) metadata.annotations[CHANGES_ANNOTATION] = summary;
  }
  return { mutated, patch: compare(object, mutated) };
}

/** Builds the engine for one configuration; the kind table is computed once here. */
export function createEngine(config: CompiledConfig): Engine {
  const kinds = kindTable(config.podTemplates);

  function mutate(request: MutationRequest): MutationResult {
    const { object, operation, policy, source } = request;
    const rule = ruleFor(kinds, request.group, request.kind, request.subResource);
    if (!rule) return unchanged(object, 'kind not handled');
    const patchable = rule.patch.has(operation);
    if (!patchable && !rule.warnOnly.has(operation)) return unchanged(object, `operation ${operation} not handled for this kind`);
    if (!isObject(object)) return unchanged(object, 'object is not a JSON object');
    if (rule.workload && !config.workloads && !config.podTemplates.some((t) => t.group === request.group && t.kind === request.kind)) {
      return unchanged(object, 'workloads are disabled in the config');
    }
    if (getPath(object, ['metadata', 'labels', IGNORE_LABEL]) === 'true') return unchanged(object, `labelled ${IGNORE_LABEL}=true`);
    const namespaceWarnings = policy.problems.map(formatWarning);
    if (policy.mode === 'off') return unchanged(object, 'mode off', namespaceWarnings);
    // A controller rewrites what it owns: patch the owner (or the pods), never fight its loop.
    if (rule.workload && controllerOwned(object)) return unchanged(object, 'owned by a controller', namespaceWarnings);
    const podSpec = getPath(object, rule.podSpecPath);
    if (!isObject(podSpec)) return unchanged(object, 'no pod spec at the expected path', namespaceWarnings);

    const ephemeral = request.subResource === 'ephemeralcontainers';
    const lastApplied = source === 'admission' && !ephemeral ? readLastApplied(object) : undefined;
    const lastAppliedPodSpec = getPath(lastApplied, rule.podSpecPath);
    const recordedStray = source === 'admission' ? freshRecordedStray(object, request.oldObject) : undefined;
    const stray = ephemeral ? undefined : readStray(podSpec, lastAppliedPodSpec, recordedStray);
    const plan = planContainers(request, rule, podSpec, lastAppliedPodSpec, stray, ephemeral);
    const removeStray = stray?.removable === true;

    const warnings = [...namespaceWarnings, ...(stray?.problems ?? []).map(formatWarning), ...plan.warnings];
    if (plan.changes.length === 0 && !removeStray) {
      return { patch: [], mutated: object, changes: [], strayRemoved: false, warnings, summary: '' };
    }
    const summary = summarise(plan.changes, removeStray ? stray?.value : undefined);
    if (!patchable) {
      warnings.push(...warningFor(plan.changes, removeStray ? stray?.value : undefined, `not applied on ${operation} (the field is immutable): `).map(formatWarning));
      return { patch: [], mutated: object, changes: [], strayRemoved: false, warnings, summary: '' };
    }
    warnings.push(...warningFor(plan.changes, removeStray ? stray?.value : undefined, '').map(formatWarning));
    const { mutated, patch } = applyPlan(object, rule.podSpecPath, plan.changes, removeStray, summary, source === 'admission');
    return { patch, mutated, changes: plan.changes, strayRemoved: removeStray, warnings, summary };
  }

  return { config, mutate };
}
