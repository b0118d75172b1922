import type { Operation as PatchOperation } from 'fast-json-patch';
import { formatWarning, warningFor } from './describe.js';
import { readLastApplied, type History } from './explicit.js';
import { defaultPullPolicy } from './image-reference.js';
import { kindTable, ruleFor, type Operation } from './kinds.js';
import { CHANGES_ANNOTATION, IGNORE_LABEL, type EffectivePolicy } from './namespace-policy.js';
import { formatNote, mergeNotes, noteRecords, parseNote, type Note, type NoteEntry } from './note.js';
import { controllerOwned, getPath, isObject } from './objects.js';
import { patchFor } from './patch.js';
import { heldByName, planEntries, type ContainerChange, type Held, type Source } from './plan.js';
import { readStray } from './stray.js';
import { PARSED_STRING_BOUNDS, StringMemo } from './string-memo.js';
import type { CompiledConfig } from './config.js';
import type { ContainerList, JsonObject, PullPolicy } from './types.js';

export type { ContainerList } from './types.js';
export { decide, type ContainerChange, type Source } from './plan.js';

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
  /**
   * The changes of this request in one line (the note's format, and its bound: NOTE_LIMIT);
   * '' when none. The audit annotation and the log line carry it.
   */
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

/** Whether the object can take the note: metadata a map, annotations absent, null or a map. */
function canNote(object: JsonObject): boolean {
  const annotations = getPath(object, ['metadata', 'annotations']);
  return isObject(object.metadata) && (annotations === undefined || annotations === null || isObject(annotations));
}

function namesIn(list: unknown): Set<unknown> {
  return new Set(Array.isArray(list) ? list.map((c) => (isObject(c) ? c.name : undefined)) : []);
}

/**
 * The note to write (admission only): this request's entries, then those of the note sent with
 * the object and of the old object's note whose entries still hold the value pullfix set (so
 * rule 4 keeps knowing them on the next update, and a call on pullfix's own output, whose note
 * is the one sent, writes that same note again), then the stray value in force when pullfix
 * removed it, now or earlier. Cut at its bound, the note keeps first the entries rule 4 is
 * needed for: a value other than its image's default, which rules 6 and 7 would read as the
 * user's (note.ts says what a cut means).
 */
function nextNote(own: readonly NoteEntry[], earlier: ReadonlyArray<Note | undefined>, podSpec: JsonObject, stray: Note['strayRemoved'], sameAsOwn?: string): string {
  const held = heldByName(podSpec);
  const holding = (list: ContainerList, name: string, value: PullPolicy): Held[] => (held.get(`${list}/${name}`) ?? []).filter((h) => h.value === value);
  const entries = mergeNotes(own, earlier, (list, name, value) => holding(list, name, value).length > 0);
  const needed = (e: NoteEntry): boolean => holding(e.list, e.name, e.to).some((h) => typeof h.image !== 'string' || defaultPullPolicy(h.image) !== e.to);
  // Nothing merged from earlier notes (mergeNotes keeps `own` first, in order) and every entry
  // needed alike: `first` cannot reorder a cut, so the note is `own` formatted, which the caller
  // has already written (the request's summary) — the same text, not formatted twice.
  if (sameAsOwn !== undefined && entries.length === own.length) {
    const flags = entries.map(needed);
    if (flags.every(Boolean) || !flags.some(Boolean)) return sameAsOwn;
  }
  return formatNote({ entries, ...(stray ? { strayRemoved: stray } : {}) }, { first: needed });
}

/**
 * Applies a plan to a copy, and builds the patch from the plan (patch.ts; `compare` of the two
 * is its oracle in the tests). The copy is made on write: only the objects on the way to a
 * change (the pod spec and its ancestors, the changed container lists and containers, metadata
 * and its annotations) are copied, and everything else is shared with the original, so
 * `mutated` costs no walk of the whole object (its managed fields and last-applied annotation
 * are most of it), as it is the input itself when nothing changes.
 */
function applyPlan(
  object: JsonObject,
  podSpecPath: readonly string[],
  changes: ContainerChange[],
  removeStray: boolean,
  note: ((podSpec: JsonObject) => string) | undefined,
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
    const entry = list[change.index] as JsonObject;
    // An image volume keeps its policy under `image`; a container directly.
    list[change.index] = change.list === 'volumes'
      ? { ...entry, image: { ...(entry.image as JsonObject), pullPolicy: change.to } }
      : { ...entry, imagePullPolicy: change.to };
  }
  if (removeStray) delete podSpec.imagePullPolicy;
  let noteText: string | undefined;
  if (note && isObject(mutated.metadata)) {
    const metadata: JsonObject = { ...mutated.metadata };
    mutated.metadata = metadata;
    if (metadata.annotations === undefined || metadata.annotations === null) metadata.annotations = {};
    else if (isObject(metadata.annotations)) metadata.annotations = { ...metadata.annotations };
    if (isObject(metadata.annotations)) {
      noteText = note(podSpec);
      metadata.annotations[CHANGES_ANNOTATION] = noteText;
    }
  }
  const original = getPath(object, podSpecPath) as JsonObject;
  return { mutated, patch: patchFor(object, { podSpecPath, podSpec: original, changes, removeStray, note: noteText }) };
}

