// Plain data shared by every layer. Nothing here imports a framework or touches I/O.

export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export const MODES = ['off', 'default', 'enforce'] as const;
export type Mode = (typeof MODES)[number];

export const IMAGE_CLASSES = ['mutable', 'tagged', 'digest'] as const;
export type ImageClass = (typeof IMAGE_CLASSES)[number];

export type ClassPolicies = Partial<Record<ImageClass, PullPolicy>>;

export const DEFAULT_MUTABLE_TAGS = '^(latest|main|master|dev|develop|edge|nightly|canary)$';

/** A configured custom kind whose objects carry a pod spec at `path` (a JSON pointer). */
export interface PodTemplateKind {
  group: string;
  kind: string;
  path: string;
}

/** The validated cluster-wide configuration (SPEC §3). */
export interface PullfixConfig {
  mode: Mode;
  policies: ClassPolicies;
  mutableTags: string;
  exemptImages: string[];
  workloads: boolean;
  podTemplates: PodTemplateKind[];
}

/** What the engine needs to know about a namespace: its labels and annotations, nothing else. */
export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export type JsonObject = { [key: string]: unknown };

/**
 * The lists of a pod spec whose entries pull an image: containers, init containers (native
 * sidecars included), ephemeral containers and image volumes (SPEC §2).
 */
export type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers' | 'volumes';

/** Where an entry keeps its image and pull policy: image volumes nest both under `image`. */
export const ENTRY_FIELDS: Readonly<Record<ContainerList, { image: readonly string[]; pullPolicy: readonly string[] }>> = {
  containers: { image: ['image'], pullPolicy: ['imagePullPolicy'] },
  initContainers: { image: ['image'], pullPolicy: ['imagePullPolicy'] },
  ephemeralContainers: { image: ['image'], pullPolicy: ['imagePullPolicy'] },
  volumes: { image: ['image', 'reference'], pullPolicy: ['image', 'pullPolicy'] },
};
