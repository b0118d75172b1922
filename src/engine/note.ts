// The `pullfix.dev/changes` note: what pullfix set on an object, in one line that people read
// (kubectl describe, audit logs) and that pullfix reads back on the object's next UPDATE
// (SPEC §4 rule 4: a value pullfix chose is not the user's choice).
//
// Format: entries joined by "; ", each one of
//   LIST[NAME]: FROM->TO (WHY)             pullfix set entry NAME of LIST to TO
//   removed pod-level imagePullPolicy V    pullfix removed a stray pod-level field holding V
// LIST is containers, initContainers, ephemeralContainers or volumes; NAME is written as is when
// it is a plain name ([A-Za-z0-9._-]+, which every name the API server validates is) and as a
// JSON string otherwise; FROM is the value before (`unset` when there was none), written the
// same way; WHY is
// `pod-level value`, `policy CLASS` or `default for image`.
//
// The note is bounded (NOTE_LIMIT). When its entries do not fit, some are left out and a part
//   … and N more                          N entries of this note are not written
// comes after the last entry written (before the stray clause, which is always kept: it is all
// a reinvocation sees of a stray field pullfix removed). What a cut note leaves out, rule 4 can
// no longer recognise on the next UPDATE: such a value reads as the user's unless rules 5–7 say
// otherwise. That is the safe side (pullfix keeps a value rather than overriding one a person
// may have chosen), and the entries rules 5–7 would misread (a value other than its image's
// default) are the ones written first, so that a cut costs as little recognition as it can.

import { PULL_POLICIES, type ContainerList, type ImageClass, type PullPolicy } from './types.js';

export type ChangeReason = 'stray' | 'policy' | 'default';

/** One entry of the note: an entry of a pod spec list whose policy pullfix set. */
export interface NoteEntry {
  list: ContainerList;
  name: string;
  from?: string;
  to: PullPolicy;
  reason: ChangeReason;
  imageClass?: ImageClass;
}

export interface Note {
  entries: NoteEntry[];
  /** The stray pod-level value pullfix removed from the object, when it removed one. */
  strayRemoved?: PullPolicy;
  /** How many entries a note cut at its bound left out (its `… and N more` part). */
  omitted?: number;
}

/**
 * The note's bound, in bytes (and the audit annotation's, which has the same format).
 * Kubernetes refuses an object whose annotations take more than 256 KiB together
 * (TotalAnnotationSizeLimitB, checked after admission): pullfix's note must never be what gets
 * the object it patched refused. 4 KiB holds about 60 entries and leaves the rest to the owners.
 */
export const NOTE_LIMIT = 4096;

