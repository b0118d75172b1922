// Deciding whether an entry's pull policy was chosen by a person (SPEC §4). Defaulting runs
// before mutating admission, so every container arrives with a value; only the user's own
// records (last-applied, server-side apply), the object's history (oldObject) and pullfix's own
// note can tell a choice from a default.

import { defaultPullPolicy } from './image-reference.js';
import { noteRecords, type Note } from './note.js';
import { getPath, isObject } from './objects.js';
import { ENTRY_FIELDS, type ContainerList, type JsonObject } from './types.js';

export { getPath, isObject } from './objects.js';

export { LAST_APPLIED_ANNOTATION, readLastApplied } from './last-applied.js';

// Each entry is looked up by name once per list in a review: index a list on first use, so a
// pod with many containers costs linear, not quadratic, time. The lists indexed here come from
// the request (oldObject, managedFields) or from parsing it (last-applied), and none of them is
// ever modified, so an index stays right for as long as its list lives.
const listIndexes = new WeakMap<readonly unknown[], Map<string, JsonObject>>();
const keyIndexes = new WeakMap<JsonObject, Map<string, JsonObject>>();

/** The first entry of `list` named `name`, through a per-list index. */
function entryNamed(list: unknown, name: string): JsonObject | undefined {
  if (!Array.isArray(list)) return undefined;
  let index = listIndexes.get(list);
  if (!index) {
    index = new Map();
    for (const item of list) if (isObject(item) && typeof item.name === 'string' && !index.has(item.name)) index.set(item.name, item);
    listIndexes.set(list, index);
  }
  return index.get(name);
}

function keyNames(listFields: JsonObject): Map<string, JsonObject> {
  // Server-side apply keys list items as `k:{"name":"app"}`; parse rather than rebuild the
  // key so that escaping in the name cannot make a match fail.
  const cached = keyIndexes.get(listFields);
  if (cached) return cached;
  const byName = new Map<string, JsonObject>();
  keyIndexes.set(listFields, byName);
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
 * Rule 2: server-side apply records which manager owns each field; an `Apply` entry owning the
 * entry's pull policy means the user's configuration sets it.
 */
export function appliedByServerSideApply(object: unknown, podSpecPath: readonly string[], list: ContainerList, name: string): boolean {
  const entries = getPath(object, ['metadata', 'managedFields']);
  if (!Array.isArray(entries)) return false;
  const listPath = [...podSpecPath, list].map((segment) => `f:${segment}`);
  const fieldPath = ENTRY_FIELDS[list].pullPolicy.map((segment) => `f:${segment}`);
  for (const entry of entries) {
    if (!isObject(entry) || entry.operation !== 'Apply') continue;
    const listFields = getPath(entry.fieldsV1, listPath);
    if (!isObject(listFields)) continue;
    const owned = keyNames(listFields).get(name);
    if (owned && getPath(owned, fieldPath) !== undefined) return true;
  }
  return false;
}

/** What the explicitness rules may look at besides the entry itself, computed once per request. */
export interface History {
  /** Where the kind keeps its pod spec. */
  podSpecPath: readonly string[];
  /** The object as sent (its managedFields). */
  object: unknown;
  /** The pod spec in the last-applied annotation; undefined when there is no annotation. */
  lastAppliedPodSpec: unknown;
  /** Whether the object carries a last-applied annotation at all (rule 5). */
  hasLastApplied: boolean;
  /** On UPDATE, the old object's pod spec (rules 3 and 6). */
  oldPodSpec?: unknown;
  /** On UPDATE, the old object's `pullfix.dev/changes` note (rule 4). */
  oldNote?: Note;
}

/** An entry's image and pull policy, wherever its kind of entry keeps them. */
export function entryField(entry: unknown, list: ContainerList, field: 'image' | 'pullPolicy'): unknown {
  return getPath(entry, ENTRY_FIELDS[list][field]);
}

/**
 * SPEC §4 rules 1–7, first match wins, for an entry arriving through admission (defaulted).
 * An entry with no value at all (a schemaless custom resource's template) has nothing to keep.
 */
export function isExplicit(history: History, list: ContainerList, name: string, entry: JsonObject, image: string): boolean {
  const current = entryField(entry, list, 'pullPolicy');
  if (typeof current !== 'string') return false;
  // 1. kubectl apply recorded the manifest verbatim: the value is written there.
  const applied = entryNamed(getPath(history.lastAppliedPodSpec, [list]), name);
  if (applied && entryField(applied, list, 'pullPolicy') !== undefined) return true;
  // 2. a server-side apply configuration sets it.
  if (appliedByServerSideApply(history.object, history.podSpecPath, list, name)) return true;
  const old = history.oldPodSpec === undefined ? undefined : entryNamed(getPath(history.oldPodSpec, [list]), name);
  const oldValue = old ? entryField(old, list, 'pullPolicy') : undefined;
  // 3. changed in this very request (kubectl patch, kubectl edit): chosen now.
  if (old && oldValue !== current) return true;
  // 4. pullfix set it earlier: its own choice, not the user's.
  if (history.oldNote && noteRecords(history.oldNote, list, name, current)) return false;
  // 5. client-side apply manages this object and its manifest leaves the field out.
  if (history.hasLastApplied) return false;
  // 6. carried over from the old object under a new image: a default for the old image is
  // not the user's choice for the new one.
  const oldImage = old ? entryField(old, list, 'image') : undefined;
  if (typeof oldImage === 'string' && oldImage !== image) return oldValue !== defaultPullPolicy(oldImage);
  // 7. what defaulting would not have given.
  return current !== defaultPullPolicy(image);
}
