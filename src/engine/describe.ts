// Words for users: admission warnings (shown by kubectl), the changes note and logs.
// Warnings carry names and policies only, never other object contents.

import type { NoteEntry } from './note.js';
import type { ContainerList } from './types.js';

export const WARNING_PREFIX = 'pullfix: ';
/** kubectl shows warnings on one line; the API server docs advise 120 characters at most. */
export const MAX_WARNING_LENGTH = 120;

/** Prefixes and bounds one warning. */
export function formatWarning(text: string): string {
  const full = WARNING_PREFIX + text;
  return full.length <= MAX_WARNING_LENGTH ? full : `${full.slice(0, MAX_WARNING_LENGTH - 3)}...`;
}

/** The longest object name Kubernetes accepts (a DNS subdomain). */
export const MAX_NAME_LENGTH = 253;

/**
 * A name from the request, cut for a log line. The API server validates names after mutating
 * admission, so a webhook may see any length; a log line must not grow with it.
 */
export function clipName(name: string): string {
  return name.length <= MAX_NAME_LENGTH ? name : `${name.slice(0, MAX_NAME_LENGTH)}…`;
}

/** How a message names an entry of each list. */
export const ENTRY_WORDS: Readonly<Record<ContainerList, string>> = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
  volumes: 'image volume',
};

/** What a change message needs to know: a note entry's fields (ContainerChange has them all). */
export type Described = NoteEntry;

/** Why a value was set, for people; `policySource` names where class policies come from. */
export function because(change: Pick<Described, 'reason' | 'imageClass'>, policySource = 'namespace policy'): string {
  if (change.reason === 'stray') return 'moved from pod level';
  if (change.reason === 'default') return "the API server's default for this image";
  return `${policySource} for ${change.imageClass} images`;
}

/** One message per change, without the prefix. */
export function warningFor(changes: readonly Described[], strayRemoved: string | undefined, lead: string): string[] {
  const lines = changes.map((c) => {
    const from = c.from === undefined ? 'set to' : `${c.from} ->`;
    const field = c.list === 'volumes' ? 'pullPolicy' : 'imagePullPolicy';
    return `${lead}${ENTRY_WORDS[c.list]} ${JSON.stringify(c.name)}: ${field} ${from} ${c.to} (${because(c)})`;
  });
  if (strayRemoved) lines.push(`${lead}removed pod-level imagePullPolicy ${strayRemoved}: Kubernetes ignores it there`);
  return lines;
}
