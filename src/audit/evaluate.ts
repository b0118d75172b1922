// One live object against its namespace's policy: what the webhook would do to it if it were
// applied again now. Pure: the object and the policy in, findings and the patch out.

import type { Operation as PatchOperation } from 'fast-json-patch';
import { because } from '../engine/describe.js';
import { readLastApplied } from '../engine/explicit.js';
import { kindTable, ruleFor, type KindRule } from '../engine/kinds.js';
import type { ContainerList, Engine } from '../engine/mutate.js';
import type { EffectivePolicy } from '../engine/namespace-policy.js';
import { controllerOwned, getPath, isObject } from '../engine/objects.js';
import { ENTRY_FIELDS } from '../engine/types.js';
import { apiVersionOf, immutableReason, type WorkloadKind } from './workload-kinds.js';

/** What a finding is about: a pull policy against the namespace's, or the misplaced pod-level field. */
export type AuditRule = 'namespace-policy' | 'pod-level-field';

export interface Finding {
  namespace: string;
  kind: string;
  apiVersion: string;
  name: string;
  /** The container's (or image volume's) name; null for a pod-level field. */
  container: string | null;
  containerList?: ContainerList;
  rule: AuditRule;
  /** Where the value is, as an ObjectReference fieldPath: `spec.template.spec.containers{web}.imagePullPolicy`. */
  fieldPath: string;
  /** The policy in the object now (null when it has none). */
  current: string | null;
  /** The policy the webhook would set (null: nothing to set in the cluster). */
  wanted: string | null;
  reason: string;
  /** Whether `--fix` patches it (workload templates); Pods and Jobs are reported only. */
  patchable: boolean;
}

export interface Evaluation {
  findings: Finding[];
  /** The engine's JSON patch, for patchable objects with findings; empty otherwise. */
  patch: PatchOperation[];
  /** Problems the user should know of that are not findings (an image that does not parse). */
  warnings: string[];
  /** Why the object was passed over, when it was. */
  skipped?: string;
}

/** The pod-level `imagePullPolicy` kept in kubectl's last-applied annotation, if any. */
function lastAppliedStray(object: unknown, podSpecPath: readonly string[]): { value: unknown } | undefined {
  const podSpec = getPath(readLastApplied(object), podSpecPath);
  return isObject(podSpec) && 'imagePullPolicy' in podSpec ? { value: podSpec.imagePullPolicy } : undefined;
}

// One kind table per engine, not per object: an audit evaluates thousands of objects.
const tables = new WeakMap<Engine, Map<string, KindRule>>();

function podSpecPathOf(engine: Engine, kind: WorkloadKind): readonly string[] | undefined {
  let table = tables.get(engine);
  if (!table) {
    table = kindTable(engine.config.podTemplates);
    tables.set(engine, table);
  }
  return ruleFor(table, kind.group, kind.kind)?.podSpecPath;
}

/** `spec.template.spec.volumes{cache}.image.pullPolicy`: the list's own field names (ENTRY_FIELDS). */
export function entryFieldPath(podSpecPath: readonly string[], list: ContainerList, name: string): string {
  return [...podSpecPath, `${list}{${name}}`, ...ENTRY_FIELDS[list].pullPolicy].join('.');
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Evaluates one object as the webhook would see it re-applied. Workloads are an UPDATE: what
 * the next apply gets, and what `--fix` may patch. Pods and Jobs cannot take the change (their
 * pod template is immutable), so they are judged as a fresh CREATE of the same object would be,
 * reported, and never patched. Objects a controller owns are its business (SPEC §5).
 */
export function evaluateObject(engine: Engine, kind: WorkloadKind, object: unknown, policy: EffectivePolicy): Evaluation {
  const namespace = String(getPath(object, ['metadata', 'namespace']) ?? '');
  const name = String(getPath(object, ['metadata', 'name']) ?? '');
  if (controllerOwned(object)) return { findings: [], patch: [], warnings: [], skipped: 'owned by a controller' };
  const immutable = immutableReason(kind);
  const patchable = immutable === undefined;
  const result = engine.mutate({
    group: kind.group,
    kind: kind.kind,
    operation: patchable ? 'UPDATE' : 'CREATE',
    object,
    // The same object before and after: nothing in this "request" is new.
    oldObject: object,
    policy,
    source: 'admission',
  });
  const base = { namespace, kind: kind.kind, apiVersion: apiVersionOf(kind), name };
  const suffix = immutable ? ` (${immutable})` : '';
  const podSpecPath = podSpecPathOf(engine, kind);
  const findings: Finding[] = result.changes.map((change) => ({
    ...base,
    container: change.name,
    containerList: change.list,
    rule: change.reason === 'stray' ? 'pod-level-field' : 'namespace-policy',
    fieldPath: entryFieldPath(podSpecPath ?? [], change.list, change.name),
    current: change.from ?? null,
    wanted: change.to,
    reason: because(change) + suffix,
    patchable,
  }));

  const stray = result.skipped === undefined && podSpecPath ? lastAppliedStray(object, podSpecPath) : undefined;
  if (stray) {
    // Only the manifest can lose it: the next client-side apply would write it there again.
    findings.push({
      ...base,
      container: null,
      rule: 'pod-level-field',
      fieldPath: [...(podSpecPath ?? []), 'imagePullPolicy'].join('.'),
      current: display(stray.value),
      wanted: null,
      reason: 'pod-level imagePullPolicy in the last-applied manifest: fix the manifest (pullfix fix)',
      patchable: false,
    });
  }
  // The engine's notices about this object (an image that does not parse), without the
  // namespace's label problems (reported once per namespace) or its change lines.
  const noticeCount = Math.max(0, result.warnings.length - result.changes.length - (result.strayRemoved ? 1 : 0));
  const notices = result.warnings.slice(Math.min(policy.problems.length, noticeCount), noticeCount);
  return {
    findings,
    patch: patchable && result.changes.length > 0 ? result.patch : [],
    warnings: notices.map((w) => `${kind.kind} ${namespace}/${name}: ${w.replace(/^pullfix: /, '')}`),
    ...(result.skipped !== undefined ? { skipped: result.skipped } : {}),
  };
}
