// Manifests as a user writes them, for each kind pullfix patches, and the reading back of
// pull policies from what the API server stored.
import { stringify } from 'yaml';

type Json = Record<string, any>;

export const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number] | 'CloneSet';

const API_VERSIONS: Record<WorkloadKind, string> = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  CloneSet: 'apps.kruise.io/v1alpha1',
};

export interface Meta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Json[];
}

/** A `kind` named `name` in `namespace` whose pods run `podSpec` (copied). */
export function workload(kind: WorkloadKind, name: string, namespace: string, podSpec: Json, meta: Meta = {}): Json {
  const spec = structuredClone(podSpec);
  const metadata = { name, namespace, ...structuredClone(meta) };
  const selector = { matchLabels: { app: name } };
  const template = { metadata: { labels: { app: name } }, spec };
  const head = { apiVersion: API_VERSIONS[kind], kind, metadata };
  switch (kind) {
    case 'Pod':
      return { ...head, spec };
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
    case 'CloneSet':
      return { ...head, spec: { ...(kind === 'DaemonSet' ? {} : { replicas: 1 }), selector, template } };
    case 'StatefulSet':
      return { ...head, spec: { replicas: 1, serviceName: name, selector, template } };
    case 'Job':
      return { ...head, spec: { template: { spec: { restartPolicy: 'Never', ...spec } } } };
    case 'CronJob':
      return { ...head, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', ...spec } } } } } };
  }
}

/** The pod spec inside a stored object of `kind`. */
export function podSpecOf(object: Json): Json {
  switch (object.kind as WorkloadKind) {
    case 'Pod':
      return object.spec;
    case 'CronJob':
      return object.spec.jobTemplate.spec.template.spec;
    default:
      return object.spec.template.spec;
  }
}

/**
 * Every pull policy in a pod spec, keyed `containers/NAME`, `initContainers/NAME`,
 * `ephemeralContainers/NAME` or `volumes/NAME` (image volumes), with `(none)` for a missing one.
 */
export function pullPolicies(podSpec: Json): Record<string, string> {
  const out: Record<string, string> = {};
  for (const list of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    for (const c of (podSpec[list] ?? []) as Json[]) out[`${list}/${c.name}`] = c.imagePullPolicy ?? '(none)';
  }
  for (const v of (podSpec.volumes ?? []) as Json[]) {
    if (v.image) out[`volumes/${v.name}`] = v.image.pullPolicy ?? '(none)';
  }
  return out;
}

/** The `pullfix.dev/changes` note, or undefined. */
export function changesNote(object: Json): string | undefined {
  return object.metadata?.annotations?.['pullfix.dev/changes'];
}

/** Objects as one multi-document YAML manifest, as a user would keep them in a file. */
export function manifest(...objects: Json[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

/** kubectl resource names for `kubectl get`. */
export function resourceOf(kind: WorkloadKind): string {
  return kind === 'CloneSet' ? 'clonesets.apps.kruise.io' : kind.toLowerCase();
}

/** A pod spec with a stray pod-level imagePullPolicy: the mistake pullfix exists for. */
export function strayPodSpec(policy: string, containers: Json[], initContainers: Json[] = []): Json {
  return { imagePullPolicy: policy, ...(initContainers.length ? { initContainers } : {}), containers };
}

/** A digest reference (the digest need not exist: nothing pulls here). */
export const DIGEST = `sha256:${'a1'.repeat(32)}`;

/**
 * A CustomResourceDefinition whose pod template is schemaless, as OpenKruise's CloneSet: the API
 * server neither drops nor defaults anything under `spec.template`, so a stray pod-level field
 * reaches the webhook in the object itself.
 */
export function schemalessTemplateCrd(group: string, version: string, kind: string, plural: string): Record<string, unknown> {
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { replicas: { type: 'integer' }, selector: open, template: open } },
                status: open,
              },
            },
          },
        },
      ],
    },
  };
}
