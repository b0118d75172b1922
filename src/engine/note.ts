// The `pullfix.dev/changes` note: what pullfix set on an object, in one line that people read
// (kubectl describe, audit logs) and that pullfix reads back on the object's next UPDATE
// (SPEC §4 rule 4: a value pullfix chose is not the user's choice).
//
// Format: entries joined by "; ", each one of
//   LIST[NAME]: FROM->TO (WHY)             pullfix set entry NAME of LIST to TO
//   removed pod-level imagePullPolicy V    pullfix removed a stray pod-level field holding V
// LIST is containers, initContainers, ephemeralContainers or volumes; NAME is written as is when
// it is a plain name ([A-Za-z0-9._-]+, which every name the API server validates is) and as a
// JSON string otherwise; FROM is the value before (`unset` when there was none); WHY is
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
  imageClass: ImageClass;
}

export interface Note {
  entries: NoteEntry[];
  /** The stray pod-level value pullfix removed from the object, when it removed one. */
  strayRemoved?: PullPolicy;
}

const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;
const STRAY_CLAUSE = 'removed pod-level imagePullPolicy ';
const ENTRY = /^(containers|initContainers|ephemeralContainers|volumes)\[("(?:[^"\\]|\\.)*"|[A-Za-z0-9._-]+)\]: (\S+)->(Always|IfNotPresent|Never) \((pod-level value|policy (?:mutable|tagged|digest)|default for image)\)$/;

function why(entry: NoteEntry): string {
  if (entry.reason === 'stray') return 'pod-level value';
  if (entry.reason === 'default') return 'default for image';
  return `policy ${entry.imageClass}`;
}

function formatName(name: string): string {
  return PLAIN_NAME.test(name) ? name : JSON.stringify(name);
}

/** The note for `note`; '' when it records nothing. */
export function formatNote(note: Note): string {
  const parts = note.entries.map((e) => `${e.list}[${formatName(e.name)}]: ${e.from ?? 'unset'}->${e.to} (${why(e)})`);
  if (note.strayRemoved) parts.push(STRAY_CLAUSE + note.strayRemoved);
  return parts.join('; ');
}

function isPullPolicy(value: string): value is PullPolicy {
  return (PULL_POLICIES as readonly string[]).includes(value);
}

function parseEntry(part: string): NoteEntry | undefined {
  const m = ENTRY.exec(part);
  if (!m) return undefined;
  const [, list, rawName, from, to, reasonText] = m as unknown as [string, ContainerList, string, string, PullPolicy, string];
  let name = rawName;
  if (rawName.startsWith('"')) {
    try {
      name = JSON.parse(rawName) as string;
    } catch {
      return undefined;
    }
  }
  const reason: ChangeReason = reasonText === 'pod-level value' ? 'stray' : reasonText === 'default for image' ? 'default' : 'policy';
  const imageClass = (reason === 'policy' ? reasonText.slice('policy '.length) : 'tagged') as ImageClass;
  return { list, name, ...(from === 'unset' ? {} : { from }), to, reason, imageClass };
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

/** The value the note says pullfix set on entry `name` of `list`, if it says so. */
export function recordedValue(note: Note, list: ContainerList, name: string): PullPolicy | undefined {
  for (const entry of note.entries) if (entry.list === list && entry.name === name) return entry.to;
  return undefined;
}
