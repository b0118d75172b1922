// What `pullfix audit` reads from the API server: the kinds of SPEC §5 and where each lives
// (version and resource name, which the engine's kind table does not need). What pullfix may
// do to each kind is the engine's table's to say (src/engine/kinds.ts), not repeated here.

import { kindTable, ruleFor } from '../engine/kinds.js';

export interface WorkloadKind {
  kind: string;
  group: string;
  version: string;
  /** The resource name in URLs and RBAC rules. */
  plural: string;
}

// In SPEC §5's order; findings are listed in this order within a namespace.
export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments' },
  { kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets' },
  { kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets' },
  { kind: 'ReplicaSet', group: 'apps', version: 'v1', plural: 'replicasets' },
  { kind: 'ReplicationController', group: '', version: 'v1', plural: 'replicationcontrollers' },
  { kind: 'Job', group: 'batch', version: 'v1', plural: 'jobs' },
  { kind: 'CronJob', group: 'batch', version: 'v1', plural: 'cronjobs' },
  { kind: 'Pod', group: '', version: 'v1', plural: 'pods' },
  { kind: 'PodTemplate', group: '', version: 'v1', plural: 'podtemplates' },
];

const ENGINE_KINDS = kindTable([]);

/**
 * Why pullfix never patches objects of this kind in the cluster, when the engine patches them
 * on CREATE only (a Pod's pull policy and a Job's template are immutable). Their findings are
 * reported for the user to act on (re-create), never patched.
 */
export function immutableReason(kind: Pick<WorkloadKind, 'group' | 'kind'>): string | undefined {
  if (ruleFor(ENGINE_KINDS, kind.group, kind.kind)?.patch.has('UPDATE') !== false) return undefined;
  return kind.kind === 'Pod' ? 'Pod is immutable: re-create it' : `${kind.kind} template is immutable: re-create the ${kind.kind}`;
}

export function apiVersionOf(kind: WorkloadKind): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}

/** `deployments.apps`, `pods`: the form RBAC rules and `kubectl auth can-i` use. */
export function resourceName(kind: Pick<WorkloadKind, 'group' | 'plural'>): string {
  return kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`;
}

/** The collection URL, cluster-wide when no namespace is given. */
export function collectionPath(kind: WorkloadKind, namespace?: string): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${base}${ns}/${kind.plural}`;
}

export function objectPath(kind: WorkloadKind, namespace: string, name: string): string {
  return `${collectionPath(kind, namespace)}/${encodeURIComponent(name)}`;
}
