// Generated namespaces and workloads for the policy's equivalence test: image references across
// the reference grammar (hosts with ports, paths, tags, digests, and references that do not
// parse), explicit and absent pull policies, and namespace labels and annotations valid or not.
// Seeded, so a failure names a case that comes back on the next run.
import fc from 'fast-check';

export type Obj = Record<string, any>;

export interface GeneratedNamespace {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface GeneratedWorkload {
  /** API group ('' for core), kind, and the plural used in the request path. */
  group: string;
  kind: string;
  resource: string;
  namespace: string;
  /** The object to create, without its namespace (the request path carries it). */
  object: Obj;
  podSpecPath: string[];
}

const HEX64 = 'a1'.repeat(32);
const HOSTS = ['', 'registry.example/', 'registry.example:5000/', 'localhost/', 'localhost:5000/', 'docker.io/', 'index.docker.io/', 'Mirror.Example/', '[::1]:5000/', 'team/'];
const PATHS = ['app', 'web/api', 'a__b/c--d', 'x.y_z', 'Upper', 'app-', 'e'.repeat(250) + '/f'];
const TAGS = ['', ':latest', ':1.0', ':main', ':dev', ':v1.2.3', ':nightly', ':release-7', ':Latest', ':-bad', ':canary'];
const DIGESTS = ['', '', '', `@sha256:${HEX64}`, '@sha256:abc', `@sha512:${'f0'.repeat(64)}`, `@md5:${'0'.repeat(32)}`];
const POLICIES = [undefined, undefined, 'Always', 'IfNotPresent', 'Never'] as const;

const image = fc.oneof(
  { weight: 20, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom(...PATHS), fc.constantFrom(...TAGS), fc.constantFrom(...DIGESTS)).map((p) => p.join('')) },
  // An image ID, which ParseNormalizedNamed refuses.
  { weight: 1, arbitrary: fc.constant(HEX64) },
);

interface Entry {
  image: string;
  pullPolicy: string | undefined;
}
const entry = fc.record({ image, pullPolicy: fc.constantFrom(...POLICIES) });

const KINDS: { group: string; kind: string; resource: string; apiVersion: string; path: string[] }[] = [
  { group: '', kind: 'Pod', resource: 'pods', apiVersion: 'v1', path: ['spec'] },
  { group: '', kind: 'PodTemplate', resource: 'podtemplates', apiVersion: 'v1', path: ['template', 'spec'] },
  { group: '', kind: 'ReplicationController', resource: 'replicationcontrollers', apiVersion: 'v1', path: ['spec', 'template', 'spec'] },
  { group: 'apps', kind: 'Deployment', resource: 'deployments', apiVersion: 'apps/v1', path: ['spec', 'template', 'spec'] },
  { group: 'apps', kind: 'ReplicaSet', resource: 'replicasets', apiVersion: 'apps/v1', path: ['spec', 'template', 'spec'] },
  { group: 'apps', kind: 'StatefulSet', resource: 'statefulsets', apiVersion: 'apps/v1', path: ['spec', 'template', 'spec'] },
  { group: 'apps', kind: 'DaemonSet', resource: 'daemonsets', apiVersion: 'apps/v1', path: ['spec', 'template', 'spec'] },
  { group: 'batch', kind: 'Job', resource: 'jobs', apiVersion: 'batch/v1', path: ['spec', 'template', 'spec'] },
  { group: 'batch', kind: 'CronJob', resource: 'cronjobs', apiVersion: 'batch/v1', path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
];

const label = (values: readonly (string | undefined)[]) => fc.constantFrom(...values);
const namespaceArb = fc.record({
  mode: label([undefined, undefined, 'default', 'enforce', 'enforce', 'off', 'Enforce']),
  mutable: label([undefined, 'Always', 'IfNotPresent', 'Never', 'always']),
  tagged: label([undefined, 'Always', 'IfNotPresent', 'Never', 'sometimes']),
  digest: label([undefined, 'Always', 'IfNotPresent', 'Never']),
  // Valid patterns, one the engine refuses (nested quantifier), and an empty one.
  tags: label([undefined, undefined, '^v\\d+(\\.\\d+)*$', 'release-.*|canary', '(n+)+ightly', '']),
});

function container(name: string, e: Entry): Obj {
  return { name, image: e.image, ...(e.pullPolicy ? { imagePullPolicy: e.pullPolicy } : {}) };
}

function podSpec(kind: string, containers: Entry[], init: Entry[], volumes: Entry[]): Obj {
  const spec: Obj = { containers: containers.map((e, i) => container(`c${i}`, e)) };
  if (init.length) spec.initContainers = init.map((e, i) => container(`i${i}`, e));
  if (volumes.length) {
    spec.volumes = volumes.map((e, i) => ({ name: `v${i}`, image: { reference: e.image, ...(e.pullPolicy ? { pullPolicy: e.pullPolicy } : {}) } }));
  }
  if (kind === 'Job' || kind === 'CronJob') spec.restartPolicy = 'Never';
  return spec;
}

function wrap(k: (typeof KINDS)[number], name: string, labels: Obj, owner: boolean, spec: Obj): Obj {
  const metadata: Obj = { name, labels };
  if (owner) metadata.ownerReferences = [{ apiVersion: 'example.com/v1', kind: 'Operator', name: 'op', uid: '00000000-0000-4000-8000-000000000001', controller: true }];
  const template = { metadata: { labels: { app: name } }, spec };
  const selector = { matchLabels: { app: name } };
  switch (k.kind) {
    case 'Pod':
      return { apiVersion: k.apiVersion, kind: k.kind, metadata, spec };
    case 'PodTemplate':
      return { apiVersion: k.apiVersion, kind: k.kind, metadata, template };
    case 'ReplicationController':
      return { apiVersion: k.apiVersion, kind: k.kind, metadata, spec: { selector: { app: name }, template } };
    case 'Job':
      return { apiVersion: k.apiVersion, kind: k.kind, metadata, spec: { template: { spec } } };
    case 'CronJob':
      return { apiVersion: k.apiVersion, kind: k.kind, metadata, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec } } } } };
    case 'StatefulSet':
      return { apiVersion: k.apiVersion, kind: k.kind, metadata, spec: { selector, serviceName: name, template } };
    default:
      return { apiVersion: k.apiVersion, kind: k.kind, metadata, spec: { selector, template } };
  }
}

