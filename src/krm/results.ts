// The function's `results` (KRM functions specification): one per engine warning, each
// pointing at the resource, the field and the file it came from, so kpt and kustomize users
// see what was changed where, and what was left for them.

import { WARNING_PREFIX } from '../engine/describe.js';
import { getPath, isObject } from '../engine/explicit.js';
import type { MutationResult } from '../engine/mutate.js';
import { ENTRY_FIELDS } from '../engine/types.js';
import { withOrigin, type PolicyOrigin } from '../fix/findings.js';

export type Severity = 'error' | 'warning' | 'info';

export interface KrmResult {
  message: string;
  severity: Severity;
  resourceRef?: { apiVersion: string; kind: string; name: string; namespace?: string };
  field?: { path: string };
  file?: { path: string; index?: number };
}

// kustomize and kpt record where each item came from; the internal.* form is the current one.
const PATH_ANNOTATIONS = ['internal.config.kubernetes.io/path', 'config.kubernetes.io/path'];
const INDEX_ANNOTATIONS = ['internal.config.kubernetes.io/index', 'config.kubernetes.io/index'];

function annotation(object: unknown, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = getPath(object, ['metadata', 'annotations', key]);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function resourceRef(object: unknown): KrmResult['resourceRef'] | undefined {
  if (!isObject(object) || typeof object.kind !== 'string' || typeof object.apiVersion !== 'string') return undefined;
  const name = getPath(object, ['metadata', 'name']);
  const namespace = getPath(object, ['metadata', 'namespace']);
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: typeof name === 'string' ? name : '',
    ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}),
  };
}

function fileOf(object: unknown): KrmResult['file'] | undefined {
  const path = annotation(object, PATH_ANNOTATIONS);
  if (path === undefined) return undefined;
  const index = Number(annotation(object, INDEX_ANNOTATIONS));
  return { path, ...(Number.isInteger(index) && index >= 0 ? { index } : {}) };
}

/** `spec.template.spec.containers[1].imagePullPolicy`, the field path form kpt prints. */
function fieldPath(podSpecPath: readonly string[], tail: string): string {
  return [...podSpecPath, tail].join('.');
}

function unprefixed(warning: string): string {
  return warning.startsWith(WARNING_PREFIX) ? warning.slice(WARNING_PREFIX.length) : warning;
}

/**
 * Results for one item. The engine lists its notices first, then one warning per change in
 * order, then one for the removed stray field: changes made are `info`, what is left for the
 * user (an image that does not parse, an unusable stray value) is a `warning`.
 */
export function resultsFor(
  object: unknown,
  result: MutationResult,
  podSpecPath: readonly string[] | undefined,
  origin?: PolicyOrigin,
  /** The ResourceList item holding the object, when that is a List: its file annotations name the file. */
  item?: unknown,
): KrmResult[] {
  const ref = resourceRef(object);
  const file = fileOf(object) ?? (item === undefined ? undefined : fileOf(item));
  const refPart = ref ? { resourceRef: ref } : {};
  const filePart = file ? { file } : {};
  const { changes, strayRemoved, warnings } = result;
  const applied = changes.length + (strayRemoved ? 1 : 0);
  const split = Math.max(0, warnings.length - applied);
  const out: KrmResult[] = warnings.slice(0, split).map((w) => ({ message: unprefixed(w), severity: 'warning', ...refPart, ...filePart }));
  warnings.slice(split).forEach((w, i) => {
    const change = changes[i];
    // Where the entry keeps its policy: `imagePullPolicy`, or `image.pullPolicy` for an image volume.
    const tail = change ? `${change.list}[${change.index}].${ENTRY_FIELDS[change.list].pullPolicy.join('.')}` : 'imagePullPolicy';
    out.push({
      message: withOrigin(unprefixed(w), change, origin),
      severity: 'info',
      ...refPart,
      ...(podSpecPath ? { field: { path: fieldPath(podSpecPath, tail) } } : {}),
      ...filePart,
    });
  });
  return out;
}