const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;
const STRAY_CLAUSE = 'removed pod-level imagePullPolicy ';
const OMITTED = /^… and (\d+) more$/;
const ENTRY = /^(containers|initContainers|ephemeralContainers|volumes)\[("(?:[^"\\]|\\.)*"|[A-Za-z0-9._-]+)\]: ("(?:[^"\\]|\\.)*"|[A-Za-z0-9._-]+)->(Always|IfNotPresent|Never) \((pod-level value|policy (?:mutable|tagged|digest)|default for image)\)$/;

function why(entry: NoteEntry): string {
  if (entry.reason === 'stray') return 'pod-level value';
  if (entry.reason === 'default') return 'default for image';
  return `policy ${entry.imageClass}`;
}

/** A name or earlier value as is when plain, else as a JSON string (empty, spaces, quotes). */
function formatName(name: string): string {
  return PLAIN_NAME.test(name) ? name : JSON.stringify(name);
}

function parseName(raw: string): string | undefined {
  if (!raw.startsWith('"')) return raw;
  try {
    return JSON.parse(raw) as string;
  } catch {
    return undefined;
  }
}

function formatEntry(e: NoteEntry): string {
  return `${e.list}[${formatName(e.name)}]: ${e.from === undefined ? 'unset' : formatName(e.from)}->${e.to} (${why(e)})`;
}

function omittedPart(count: number): string {
  return `… and ${count} more`;
}

export interface FormatOptions {
  /** The bound in bytes; NOTE_LIMIT unless said. */
  limit?: number;
  /** Entries to write first when not all fit (the others fill what room is left). */
  first?: (entry: NoteEntry) => boolean;
}

/** The note for `note`, within its bound; '' when it records nothing. */
export function formatNote(note: Note, options: FormatOptions = {}): string {
  const limit = options.limit ?? NOTE_LIMIT;
  const parts = note.entries.map(formatEntry);
  const tail = note.strayRemoved ? [STRAY_CLAUSE + note.strayRemoved] : [];
  const earlier = note.omitted ?? 0;
  const whole = [...parts, ...(earlier > 0 ? [omittedPart(earlier)] : []), ...tail].join('; ');
  if (Buffer.byteLength(whole) <= limit) return whole;
  return cut(note.entries, parts, tail, earlier, limit, options.first);
}

/**
 * Writes the entries that fit, `first` ones before the others, each kept in its place; then how
 * many were left out, then the stray clause. Room is reserved for the largest count the marker
 * could show, so the result never passes `limit` (given a limit above the marker and the tail).
 */
function cut(entries: readonly NoteEntry[], parts: readonly string[], tail: readonly string[], earlier: number, limit: number, first?: (entry: NoteEntry) => boolean): string {
  let room = limit - Buffer.byteLength([omittedPart(parts.length + earlier), ...tail].join('; '));
  const kept = new Array<boolean>(parts.length).fill(false);
  const preferred = entries.map((e) => first?.(e) ?? false);
  const order = [...parts.keys()].filter((i) => preferred[i]).concat([...parts.keys()].filter((i) => !preferred[i]));
  for (const i of order) {
    // Each entry written costs its text and the separator after it.
    const cost = Buffer.byteLength(parts[i]!) + 2;
    if (cost > room) continue;
    kept[i] = true;
    room -= cost;
  }
  const written = parts.filter((_, i) => kept[i]);
  return [...written, omittedPart(parts.length - written.length + earlier), ...tail].join('; ');
}

function isPullPolicy(value: string): value is PullPolicy {
  return (PULL_POLICIES as readonly string[]).includes(value);
}

function parseEntry(part: string): NoteEntry | undefined {
  const m = ENTRY.exec(part);
  if (!m) return undefined;
  const [, list, rawName, rawFrom, to, reasonText] = m as unknown as [string, ContainerList, string, string, PullPolicy, string];
  const name = parseName(rawName);
  const from = parseName(rawFrom);
  if (name === undefined || from === undefined) return undefined;
  const reason: ChangeReason = reasonText === 'pod-level value' ? 'stray' : reasonText === 'default for image' ? 'default' : 'policy';
  const imageClass = (reason === 'policy' ? reasonText.slice('policy '.length) : 'tagged') as ImageClass;
  return { list, name, ...(rawFrom === 'unset' ? {} : { from }), to, reason, imageClass };
}

/**
 * Reads a note back. Parts it does not understand (a note edited by hand, or written by a
 * version of pullfix with other words) are skipped: at worst a value pullfix set reads as the
 * user's, which keeps it.
 */
export function parseNote(text: unknown): Note {
  if (typeof text !== 'string' || text === '') return { entries: [] };
  const entries: NoteEntry[] = [];
  let strayRemoved: PullPolicy | undefined;
  let omitted: number | undefined;
  // Names in JSON form may hold "; ", so split only where the next part starts as a part does.
  for (const part of text.split(/; (?=(?:containers|initContainers|ephemeralContainers|volumes)\[|removed pod-level |… and \d)/)) {
    const more = OMITTED.exec(part);
    if (more) {
      omitted = Number(more[1]);
      continue;
    }
    if (part.startsWith(STRAY_CLAUSE)) {
      const value = part.slice(STRAY_CLAUSE.length);
      if (isPullPolicy(value)) strayRemoved = value;
      continue;
    }
    const entry = parseEntry(part);
    if (entry) entries.push(entry);
  }
  return { entries, ...(strayRemoved ? { strayRemoved } : {}), ...(omitted ? { omitted } : {}) };
}

// A note is asked about every entry of a pod spec: index its entries on first use, so that a
// note written before notes were bounded (megabytes, on objects still stored) costs linear time.
const recordIndexes = new WeakMap<Note, Set<string>>();

function recordKey(list: ContainerList, name: string, value: unknown): string {
  // NUL cannot occur in a list name or a pull policy; a name holding one still gives a distinct
  // key, since list and value are fixed words. Anything but a string value (never recorded) is
  // kept apart by its JSON form.
  return typeof value === 'string' && !value.includes('\u0000') ? `${list}\u0000${value}\u0000${name}` : JSON.stringify([list, name, value]);
}

/** Whether the note says pullfix set entry `name` of `list` to `value`. */
export function noteRecords(note: Note, list: ContainerList, name: string, value: unknown): boolean {
  let index = recordIndexes.get(note);
  if (!index) {
    index = new Set(note.entries.map((e) => recordKey(e.list, e.name, e.to)));
    recordIndexes.set(note, index);
  }
  return index.has(recordKey(list, name, value));
}

/** Whether entry `name` of `list` holds `value` in the pod spec now. */
export type Holds = (list: ContainerList, name: string, value: PullPolicy) => boolean;

/**
 * This request's entries, then those of earlier notes, in the order given, whose entry still
 * holds the value pullfix set: the record of what pullfix chose lasts as long as the value does.
 * An entry already there (same list, name and value) is not repeated, so that merging a note
 * with itself, as a call on pullfix's own output does, changes nothing.
 */
export function mergeNotes(own: readonly NoteEntry[], earlier: ReadonlyArray<Note | undefined>, holds: Holds): NoteEntry[] {
  const key = (e: NoteEntry): string => recordKey(e.list, e.name, e.to);
  const merged = [...own];
  const seen = new Set(own.map(key));
  for (const note of earlier) {
    for (const entry of note?.entries ?? []) {
      if (seen.has(key(entry)) || !holds(entry.list, entry.name, entry.to)) continue;
      seen.add(key(entry));
      merged.push(entry);
    }
  }
  return merged;
}
