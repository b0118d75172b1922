// kubectl's last-applied configuration, parsed once per distinct string. Client-side apply
// writes the manifest into the annotation, and the same string comes back on every request for
// the object until the manifest changes: a reinvocation, a re-apply of the same manifest,
// `kubectl scale`, a controller's update. Parsing it on every review was 19% of the engine's
// profile. The parsed value is shared and deeply frozen (string-memo.ts).
import { getPath, isObject } from './objects.js';
import { PARSED_STRING_BOUNDS, StringMemo } from './string-memo.js';
import type { JsonObject } from './types.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export const LAST_APPLIED_BOUNDS = PARSED_STRING_BOUNDS;

function parse(raw: string): Readonly<JsonObject> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const memo = new StringMemo(parse, LAST_APPLIED_BOUNDS);

/** The parsed annotation; undefined when absent or not a JSON object. Read-only (frozen when memoised). */
export function readLastApplied(object: unknown): Readonly<JsonObject> | undefined {
  const raw = getPath(object, ['metadata', 'annotations', LAST_APPLIED_ANNOTATION]);
  return typeof raw === 'string' ? memo.get(raw) : undefined;
}

/** What the memo holds (tests). */
export function lastAppliedMemoSize(): { entries: number; chars: number } {
  return memo.size();
}
