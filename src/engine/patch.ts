// The RFC 6902 patch of a plan, built from the plan itself (STYLE §2: the profile put
// fast-json-patch's `compare` at 14% of the engine, plus its path escaping, on the hot path).
// `compare(object, mutated)` stays the oracle: test/engine/patch.test.ts checks, over generated
// reviews, that this gives the very operations it gives, in its order. That order is compare's
// walk: at each level the original's keys last to first (so array indices descending), and a
// key the level gains after those (an add).
import type { Operation } from 'fast-json-patch';
import { CHANGES_ANNOTATION } from './namespace-policy.js';
import { isObject } from './objects.js';
import type { ContainerList, JsonObject, PullPolicy } from './types.js';

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/** One segment of a JSON pointer (RFC 6901): `~` becomes `~0` first, then `/` becomes `~1`. */
export function escapeSegment(segment: string): string {
  if (!segment.includes('~') && !segment.includes('/')) return segment;
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A JSON pointer from unescaped segments; '' is the whole document. */
export function pointer(segments: readonly string[]): string {
  let out = '';
  for (const segment of segments) out += `/${escapeSegment(segment)}`;
  return out;
}

export interface PlannedChange {
  list: ContainerList;
  index: number;
  to: PullPolicy;
}

/** What a plan changes in an object, with the values it writes. */
export interface PlannedEdits {
  /** Where the kind keeps its pod spec (unescaped segments; never empty). */
  podSpecPath: readonly string[];
  /** The pod spec as sent (an object at that path). */
  podSpec: JsonObject;
  /** One per entry, each at an index of its list that holds an object (an image volume's `image` an object too). */
  changes: readonly PlannedChange[];
  /** Whether the pod-level `imagePullPolicy` goes. */
  removeStray: boolean;
  /** The `pullfix.dev/changes` annotation to write; undefined when the object gets none. */
  note?: string | undefined;
}

/** The operation setting `key` of `holder` to `value`: a replace where the key is there, an add where not. */
function set(path: string, holder: JsonObject, key: string, value: unknown): Operation {
  return hasOwn(holder, key) ? { op: 'replace', path: `${path}/${escapeSegment(key)}`, value } : { op: 'add', path: `${path}/${escapeSegment(key)}`, value };
}

function podSpecOps(edits: PlannedEdits, out: Operation[]): void {
  const { podSpec } = edits;
  const base = pointer(edits.podSpecPath);
  const byList = new Map<string, PlannedChange[]>();
  for (const change of edits.changes) {
    const same = byList.get(change.list);
    if (same) same.push(change);
    else byList.set(change.list, [change]);
  }
  const keys = Object.keys(podSpec);
  for (let k = keys.length - 1; k >= 0; k--) {
    const key = keys[k]!;
    if (key === 'imagePullPolicy' && edits.removeStray) {
      out.push({ op: 'remove', path: `${base}/imagePullPolicy` });
      continue;
    }
    const changes = byList.get(key);
    if (!changes) continue;
    const list = podSpec[key] as unknown[];
    const listPath = `${base}/${escapeSegment(key)}`;
    for (const change of [...changes].sort((a, b) => b.index - a.index)) {
      const entry = list[change.index] as JsonObject;
      // An image volume keeps its policy under `image`; a container directly.
      if (change.list === 'volumes') out.push(set(`${listPath}/${change.index}/image`, entry.image as JsonObject, 'pullPolicy', change.to));
      else out.push(set(`${listPath}/${change.index}`, entry, 'imagePullPolicy', change.to));
    }
  }
}

function noteOps(metadata: JsonObject, note: string, out: Operation[]): void {
  const annotations = metadata.annotations;
  // No annotations yet: the whole map, as `add` to a member of a missing object fails (RFC 6902 §4.1).
  if (annotations === undefined || annotations === null) out.push(set('/metadata', metadata, 'annotations', { [CHANGES_ANNOTATION]: note }));
  else if (isObject(annotations) && annotations[CHANGES_ANNOTATION] !== note) out.push(set('/metadata/annotations', annotations, CHANGES_ANNOTATION, note));
}

/**
 * The operations that turn `object` into the plan's result: each entry's pull policy, the stray
 * field's removal, the note (only where it differs from the one sent). Empty when none is needed.
 */
export function patchFor(object: JsonObject, edits: PlannedEdits): Operation[] {
  const out: Operation[] = [];
  const head = edits.podSpecPath[0];
  const keys = Object.keys(object);
  for (let k = keys.length - 1; k >= 0; k--) {
    const key = keys[k];
    if (key === head) podSpecOps(edits, out);
    else if (key === 'metadata' && edits.note !== undefined && isObject(object.metadata)) noteOps(object.metadata, edits.note, out);
  }
  return out;
}
