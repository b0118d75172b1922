import { isObject } from '../engine/explicit.js';
import type { JsonObject } from '../engine/types.js';

/** One Kubernetes object found in a manifest. */
export interface ManifestObject {
  /** Which document of the input holds it. */
  docIndex: number;
  /** Path from the document root to the object: empty, or `items/N` (nested for lists of lists). */
  path: string[];
  value: JsonObject;
  group: string;
  kind: string;
}

/** The API group of an `apiVersion`: the part before `/`, or '' for the core group (`v1`). */
export function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Workload kinds of the retired `extensions/v1beta1` group have the `apps/v1` shape (pod template
 * at spec.template.spec); old manifests still carry them, so they are fixed like `apps/v1`.
 */
const LEGACY_APPS_KINDS = new Set(['Deployment', 'DaemonSet', 'ReplicaSet']);

/** The group the engine should read an object as: its own, or `apps` for legacy workload kinds. */
export function engineGroupOf(apiVersion: unknown, kind: string): string {
  const group = groupOf(apiVersion);
  return group === 'extensions' && LEGACY_APPS_KINDS.has(kind) ? 'apps' : group;
}

/** `kind: List` and typed lists (`DeploymentList`) carry their objects in `items`, as kubectl reads them. */
function isList(value: JsonObject): value is JsonObject & { items: unknown[] } {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

function collect(value: unknown, docIndex: number, path: string[], out: ManifestObject[]): void {
  if (!isObject(value)) return;
  if (isList(value)) {
    value.items.forEach((item, i) => collect(item, docIndex, [...path, 'items', String(i)], out));
    return;
  }
  if (typeof value.kind !== 'string') return;
  out.push({ docIndex, path, value, group: engineGroupOf(value.apiVersion, value.kind), kind: value.kind });
}

/** Every object in the documents (their plain JavaScript values), in order. */
export function locateObjects(docValues: readonly unknown[]): ManifestObject[] {
  const out: ManifestObject[] = [];
  docValues.forEach((value, docIndex) => collect(value, docIndex, [], out));
  return out;
}
