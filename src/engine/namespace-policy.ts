import type { CompiledConfig } from './config.js';
import { tagPatternFor, type TagPattern } from './tag-pattern.js';
import {
  IMAGE_CLASSES,
  MODES,
  PULL_POLICIES,
  type ClassPolicies,
  type ImageClass,
  type Mode,
  type NamespaceInfo,
  type PullPolicy,
} from './types.js';

export const LABEL_PREFIX = 'pullfix.dev/';
export const MODE_LABEL = 'pullfix.dev/mode';
export const MUTABLE_TAGS_ANNOTATION = 'pullfix.dev/mutable-tags';
export const IGNORE_LABEL = 'pullfix.dev/ignore';
export const CHANGES_ANNOTATION = 'pullfix.dev/changes';

/** The policy in force for one namespace: config defaults overlaid with its labels. */
export interface EffectivePolicy {
  mode: Mode;
  policies: ClassPolicies;
  mutableTags: TagPattern;
  isExempt: (image: string) => boolean;
  /** Invalid labels or annotation, each ignored (SPEC §3); shown to the user and logged. */
  problems: string[];
}

/**
 * Compiles (or refuses) a namespace's `pullfix.dev/mutable-tags` pattern ahead of its first
 * request. Patterns are compiled once per distinct value into a cache shared with the config
 * (tag-pattern.ts), bounded in size so one costs at most a few milliseconds; a namespace
 * source that calls this when it reads a Namespace leaves only a cache lookup for the request
 * path. resolveNamespacePolicy does the same on a miss.
 */
export function compileNamespacePattern(namespace: NamespaceInfo | undefined): void {
  const pattern = namespace?.annotations[MUTABLE_TAGS_ANNOTATION];
  if (pattern !== undefined) tagPatternFor(pattern);
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/**
 * Overlays a namespace's `pullfix.dev/*` labels and annotation on the config defaults.
 * Values are case-sensitive; an invalid one is ignored and reported, never fatal, because a
 * typo in one namespace's label must not change how any request is admitted.
 */
export function resolveNamespacePolicy(config: CompiledConfig, namespace?: NamespaceInfo): EffectivePolicy {
  const labels = namespace?.labels ?? {};
  const annotations = namespace?.annotations ?? {};
  const problems: string[] = [];
  const where = namespace ? `namespace ${namespace.name}` : 'namespace';

  let mode = config.mode;
  const modeLabel = labels[MODE_LABEL];
  if (modeLabel !== undefined) {
    if (isOneOf<Mode>(MODES, modeLabel)) mode = modeLabel;
    else problems.push(`${where} label ${MODE_LABEL}=${JSON.stringify(modeLabel)} is not one of ${MODES.join(', ')}; ignored`);
  }

  let policies: ClassPolicies = config.policies;
  for (const cls of IMAGE_CLASSES) {
    const value = labels[LABEL_PREFIX + cls];
    if (value === undefined) continue;
    if (isOneOf<PullPolicy>(PULL_POLICIES, value)) {
      if (policies === config.policies) policies = { ...config.policies };
      policies[cls as ImageClass] = value;
    } else {
      problems.push(`${where} label ${LABEL_PREFIX}${cls}=${JSON.stringify(value)} is not one of ${PULL_POLICIES.join(', ')}; ignored`);
    }
  }

  let mutableTags = config.mutableTagsPattern;
  const pattern = annotations[MUTABLE_TAGS_ANNOTATION];
  if (pattern !== undefined) {
    // Refused when RE2 cannot run it in linear time or it is over the size bounds (too long,
    // or too many instructions once counted repetitions are expanded): the config's applies.
    const compiled = tagPatternFor(pattern);
    if (typeof compiled === 'string') problems.push(`${where} annotation ${MUTABLE_TAGS_ANNOTATION} is ${compiled}; ignored`);
    else mutableTags = compiled;
  }

  return { mode, policies, mutableTags, isExempt: config.isExempt, problems };
}
