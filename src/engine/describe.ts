// Words for users: admission warnings (shown by kubectl), the changes annotation and logs.
// Warnings carry names and policies only, never other object contents.

import type { ContainerChange } from './mutate.js';

export const WARNING_PREFIX = 'pullfix: ';
/** kubectl shows warnings on one line; the API server docs advise 120 characters at most. */
export const MAX_WARNING_LENGTH = 120;

/** Prefixes and bounds one warning. */
export function formatWarning(text: string): string {
  const full = WARNING_PREFIX + text;
  return full.length <= MAX_WARNING_LENGTH ? full : `${full.slice(0, MAX_WARNING_LENGTH - 3)}...`;
}

const LIST_WORDS = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
  volumes: 'image volume',
} as const;

const LIST_KEYS = {
  containers: 'containers',
  initContainers: 'initContainers',
  ephemeralContainers: 'ephemeralContainers',
  volumes: 'volumes',
} as const;

function because(change: ContainerChange): string {
  return change.reason === 'stray' ? 'moved from pod level' : `namespace policy for ${change.imageClass} images`;
}

/** One message per change, without the prefix. */
export function warningFor(changes: readonly ContainerChange[], strayRemoved: string | undefined, lead: string): string[] {
  const lines = changes.map((c) => {
    const from = c.from === undefined ? 'set to' : `${c.from} ->`;
    return `${lead}${LIST_WORDS[c.list]} ${JSON.stringify(c.name)}: imagePullPolicy ${from} ${c.to} (${because(c)})`;
  });
  if (strayRemoved) lines.push(`${lead}removed pod-level imagePullPolicy ${strayRemoved}: Kubernetes ignores it there`);
  return lines;
}

/**
 * The changes in one line, e.g. `containers[app]: IfNotPresent->Always (pod-level value);
 * removed pod-level imagePullPolicy Always`. The engine reads the removed value back on
 * reinvocation, so that clause's wording is load-bearing.
 */
export function summarise(changes: readonly ContainerChange[], strayRemoved: string | undefined): string {
  const parts = changes.map((c) => {
    const why = c.reason === 'stray' ? 'pod-level value' : `policy ${c.imageClass}`;
    return `${LIST_KEYS[c.list]}[${c.name}]: ${c.from ?? 'unset'}->${c.to} (${why})`;
  });
  if (strayRemoved) parts.push(`removed pod-level imagePullPolicy ${strayRemoved}`);
  return parts.join('; ');
}
