// Reading raw JSON objects as the API server sends them. The engine never round-trips an object
// through typed models (they drop the unknown fields pullfix exists to find), so every layer
// walks plain JSON with these.

import type { JsonObject } from './types.js';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows `path` through nested objects; undefined as soon as a step is missing. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const segment of path) {
    if (!isObject(node)) return undefined;
    node = node[segment];
  }
  return node;
}

/**
 * Whether an owner reference names a controller (a ReplicaSet owned by its Deployment, a
 * Deployment owned by an operator). pullfix patches the owner or the pods instead, so it never
 * fights that controller's reconcile loop (SPEC §5).
 */
export function controllerOwned(object: unknown): boolean {
  const refs = getPath(object, ['metadata', 'ownerReferences']);
  return Array.isArray(refs) && refs.some((ref) => isObject(ref) && ref.controller === true);
}
