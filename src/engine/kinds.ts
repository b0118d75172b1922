import type { PodTemplateKind } from './types.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** Where a kind keeps its pod spec and what pullfix may do to it (SPEC §5). */
export interface KindRule {
  /** Path segments from the object root to the pod spec. */
  podSpecPath: readonly string[];
  /** Operations whose object may be patched. */
  patch: ReadonlySet<Operation>;
  /** Operations that are inspected and warned about but never patched. */
  warnOnly: ReadonlySet<Operation>;
  /** Workload kinds are skipped when the config sets `workloads: false`. */
  workload: boolean;
}

const CREATE_UPDATE: ReadonlySet<Operation> = new Set(['CREATE', 'UPDATE']);
const CREATE_ONLY: ReadonlySet<Operation> = new Set(['CREATE']);
const UPDATE_ONLY: ReadonlySet<Operation> = new Set(['UPDATE']);
const NONE: ReadonlySet<Operation> = new Set();

const TEMPLATE_SPEC = ['spec', 'template', 'spec'] as const;

function workload(podSpecPath: readonly string[], patch = CREATE_UPDATE, warnOnly = NONE): KindRule {
  return { podSpecPath, patch, warnOnly, workload: true };
}

// Keyed by `group/kind`; the core group is the empty string.
const BUILT_IN = new Map<string, KindRule>([
  // A Pod's imagePullPolicy is immutable after creation: UPDATE can only be warned about.
  ['/Pod', { podSpecPath: ['spec'], patch: CREATE_ONLY, warnOnly: UPDATE_ONLY, workload: false }],
  ['/PodTemplate', workload(['template', 'spec'])],
  ['/ReplicationController', workload(TEMPLATE_SPEC)],
  ['apps/Deployment', workload(TEMPLATE_SPEC)],
  ['apps/ReplicaSet', workload(TEMPLATE_SPEC)],
  ['apps/StatefulSet', workload(TEMPLATE_SPEC)],
  ['apps/DaemonSet', workload(TEMPLATE_SPEC)],
  // A Job's spec.template is immutable: patching it on UPDATE would make the API server reject the write.
  ['batch/Job', workload(TEMPLATE_SPEC, CREATE_ONLY, UPDATE_ONLY)],
  ['batch/CronJob', workload(['spec', 'jobTemplate', 'spec', 'template', 'spec'])],
]);

/** The rule for the `pods/ephemeralcontainers` subresource: only containers a request adds. */
export const EPHEMERAL_RULE: KindRule = { podSpecPath: ['spec'], patch: UPDATE_ONLY, warnOnly: NONE, workload: false };

/** Splits a JSON pointer into unescaped segments (RFC 6901). */
export function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Builds the lookup table once per config, so a request costs one Map lookup. */
export function kindTable(podTemplates: readonly PodTemplateKind[]): Map<string, KindRule> {
  const table = new Map(BUILT_IN);
  for (const custom of podTemplates) {
    table.set(`${custom.group}/${custom.kind}`, workload(pointerSegments(custom.path)));
  }
  return table;
}

/** Finds the rule for a kind and subresource, or undefined when pullfix has nothing to do with it. */
export function ruleFor(
  table: ReadonlyMap<string, KindRule>,
  group: string,
  kind: string,
  subResource?: string,
): KindRule | undefined {
  if (subResource) {
    return group === '' && kind === 'Pod' && subResource === 'ephemeralcontainers' ? EPHEMERAL_RULE : undefined;
  }
  return table.get(`${group}/${kind}`);
}
