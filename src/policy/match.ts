// Which requests the policy sees: the kinds and operations of SPEC §5, taken from the engine's
// own kind table so that the webhook and the policy cannot drift apart.

import { kindTable, type KindRule, type Operation } from '../engine/kinds.js';
import { IGNORE_LABEL, MODE_LABEL } from '../engine/namespace-policy.js';
import type { PullfixConfig } from '../engine/types.js';
import { celStringList } from './cel.js';

/** Namespaces pullfix never touches (SPEC §8). */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', 'pullfix-system'] as const;

// Admission rules name resources, the kind table names kinds: the plural of each built-in kind.
const BUILT_IN_RESOURCES: ReadonlyMap<string, string> = new Map([
  ['/Pod', 'pods'],
  ['/PodTemplate', 'podtemplates'],
  ['/ReplicationController', 'replicationcontrollers'],
  ['apps/Deployment', 'deployments'],
  ['apps/ReplicaSet', 'replicasets'],
  ['apps/StatefulSet', 'statefulsets'],
  ['apps/DaemonSet', 'daemonsets'],
  ['batch/Job', 'jobs'],
  ['batch/CronJob', 'cronjobs'],
]);

export interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: Operation[];
  resources: string[];
  scope: 'Namespaced';
}

/** One handled kind: its `group/kind` key, where its pod spec is, and when it may be patched. */
export interface HandledKind {
  key: string;
  group: string;
  kind: string;
  rule: KindRule;
  /** The plural resource name, or undefined for a configured kind (matched by group and kind). */
  resource?: string;
}

/** The kinds the policy patches under this config: the engine's table less what config turns off. */
export function handledKinds(config: PullfixConfig): HandledKind[] {
  const configured = new Set(config.podTemplates.map((t) => `${t.group}/${t.kind}`));
  const kinds: HandledKind[] = [];
  for (const [key, rule] of kindTable(config.podTemplates)) {
    // `workloads: false` leaves out workload kinds, except those the config names itself.
    if (rule.workload && !config.workloads && !configured.has(key)) continue;
    if (rule.patch.size === 0) continue;
    const slash = key.indexOf('/');
    const group = key.slice(0, slash);
    const kind = key.slice(slash + 1);
    const resource = configured.has(key) ? undefined : BUILT_IN_RESOURCES.get(key);
    if (!configured.has(key) && resource === undefined) throw new Error(`no resource name known for kind ${key}`);
    kinds.push({ key, group, kind, rule, ...(resource ? { resource } : {}) });
  }
  return kinds;
}

function sortedOps(ops: Iterable<Operation>): Operation[] {
  return [...ops].sort();
}

/** Resource rules, one per API group and set of operations, plus the ephemeral-containers subresource. */
export function resourceRules(kinds: readonly HandledKind[]): ResourceRule[] {
  const byGroupAndOps = new Map<string, ResourceRule>();
  for (const k of kinds) {
    const operations = sortedOps(k.rule.patch);
    const versions = k.resource ? ['v1'] : ['*'];
    // A configured kind's plural is not known here: match the whole group and narrow by kind
    // in a match condition.
    const resource = k.resource ?? '*';
    const id = `${k.group}|${operations.join(',')}|${versions.join(',')}`;
    const existing = byGroupAndOps.get(id);
    if (existing) {
      if (!existing.resources.includes(resource)) existing.resources.push(resource);
    } else {
      byGroupAndOps.set(id, { apiGroups: [k.group], apiVersions: versions, operations, resources: [resource], scope: 'Namespaced' });
    }
  }
  const rules = [...byGroupAndOps.values()];
  for (const r of rules) r.resources = r.resources.includes('*') ? ['*'] : r.resources.sort();
  // Ephemeral containers arrive through their own subresource, as an UPDATE of the pod.
  rules.push({ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' });
  return rules;
}

/** CEL: the request is for a handled kind with an operation that kind may be patched on. */
export function handledRequestCondition(kinds: readonly HandledKind[]): string {
  const createUpdate = kinds.filter((k) => k.rule.patch.has('UPDATE') && k.rule.patch.has('CREATE')).map((k) => k.key);
  const createOnly = kinds.filter((k) => k.rule.patch.has('CREATE') && !k.rule.patch.has('UPDATE')).map((k) => k.key);
  const updateOnly = kinds.filter((k) => k.rule.patch.has('UPDATE') && !k.rule.patch.has('CREATE')).map((k) => k.key);
  const key = `request.kind.group + '/' + request.kind.kind`;
  const parts = [`${key} in ${celStringList(createUpdate)}`];
  if (createOnly.length) parts.push(`(request.operation == 'CREATE' && ${key} in ${celStringList(createOnly)})`);
  if (updateOnly.length) parts.push(`(request.operation == 'UPDATE' && ${key} in ${celStringList(updateOnly)})`);
  return (
    `request.?subResource.orValue('') == 'ephemeralcontainers' ? (${key} == '/Pod' && request.operation == 'UPDATE')` +
    ` : request.?subResource.orValue('') == '' && (${parts.join(' || ')})`
  );
}

/** CEL: a workload whose owner is a controller is left to its owner (SPEC §5). */
export function notControllerOwnedCondition(kinds: readonly HandledKind[]): string {
  const workloads = kinds.filter((k) => k.rule.workload).map((k) => k.key);
  return (
    `!(request.kind.group + '/' + request.kind.kind in ${celStringList(workloads)})` +
    ` || !object.metadata.?ownerReferences.orValue([]).exists(r, r.?controller.orValue(false) == true)`
  );
}

export interface LabelSelector {
  matchExpressions: { key: string; operator: 'In' | 'NotIn'; values: string[] }[];
}

/** Namespaces in mode off (by label, or by config for unlabelled ones) and system namespaces are left out. */
export function namespaceSelector(config: PullfixConfig): LabelSelector {
  return {
    matchExpressions: [
      // A label value that is not a mode is ignored, so the config's mode decides for it too.
      config.mode === 'off'
        ? { key: MODE_LABEL, operator: 'In', values: ['default', 'enforce'] }
        : { key: MODE_LABEL, operator: 'NotIn', values: ['off'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES] },
    ],
  };
}

export function objectSelector(): LabelSelector {
  return { matchExpressions: [{ key: IGNORE_LABEL, operator: 'NotIn', values: ['true'] }] };
}