export interface Generated {
  namespaces: GeneratedNamespace[];
  workloads: GeneratedWorkload[];
}

/** `count` workloads spread over `namespaceCount` namespaces named `prefix-N`. */
export function generate(seed: number, prefix: string, namespaceCount: number, count: number): Generated {
  const nsSamples = fc.sample(namespaceArb, { seed, numRuns: namespaceCount });
  const namespaces = nsSamples.map((s, i): GeneratedNamespace => {
    const labels: Record<string, string> = {};
    if (s.mode !== undefined) labels['pullfix.dev/mode'] = s.mode;
    for (const cls of ['mutable', 'tagged', 'digest'] as const) if (s[cls] !== undefined) labels[`pullfix.dev/${cls}`] = s[cls] as string;
    const annotations: Record<string, string> = s.tags === undefined ? {} : { 'pullfix.dev/mutable-tags': s.tags };
    return { name: `${prefix}-${i}`, labels, annotations };
  });
  const workloadArb = fc.record({
    kind: fc.integer({ min: 0, max: KINDS.length - 1 }),
    namespace: fc.integer({ min: 0, max: namespaceCount - 1 }),
    containers: fc.array(entry, { minLength: 1, maxLength: 3 }),
    init: fc.array(entry, { maxLength: 2 }),
    volumes: fc.array(entry, { maxLength: 1 }),
    owned: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    ignored: fc.integer({ min: 0, max: 29 }).map((n) => n === 0),
  });
  const workloads = fc.sample(workloadArb, { seed: seed + 1, numRuns: count }).map((w, i): GeneratedWorkload => {
    const k = KINDS[w.kind] as (typeof KINDS)[number];
    const labels = w.ignored ? { 'pullfix.dev/ignore': 'true' } : {};
    const object = wrap(k, `w${i}`, labels, w.owned, podSpec(k.kind, w.containers, w.init, w.volumes));
    return { group: k.group, kind: k.kind, resource: k.resource, namespace: (namespaces[w.namespace] as GeneratedNamespace).name, object, podSpecPath: k.path };
  });
  return { namespaces, workloads };
}
