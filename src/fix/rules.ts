// Stable identifiers for what `fix --check` finds, for machine-readable output (`-o json`,
// `-o sarif`, `-o github`): tools key on them (GitHub code scanning tracks alerts by rule id), so
// an id, once given, keeps its meaning.

import type { ContainerChange } from '../engine/mutate.js';

export type RuleId = 'PF000' | 'PF001' | 'PF002' | 'PF003' | 'PF004' | 'PF005' | 'PF006' | 'PF007';

/** SARIF's levels; `-o github` maps them to `::error`, `::warning` and `::notice`. */
export type Level = 'error' | 'warning' | 'note';

export interface Rule {
  id: RuleId;
  /** A short name, in SARIF's `name` form (PascalCase, no spaces). */
  name: string;
  /** One sentence: what is wrong. */
  description: string;
  /** What to do about it, for a rule's help text. */
  help: string;
  level: Level;
}

export const RULES: Readonly<Record<RuleId, Rule>> = {
  PF000: {
    id: 'PF000',
    name: 'OtherWarning',
    description: 'A warning pullfix gives that no other rule covers.',
    help: 'Read the message; pullfix fix prints what it would change.',
    level: 'warning',
  },
  PF001: {
    id: 'PF001',
    name: 'PodLevelPullPolicy',
    description: 'imagePullPolicy is written at pod level, where Kubernetes ignores it.',
    help: 'Move it into each container (pullfix fix --write does), or remove it.',
    level: 'error',
  },
  PF002: {
    id: 'PF002',
    name: 'PullPolicyNotInContainer',
    description: 'A container has no imagePullPolicy of its own while a pod-level one meant for it is ignored.',
    help: 'Set imagePullPolicy in the container (pullfix fix --write moves the pod-level value there).',
    level: 'error',
  },
  PF003: {
    id: 'PF003',
    name: 'ClassPolicy',
    description: "A container's imagePullPolicy differs from the class policy given (--policy, --config).",
    help: 'Set the policy the class policy names (pullfix fix --write does).',
    level: 'warning',
  },
  PF004: {
    id: 'PF004',
    name: 'PodLevelPullPolicyCase',
    description: 'A pod-level imagePullPolicy is written in another letter case (always); Kubernetes values are case-sensitive.',
    help: 'Write Always, IfNotPresent or Never in each container.',
    level: 'warning',
  },
  PF005: {
    id: 'PF005',
    name: 'PodLevelPullPolicyInvalid',
    description: 'A pod-level imagePullPolicy is not Always, IfNotPresent or Never: pullfix cannot move it.',
    help: 'Set a valid imagePullPolicy in each container by hand and remove the pod-level field.',
    level: 'error',
  },
  PF006: {
    id: 'PF006',
    name: 'ImageDoesNotParse',
    description: 'An image reference does not parse, so no class policy applies to it.',
    help: 'Fix the reference, or render the manifest first if a later step fills it in.',
    level: 'warning',
  },
  PF007: {
    id: 'PF007',
    name: 'ApiServerDefault',
    description: "A container's imagePullPolicy is set to the API server's default for its image.",
    help: 'Set the policy in the container.',
    level: 'note',
  },
};

/** The rule of a change the engine made to one container. */
export function ruleForChange(change: ContainerChange): RuleId {
  if (change.reason === 'stray') return 'PF002';
  if (change.reason === 'default') return 'PF007';
  return 'PF003';
}

/** The rule of one of the engine's notices (warnings that are not changes), from its wording. */
export function ruleForNotice(message: string): RuleId {
  if (message.startsWith('pod-level imagePullPolicy ')) {
    if (/ read as (Always|IfNotPresent|Never)$/.test(message)) return 'PF004';
    if (message.endsWith('; ignored')) return 'PF005';
  }
  // Warnings are cut at 120 characters, so the words before the image are what is matched.
  if (/^(container|init container|ephemeral container|image volume) ".*?": image "/.test(message)) return 'PF006';
  return 'PF000';
}
