// Deciding whether a container's imagePullPolicy was chosen by a person (SPEC §4). Defaulting
// runs before mutating admission, so every container arrives with a value; only the user's
// own record of what they wrote can tell a choice from a default.

import type { JsonObject } from './types.js';

/** What one source says about a container's imagePullPolicy. */
export type Evidence = 'explicit' | 'not-explicit' | 'unknown';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

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

function findByName(list: unknown, name: string): JsonObject | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const item of list) if (isObject(item) && item.name === name) return item;
  return undefined;
}

/** Parses the last-applied annotation; undefined when absent or not a JSON object. */
export function readLastApplied(object: unknown): JsonObject | undefined {
  const raw = getPath(object, ['metadata', 'annotations', LAST_APPLIED_ANNOTATION]);
  if (typeof raw !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Client-side `kubectl apply` records the manifest verbatim: a container listed there with
 * `imagePullPolicy` was set by the user; one listed without it was left to defaulting.
 */
export function lastAppliedEvidence(lastAppliedPodSpec: unknown, list: string, name: string): Evidence {
  const container = findByName(getPath(lastAppliedPodSpec, [list]), name);
  if (!container) return 'unknown';
  return 'imagePullPolicy' in container ? 'explicit' : 'not-explicit';
}

function keyNames(listFields: JsonObject): Map<string, JsonObject> {
  // Server-side apply keys list items as `k:{"name":"app"}`; parse rather than rebuild the
  // key so that escaping in the name cannot make a match fail.
  const byName = new Map<string, JsonObject>();
  for (const [key, value] of Object.entries(listFields)) {
    if (!key.startsWith('k:') || !isObject(value)) continue;
    try {
      const parsed: unknown = JSON.parse(key.slice(2));
      if (isObject(parsed) && typeof parsed.name === 'string') byName.set(parsed.name, value);
    } catch {
      // not a key this code understands; skip it
    }
  }
  return byName;
}

/**
 * Server-side apply records which manager owns each field. An `Apply` entry owning the
 * container's `imagePullPolicy` means the user's configuration sets it; one owning the
 * container but not that field means the user left it out.
 */
export function managedFieldsEvidence(
  object: unknown,
  podSpecPath: readonly string[],
  list: string,
  name: string,
): Evidence {
  const entries = getPath(object, ['metadata', 'managedFields']);
  if (!Array.isArray(entries)) return 'unknown';
  const fieldPath = [...podSpecPath, list].map((segment) => `f:${segment}`);
  let evidence: Evidence = 'unknown';
  for (const entry of entries) {
    if (!isObject(entry) || entry.operation !== 'Apply') continue;
    const listFields = getPath(entry.fieldsV1, fieldPath);
    if (!isObject(listFields)) continue;
    const container = keyNames(listFields).get(name);
    if (!container) continue;
    if ('f:imagePullPolicy' in container) return 'explicit';
    evidence = 'not-explicit';
  }
  return evidence;
}

/** Combines the sources in SPEC §4's order: any `explicit` wins, then any `not-explicit`. */
export function combineEvidence(...sources: Evidence[]): Evidence {
  if (sources.includes('explicit')) return 'explicit';
  if (sources.includes('not-explicit')) return 'not-explicit';
  return 'unknown';
}

const RECORDED_STRAY = /removed pod-level imagePullPolicy (Always|IfNotPresent|Never)\b/;

/**
 * The stray value pullfix removed earlier, read back from its own `pullfix.dev/changes`
 * annotation. The API server may call the webhook again on its output (reinvocation); by
 * then the stray field is gone, and without this record a container that took the stray
 * value could be given the class policy instead on the second call.
 */
export function readRecordedStray(object: unknown, annotation: string): string | undefined {
  const summary = getPath(object, ['metadata', 'annotations', annotation]);
  if (typeof summary !== 'string') return undefined;
  return RECORDED_STRAY.exec(summary)?.[1];
}
