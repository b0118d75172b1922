// Builders for objects shaped like what the API server sends a webhook: decoded, defaulted
// (every container has imagePullPolicy), with kubectl's last-applied annotation when asked.
import type { Review } from './fixtures.js';

export interface ContainerSpec {
  name: string;
  image: string;
  /** The defaulted or explicit value in the object; omit to leave the field out (custom resources). */
  imagePullPolicy?: string;
}

export interface LastApplied {
  /** Container name → imagePullPolicy written by the user (undefined: the user wrote none). */
  containers?: Record<string, string | undefined>;
  stray?: unknown;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function defaulted(c: ContainerSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: c.name,
    image: c.image,
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
  if (c.imagePullPolicy !== undefined) out.imagePullPolicy = c.imagePullPolicy;
  return out;
}

function podSpec(containers: ContainerSpec[], init: ContainerSpec[] = []): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    containers: containers.map(defaulted),
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    securityContext: {},
    schedulerName: 'default-scheduler',
  };
  if (init.length > 0) spec.initContainers = init.map(defaulted);
  return spec;
}

function lastAppliedPodSpec(containers: ContainerSpec[], la: LastApplied): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    containers: containers.map((c) => {
      const written: Record<string, unknown> = { image: c.image, name: c.name };
      const policy = la.containers?.[c.name];
      if (policy !== undefined) written.imagePullPolicy = policy;
      return written;
    }),
  };
  if ('stray' in la) spec.imagePullPolicy = la.stray;
  return spec;
}

export interface PodOptions {
  name?: string;
  namespace?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  init?: ContainerSpec[];
  lastApplied?: LastApplied;
  labels?: Record<string, string>;
}

export function podReview(containers: ContainerSpec[], options: PodOptions = {}): Review {
  const name = options.name ?? 'app';
  const namespace = options.namespace ?? 'team-a';
  const metadata: Record<string, any> = { name, namespace, creationTimestamp: null };
  if (options.labels) metadata.labels = options.labels;
  if (options.lastApplied) {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { annotations: {}, name, namespace },
      spec: lastAppliedPodSpec(containers, options.lastApplied),
    };
    metadata.annotations = { [LAST_APPLIED]: JSON.stringify(manifest) + '\n' };
  }
  const object = { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec(containers, options.init), status: {} };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '3f1c2b9a-6d5e-4f70-8a1b-2c3d4e5f6a7b',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace,
      name,
      operation: options.operation ?? 'CREATE',
      object,
      oldObject: options.operation === 'UPDATE' ? structuredClone(object) : null,
    },
  };
}

const WORKLOAD_PATHS: Record<string, { group: string; version: string; path: string[] }> = {
  Deployment: { group: 'apps', version: 'v1', path: ['spec', 'template', 'spec'] },
  ReplicaSet: { group: 'apps', version: 'v1', path: ['spec', 'template', 'spec'] },
  StatefulSet: { group: 'apps', version: 'v1', path: ['spec', 'template', 'spec'] },
  DaemonSet: { group: 'apps', version: 'v1', path: ['spec', 'template', 'spec'] },
  ReplicationController: { group: '', version: 'v1', path: ['spec', 'template', 'spec'] },
  Job: { group: 'batch', version: 'v1', path: ['spec', 'template', 'spec'] },
  CronJob: { group: 'batch', version: 'v1', path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
  PodTemplate: { group: '', version: 'v1', path: ['template', 'spec'] },
  Pod: { group: '', version: 'v1', path: ['spec'] },
};

function nest(path: string[], leaf: Record<string, unknown>): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf);
}

export interface WorkloadOptions extends PodOptions {
  ownerReferences?: Record<string, unknown>[];
}

/** A workload of any kind in SPEC §5, with its pod spec where that kind keeps it. */
export function workloadReview(kind: string, containers: ContainerSpec[], options: WorkloadOptions = {}): Review {
  const shape = WORKLOAD_PATHS[kind];
  if (!shape) throw new Error(`no shape for ${kind}`);
  const name = options.name ?? 'web';
  const namespace = options.namespace ?? 'team-a';
  const apiVersion = shape.group ? `${shape.group}/${shape.version}` : shape.version;
  const metadata: Record<string, any> = { name, namespace, uid: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a', generation: 1 };
  if (options.labels) metadata.labels = options.labels;
  if (options.ownerReferences) metadata.ownerReferences = options.ownerReferences;
  if (options.lastApplied) {
    const manifest = { apiVersion, kind, metadata: { annotations: {}, name, namespace }, ...nest(shape.path, lastAppliedPodSpec(containers, options.lastApplied)) };
    metadata.annotations = { [LAST_APPLIED]: JSON.stringify(manifest) + '\n' };
  }
  const object = { apiVersion, kind, metadata, ...nest(shape.path, podSpec(containers, options.init)) };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918',
      kind: { group: shape.group, version: shape.version, kind },
      namespace,
      name,
      operation: options.operation ?? 'CREATE',
      object,
      oldObject: options.operation === 'UPDATE' ? structuredClone(object) : null,
    },
  };
}