// pullfix's note comes back with every request for an object it patched (the one sent, and the
// old object's on an update): parsed once per distinct text, shared and frozen, so that its
// per-note index (noteRecords) is built once too. Notes are bounded (NOTE_LIMIT) but objects
// stored before that may carry megabytes: those are parsed each time and not kept.
const notes = new StringMemo(parseNote, PARSED_STRING_BOUNDS);

function readNote(text: unknown): Note {
  return typeof text === 'string' ? notes.get(text) : parseNote(text);
}

/** What the explicitness rules may consult, read once per request (admission only). */
function historyOf(request: MutationRequest, podSpecPath: readonly string[], ephemeral: boolean): History {
  const { object, oldObject, operation } = request;
  const lastApplied = request.source === 'admission' && !ephemeral ? readLastApplied(object) : undefined;
  const update = request.source === 'admission' && operation === 'UPDATE' && isObject(oldObject) && !ephemeral;
  return {
    podSpecPath,
    object,
    lastAppliedPodSpec: getPath(lastApplied, podSpecPath),
    hasLastApplied: lastApplied !== undefined,
    ...(update ? { oldPodSpec: getPath(oldObject, podSpecPath) ?? {}, oldNote: readNote(getPath(oldObject, ['metadata', 'annotations', CHANGES_ANNOTATION])) } : {}),
  };
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
    const history = historyOf(request, rule.podSpecPath, ephemeral);
    // The stray value pullfix removed earlier, from its own note on the object: once the field
    // is gone (from a schemaless custom resource) the note is all a reinvocation, or the next
    // update, sees of it, and every call must reach the same answer.
    const sentNote = source === 'admission' ? readNote(getPath(object, ['metadata', 'annotations', CHANGES_ANNOTATION])) : undefined;
    const recordedStray = sentNote?.strayRemoved;
    const stray = ephemeral ? undefined : readStray(podSpec, history.lastAppliedPodSpec, recordedStray);
    const plan = planEntries({
      policy,
      source,
      podSpec,
      history,
      ...(stray?.value ? { stray: stray.value } : {}),
      ephemeral,
      ...(ephemeral ? { existingEphemeral: namesIn(getPath(request.oldObject, ['spec', 'ephemeralContainers'])) } : {}),
    });
    // Through admission, the stray field goes only when the note can record its value: the
    // note is all a reinvocation would see of it (metadata or annotations of the wrong shape,
    // which the API server never sends, leave it where it is, harmless).
    const removeStray = stray?.removable === true && (source === 'manifest' || canNote(object));
    const strayRemoved = removeStray ? stray?.value : undefined;

    const warnings = [...namespaceWarnings, ...(stray?.problems ?? []).map(formatWarning), ...plan.warnings];
    // Adopted values need a note only where neither the old object's note nor the one sent
    // (pullfix's own, on a reinvocation) records them already, and only where the note has
    // room: a note already cut at its bound cannot take them, and rewriting it for them would
    // only change which entries it leaves out, call after call.
    const recorded = (note: Note | undefined, a: ContainerChange): boolean => note !== undefined && noteRecords(note, a.list, a.name, a.to);
    const adopted = patchable ? plan.adopted.filter((a) => !recorded(history.oldNote, a) && !recorded(sentNote, a)) : [];
    const noteFull = (sentNote?.omitted ?? 0) > 0;
    if (plan.changes.length === 0 && !removeStray && (adopted.length === 0 || noteFull)) {
      return { patch: [], mutated: object, changes: [], strayRemoved: false, warnings, summary: '' };
    }
    if (!patchable) {
      warnings.push(...warningFor(plan.changes, strayRemoved, `not applied on ${operation} (the field is immutable): `).map(formatWarning));
      return { patch: [], mutated: object, changes: [], strayRemoved: false, warnings, summary: '' };
    }
    warnings.push(...warningFor(plan.changes, strayRemoved, '').map(formatWarning));
    const summary = formatNote({ entries: [...plan.changes, ...adopted], ...(strayRemoved ? { strayRemoved } : {}) });
    // The note keeps what pullfix removed earlier while that value is still the one in force.
    const noteStray = strayRemoved ?? (stray?.recorded ? stray.value : undefined);
    const note = source === 'admission'
      ? (after: JsonObject): string => nextNote([...plan.changes, ...adopted], [sentNote, history.oldNote], after, noteStray, noteStray === strayRemoved ? summary : undefined)
      : undefined;
    const { mutated, patch } = applyPlan(object, rule.podSpecPath, plan.changes, removeStray, note);
    // Only the note could change, and it already says this (a reinvocation): nothing to send.
    if (patch.length === 0) return { patch, mutated: object, changes: [], strayRemoved: false, warnings, summary: '' };
    return { patch, mutated, changes: plan.changes, strayRemoved: removeStray, warnings, summary };
  }

  return { config, mutate };
}
