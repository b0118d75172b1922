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
}

const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;
const STRAY_CLAUSE = 'removed pod-level imagePullPolicy ';
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

/** The note for `note`; '' when it records nothing. */
export function formatNote(note: Note): string {
  const parts = note.entries.map((e) => `${e.list}[${formatName(e.name)}]: ${e.from === undefined ? 'unset' : formatName(e.from)}->${e.to} (${why(e)})`);
  if (note.strayRemoved) parts.push(STRAY_CLAUSE + note.strayRemoved);
  return parts.join('; ');
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
  // Names in JSON form may hold "; ", so split only where the next part starts as a part does.
  for (const part of text.split(/; (?=(?:containers|initContainers|ephemeralContainers|volumes)\[|removed pod-level )/)) {
    if (part.startsWith(STRAY_CLAUSE)) {
      const value = part.slice(STRAY_CLAUSE.length);
      if (isPullPolicy(value)) strayRemoved = value;
      continue;
    }
    const entry = parseEntry(part);
    if (entry) entries.push(entry);
  }
  return { entries, ...(strayRemoved ? { strayRemoved } : {}) };
}

/** Whether the note says pullfix set entry `name` of `list` to `value`. */
export function noteRecords(note: Note, list: ContainerList, name: string, value: unknown): boolean {
  return note.entries.some((entry) => entry.list === list && entry.name === name && entry.to === value);
}
