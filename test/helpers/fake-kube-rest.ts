// A local stand-in for the Kubernetes REST API, for `pullfix audit`: Namespaces and the
// workload kinds of SPEC §5. It answers as the API server does: lists are `<Kind>List` with
// apiVersion and metadata.resourceVersion, their items without kind and apiVersion, paged
// with `limit` and `continue`; JSON patches (application/json-patch+json only) are applied
// with RFC 6902 semantics, a failed `test` answered 422 as the API server words it,
// `dryRun=All` validated and answered but not stored; server-side apply
// (application/apply-patch+yaml) creates or replaces the object as its only field manager;
// denials are 403 with the Status RBAC gives, and `authorize()` makes every request pass RBAC
// rules as the API server's authorizer would (GET one = get, GET many = list, PATCH = patch,
// and create too when an apply creates). Objects are built as the API server stores them:
// defaulted fields, kubectl's last-applied annotation, managedFields, status.
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

const { applyPatch } = fjp;

type Json = Record<string, any>;

interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Path from the object root to its pod spec. */
  podSpec?: string[];
}

const TEMPLATE = ['spec', 'template', 'spec'];

export const RESOURCES: readonly Resource[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, podSpec: TEMPLATE },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, podSpec: TEMPLATE },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true, podSpec: TEMPLATE },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, podSpec: TEMPLATE },
  { group: '', version: 'v1', plural: 'replicationcontrollers', kind: 'ReplicationController', namespaced: true, podSpec: TEMPLATE },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true, podSpec: TEMPLATE },
  { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', namespaced: true, podSpec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, podSpec: ['spec'] },
  { group: '', version: 'v1', plural: 'podtemplates', kind: 'PodTemplate', namespaced: true, podSpec: ['template', 'spec'] },
  // What `audit --stale` reads besides pods, and the Reports it writes (a CRD's resource).
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  { group: 'openreports.io', version: 'v1alpha1', plural: 'reports', kind: 'Report', namespaced: true },
];

function resourceFor(kind: string): Resource {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`fake API: no resource for kind ${kind}`);
  return r;
}

function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const TIME = '2025-06-02T09:14:07Z';

// ---------------------------------------------------------------------------------------------
// Objects as the API server stores them

export interface LiveContainer {
  name: string;
  image: string;
  /** The value in the object; omitted: what defaulting gives the image. */
  imagePullPolicy?: string;
  /** What the user's manifest said; omitted: the manifest had no imagePullPolicy. */
  written?: string;
}

export interface LiveOptions {
  namespace: string;
  name: string;
  containers: LiveContainer[];
  initContainers?: LiveContainer[];
  /**
   * How the object got there: `client-side` (kubectl apply: last-applied annotation),
   * `server-side` (kubectl apply --server-side: an Apply managedFields entry), or `create`
   * (kubectl create / a controller: neither).
   */
  applied?: 'client-side' | 'server-side' | 'create';
  /** A pod-level imagePullPolicy in the manifest (kept only in the last-applied annotation). */
  stray?: unknown;
  labels?: Record<string, string>;
  ownerReferences?: Json[];
}

/** What the API server's defaulting gives a container with no imagePullPolicy. */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const tag = /:([\w][\w.-]{0,127})$/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1];
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultedContainer(c: LiveContainer): Json {
  return {
    name: c.name,
    image: c.image,
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: c.imagePullPolicy ?? defaultPullPolicy(c.image),
  };
}

function defaultedPodSpec(o: LiveOptions, kind: string): Json {
  const spec: Json = {
    ...(o.initContainers ? { initContainers: o.initContainers.map(defaultedContainer) } : {}),
    containers: o.containers.map(defaultedContainer),
    restartPolicy: kind === 'Job' || kind === 'CronJob' ? 'OnFailure' : 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    securityContext: {},
    schedulerName: 'default-scheduler',
  };
  if (kind === 'Pod') {
    Object.assign(spec, {
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: 'node-1',
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    });
  }
  return spec;
}

function writtenPodSpec(o: LiveOptions, kind: string): Json {
  const written = (c: LiveContainer): Json => ({ image: c.image, ...(c.written !== undefined ? { imagePullPolicy: c.written } : {}), name: c.name });
  return {
    ...(o.initContainers ? { initContainers: o.initContainers.map(written) } : {}),
    containers: o.containers.map(written),
    ...('stray' in o ? { imagePullPolicy: o.stray } : {}),
    ...(kind === 'Job' || kind === 'CronJob' ? { restartPolicy: 'OnFailure' } : {}),
  };
}

function nest(at: readonly string[], leaf: Json): Json {
  return at.reduceRight<Json>((inner, key) => ({ [key]: inner }), leaf);
}

function setIn(root: Json, at: readonly string[], value: unknown): void {
  let node = root;
  for (const key of at.slice(0, -1)) node = (node[key] ??= {});
  node[at[at.length - 1] as string] = value;
}

function templateWrapper(kind: string, labels: Record<string, string>): Json {
  // What a manifest writes around the pod spec; the pod spec itself goes in afterwards.
  switch (kind) {
    case 'Pod':
      return {};
    case 'PodTemplate':
      return { template: { metadata: { labels } } };
    case 'CronJob':
      return { spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { metadata: { labels } } } } } };
    case 'Job':
      return { spec: { template: { metadata: { labels } } } };
    case 'ReplicationController':
      return { spec: { replicas: 1, selector: labels, template: { metadata: { labels } } } };
    default:
      return { spec: { ...(kind === 'DaemonSet' ? {} : { replicas: 1 }), selector: { matchLabels: labels }, template: { metadata: { labels } } } };
  }
}

/** The server-side defaults of each kind outside the pod spec. */
function kindDefaults(kind: string, object: Json): void {
  const spec = object.spec as Json | undefined;
  switch (kind) {
    case 'Deployment':
      Object.assign(spec!, {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      });
      object.status = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
      break;
    case 'StatefulSet':
      Object.assign(spec!, {
        serviceName: object.metadata.name,
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
        revisionHistoryLimit: 10,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      });
      object.status = { observedGeneration: 1, replicas: 1, availableReplicas: 1 };
      break;
    case 'DaemonSet':
      Object.assign(spec!, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, revisionHistoryLimit: 10 });
      object.status = { currentNumberScheduled: 1, numberMisscheduled: 0, desiredNumberScheduled: 1, numberReady: 1 };
      break;
    case 'Job':
      Object.assign(spec!, { parallelism: 1, completions: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, podReplacementPolicy: 'TerminatingOrFailed' });
      object.status = { succeeded: 1 };
      break;
    case 'CronJob':
      Object.assign(spec!, { concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
      object.status = {};
      break;
    case 'Pod':
      object.status = { phase: 'Running', qosClass: 'BestEffort', startTime: TIME };
      break;
    default:
      if (kind !== 'PodTemplate') object.status = { replicas: 1, observedGeneration: 1 };
  }
}

function containerFields(list: LiveContainer[], withPolicy: boolean): Json {
  const out: Json = {};
  for (const c of list) {
    out[`k:${JSON.stringify({ name: c.name })}`] = {
      '.': {},
      'f:image': {},
      'f:name': {},
      ...(withPolicy && c.written !== undefined ? { 'f:imagePullPolicy': {} } : {}),
    };
  }
  return out;
}

function managedFields(o: LiveOptions, resource: Resource): Json[] {
  const at = (resource.podSpec ?? []).map((s) => `f:${s}`);
  const applied = o.applied ?? 'client-side';
  const fieldsOf = (withPolicy: boolean): Json =>
    nest(at, {
      'f:containers': containerFields(o.containers, withPolicy),
      ...(o.initContainers ? { 'f:initContainers': containerFields(o.initContainers, withPolicy) } : {}),
    });
  const entry = (manager: string, operation: string, fieldsV1: Json): Json => ({
    manager,
    operation,
    apiVersion: apiVersionOf(resource),
    time: TIME,
    fieldsType: 'FieldsV1',
    fieldsV1,
  });
  if (applied === 'server-side') return [entry('kubectl', 'Apply', fieldsOf(true))];
  // Client-side apply and create are recorded as an Update; the engine learns nothing from it.
  return [entry(applied === 'create' ? 'kubectl-create' : 'kubectl-client-side-apply', 'Update', fieldsOf(false))];
}

/** A live object of `kind`, as `kubectl get -o json` shows it after the API server stored it. */
export function liveObject(kind: string, o: LiveOptions): Json {
  const resource = resourceFor(kind);
  const labels = o.labels ?? { app: o.name };
  const apiVersion = apiVersionOf(resource);
  const podSpecPath = resource.podSpec ?? [];

  const manifest: Json = { apiVersion, kind, metadata: { annotations: {}, labels, name: o.name, namespace: o.namespace }, ...templateWrapper(kind, labels) };
  setIn(manifest, podSpecPath, writtenPodSpec(o, kind));

  const object: Json = {
    apiVersion,
    kind,
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels,
      ...(o.ownerReferences ? { ownerReferences: o.ownerReferences } : {}),
      ...((o.applied ?? 'client-side') === 'client-side' ? { annotations: { [LAST_APPLIED]: `${JSON.stringify(manifest)}\n` } } : {}),
      ...(kind === 'Pod' || kind === 'PodTemplate' ? {} : { generation: 1 }),
      managedFields: managedFields(o, resource),
    },
    ...structuredClone(templateWrapper(kind, labels)),
  };
  const template = kind === 'Pod' ? undefined : (podSpecPath.slice(0, -1).reduce<Json | undefined>((n, k) => n?.[k], object) as Json | undefined);
  if (template?.metadata) template.metadata.creationTimestamp = null;
  setIn(object, podSpecPath, defaultedPodSpec(o, kind));
  kindDefaults(kind, object);
  return object;
}

// ---------------------------------------------------------------------------------------------
// The server

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  authorization?: string;
  body?: unknown;
}

/** An RBAC PolicyRule, as a Role or ClusterRole carries it. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Rules bound to the user: by a RoleBinding in `namespace`, or by a ClusterRoleBinding (no namespace). */
export interface Grant {
  namespace?: string;
  rules: PolicyRule[];
}

type Verb = 'get' | 'list' | 'patch' | 'create';

interface Denial {
  verb: Verb;
  plural: string;
  /** Undefined: cluster-wide requests (and, for patch, every namespace). */
  namespace?: string;
}

function status(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

interface Route {
  resource: Resource;
  namespace?: string;
  name?: string;
}

/** `removed`: resources whose CRD is not installed; their paths are 404, as the API server answers. */
function parsePath(pathname: string, removed: ReadonlySet<string>): Route | undefined {
  const core = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(pathname);
  const grouped = /^\/apis\/([^/]+)\/([^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(pathname);
  let group = '';
  let version = 'v1';
  let namespace: string | undefined;
  let plural: string | undefined;
  let name: string | undefined;
  if (core) [, namespace, plural, name] = core;
  else if (grouped) [, group = '', version = '', namespace, plural, name] = grouped;
  else return undefined;
  if (core && namespace !== undefined && plural === undefined) return undefined;
  const resource = RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural && !removed.has(r.plural));
  if (!resource) return undefined;
  return {
    resource,
    ...(namespace !== undefined ? { namespace: decodeURIComponent(namespace) } : {}),
    ...(name !== undefined ? { name: decodeURIComponent(name) } : {}),
  };
}

export class FakeKubeRest {
  readonly requests: RecordedRequest[] = [];
  /** The user the fake RBAC names in its denials. */
  user = 'x';
  /** Called as each PATCH arrives, before it is applied: a test's chance to race it. */
  onPatch: ((kind: string, namespace: string, name: string) => void) | undefined;
  private readonly server: http.Server;
  private readonly store = new Map<string, Json[]>();
  private readonly denials: Denial[] = [];
  private readonly removed = new Set<string>();
  /** Undefined: everything not denied is allowed. */
  private grants: Grant[] | undefined;
  private rv = 4100;

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(): Promise<FakeKubeRest> {
    const api = new FakeKubeRest();
    api.server.listen(0, '127.0.0.1');
    await once(api.server, 'listening');
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig for this server with the same token, built in code (for KubeApi in-process). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'x', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'x' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Writes a kubeconfig for this server into `dir`; returns its path (for KUBECONFIG). */
  writeKubeconfig(dir: string, options: { namespace?: string; server?: string } = {}): string {
    const file = path.join(dir, 'kubeconfig');
    const context = options.namespace ? `\n    namespace: ${options.namespace}` : '';
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${options.server ?? this.url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: x',
        '  user:',
        '    token: fake-token',
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        `    user: x${context}`,
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  private nextRv(): string {
    return String(++this.rv);
  }

  addNamespace(name: string, labels: Record<string, string> = {}, annotations?: Record<string, string>): void {
    this.put(resourceFor('Namespace'), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { ...labels, 'kubernetes.io/metadata.name': name },
        ...(annotations ? { annotations } : {}),
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  /** Stores an object (from `liveObject`), giving it a uid, resourceVersion and creation time. */
  add(object: Json): Json {
    return this.put(resourceFor(object.kind), object);
  }

  private put(resource: Resource, object: Json): Json {
    const stored = structuredClone(object);
    stored.metadata.uid ??= randomUUID();
    stored.metadata.creationTimestamp ??= TIME;
    stored.metadata.resourceVersion = this.nextRv();
    const list = this.store.get(resource.plural) ?? [];
    const i = list.findIndex((o) => o.metadata.name === stored.metadata.name && o.metadata.namespace === stored.metadata.namespace);
    if (i >= 0) list[i] = stored;
    else list.push(stored);
    this.store.set(resource.plural, list);
    return stored;
  }

  /** The stored object, as it is now. */
  get(kind: string, namespace: string, name: string): Json | undefined {
    const list = this.store.get(resourceFor(kind).plural) ?? [];
    return list.find((o) => o.metadata.name === name && o.metadata.namespace === namespace);
  }

  /** Another writer's update: a new resourceVersion, nothing else changed. */
  touch(kind: string, namespace: string, name: string): void {
    const object = this.get(kind, namespace, name);
    if (!object) throw new Error(`fake API: no ${kind} ${namespace}/${name}`);
    object.metadata.resourceVersion = this.nextRv();
  }

  /** Makes RBAC deny a verb on a resource (by plural), in one namespace or cluster-wide. */
  deny(denial: Denial): void {
    this.denials.push(denial);
  }

  /** From now on, allows only what these grants allow (as RBAC does: no rule, no access). */
  authorize(grants: Grant[]): void {
    this.grants = grants;
  }

  /** As if the resource's CRD were not installed: every path of it answers 404. */
  removeResource(plural: string): void {
    this.removed.add(plural);
  }

  /** Stores an object of any kind the fake knows (Node, ServiceAccount, Secret, Report...). */
  addObject(object: Json): Json {
    return this.put(resourceFor(object.kind), object);
  }

  patches(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        ...(body !== undefined ? { body } : {}),
      };
      this.requests.push(record);
      const route = parsePath(url.pathname, this.removed);
      if (!route) return this.send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      if (record.method === 'GET' && route.name === undefined) return this.list(res, route, url.searchParams);
      if (record.method === 'GET') return this.getOne(res, route);
      if (record.method === 'PATCH' && route.name !== undefined && route.namespace !== undefined) return this.patch(res, route, record);
      return this.send(res, 405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    });
  }

  private denied(verb: Verb, route: Route): boolean {
    // The API server authorises GET /api/v1/namespaces/NAME as a request in namespace NAME.
    const namespace = route.resource.plural === 'namespaces' ? route.name : route.namespace;
    if (this.denials.some((d) => d.verb === verb && d.plural === route.resource.plural && (d.namespace === undefined || d.namespace === namespace))) return true;
    if (!this.grants) return false;
    const { group, plural } = route.resource;
    const allows = (r: PolicyRule): boolean =>
      r.apiGroups.includes(group) &&
      r.resources.includes(plural) &&
      r.verbs.includes(verb) &&
      (r.resourceNames === undefined || r.resourceNames.length === 0 || (route.name !== undefined && r.resourceNames.includes(route.name)));
    return !this.grants.some((g) => (g.namespace === undefined || g.namespace === namespace) && g.rules.some(allows));
  }

  private forbidden(res: http.ServerResponse, verb: string, route: Route): void {
    const { group, plural } = route.resource;
    const qualified = group ? `${plural}.${group}` : plural;
    const subject = route.name ? `${qualified} ${JSON.stringify(route.name)}` : qualified;
    const namespace = plural === 'namespaces' ? route.name : route.namespace;
    const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace ${JSON.stringify(namespace)}`;
    const message = `${subject} is forbidden: User ${JSON.stringify(this.user)} cannot ${verb} resource ${JSON.stringify(plural)} in API group ${JSON.stringify(group)} ${scope}`;
    this.send(res, 403, status(403, 'Forbidden', message, { ...(route.name ? { name: route.name } : {}), group, kind: plural }));
  }

  private list(res: http.ServerResponse, route: Route, params: URLSearchParams): void {
    if (this.denied('list', route)) return this.forbidden(res, 'list', route);
    const all = (this.store.get(route.resource.plural) ?? [])
      .filter((o) => route.namespace === undefined || o.metadata.namespace === route.namespace)
      .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
    const limit = Number(params.get('limit') ?? 0);
    const start = params.get('continue') ? Number(Buffer.from(params.get('continue') as string, 'base64url').toString()) : 0;
    const end = limit > 0 ? Math.min(all.length, start + limit) : all.length;
    const more = end < all.length;
    // List items carry no kind or apiVersion; the list does.
    const items = all.slice(start, end).map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    this.send(res, 200, {
      kind: `${route.resource.kind}List`,
      apiVersion: apiVersionOf(route.resource),
      metadata: {
        resourceVersion: String(this.rv),
        ...(more ? { continue: Buffer.from(String(end)).toString('base64url'), remainingItemCount: all.length - end } : {}),
      },
      items,
    });
  }

  private getOne(res: http.ServerResponse, route: Route): void {
    if (this.denied('get', route)) return this.forbidden(res, 'get', route);
    const list = this.store.get(route.resource.plural) ?? [];
    const found = list.find((o) => o.metadata.name === route.name && (o.metadata.namespace ?? undefined) === route.namespace);
    const qualified = route.resource.group ? `${route.resource.plural}.${route.resource.group}` : route.resource.plural;
    if (!found) return this.send(res, 404, status(404, 'NotFound', `${qualified} ${JSON.stringify(route.name)} not found`, { name: route.name, group: route.resource.group, kind: route.resource.plural }));
    this.send(res, 200, { apiVersion: apiVersionOf(route.resource), kind: route.resource.kind, ...structuredClone(found) });
  }

  private patch(res: http.ServerResponse, route: Route, record: RecordedRequest): void {
    if (this.denied('patch', route)) return this.forbidden(res, 'patch', route);
    this.onPatch?.(route.resource.kind, route.namespace as string, route.name as string);
    if (record.contentType === 'application/apply-patch+yaml') return this.apply(res, route, record);
    if (record.contentType !== 'application/json-patch+json') {
      return this.send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`));
    }
    const dryRun = record.query.dryRun;
    if (dryRun !== undefined && dryRun !== 'All') {
      return this.send(res, 400, status(400, 'BadRequest', `Invalid dryRun value "${dryRun}"`));
    }
    const current = this.get(route.resource.kind, route.namespace as string, route.name as string);
    const qualified = route.resource.group ? `${route.resource.plural}.${route.resource.group}` : route.resource.plural;
    if (!current) return this.send(res, 404, status(404, 'NotFound', `${qualified} ${JSON.stringify(route.name)} not found`, { name: route.name, group: route.resource.group, kind: route.resource.plural }));
    if (!Array.isArray(record.body)) return this.send(res, 400, status(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'));
    const before: Json = { apiVersion: apiVersionOf(route.resource), kind: route.resource.kind, ...structuredClone(current) };
    let patched: Json;
    try {
      patched = applyPatch(structuredClone(before), record.body as Operation[], true, true).newDocument;
    } catch (err) {
      // evanphx/json-patch's words, in the causes of a 422, as the API server answers.
      const e = err as { name?: string; operation?: Operation };
      const message =
        e.name === 'TEST_OPERATION_FAILED'
          ? `testing value ${e.operation?.path} failed: test failed`
          : `${e.operation?.op ?? 'patch'} operation does not apply: doc is missing path: "${e.operation?.path ?? ''}": missing value`;
      return this.send(
        res,
        422,
        status(422, 'Invalid', 'the server rejected our request due to an error in our request', {
          causes: [{ type: 'UnexpectedServerResponse', message }],
        }),
      );
    }
    if (dryRun === 'All') return this.send(res, 200, patched);
    if (JSON.stringify(patched.spec) !== JSON.stringify(before.spec) && typeof patched.metadata.generation === 'number') patched.metadata.generation++;
    const stored = this.put(route.resource, patched);
    this.send(res, 200, stored);
  }

  /**
   * Server-side apply with one field manager: the applied configuration becomes the object
   * (what it leaves out is removed, as when one manager owns every field). Checked as the API
   * server checks it: fieldManager required, force only `true`, the body's kind, name and
   * namespace those of the URL, the namespace existing, `create` allowed when it creates.
   */
  private apply(res: http.ServerResponse, route: Route, record: RecordedRequest): void {
    const namespace = route.namespace as string;
    const name = route.name as string;
    const bad = (message: string): void => this.send(res, 400, status(400, 'BadRequest', message));
    if (!record.query.fieldManager) return bad('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    if (record.query.force !== undefined && record.query.force !== 'true') return bad(`invalid force value ${JSON.stringify(record.query.force)}`);
    if (record.query.dryRun !== undefined && record.query.dryRun !== 'All') return bad(`Invalid dryRun value "${record.query.dryRun}"`);
    const body = (typeof record.body === 'string' ? parseYaml(record.body) : record.body) as Json | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return bad('error decoding YAML: the body is not an object');
    if (body.apiVersion !== apiVersionOf(route.resource) || body.kind !== route.resource.kind) return bad(`the kind of the body (${body.apiVersion}/${body.kind}) is not ${apiVersionOf(route.resource)}/${route.resource.kind}`);
    if (body.metadata?.name !== name) return bad('the name of the object does not match the name on the URL');
    if (body.metadata?.namespace !== undefined && body.metadata.namespace !== namespace) return bad('the namespace of the provided object does not match the namespace sent on the request');
    if (!(this.store.get('namespaces') ?? []).some((n) => n.metadata.name === namespace)) {
      return this.send(res, 404, status(404, 'NotFound', `namespaces ${JSON.stringify(namespace)} not found`, { name: namespace, kind: 'namespaces' }));
    }
    const current = this.get(route.resource.kind, namespace, name);
    if (!current && this.denied('create', route)) return this.forbidden(res, 'create', route);
    const { apiVersion: _a, kind: _k, ...rest } = structuredClone(body);
    const object: Json = {
      ...rest,
      metadata: {
        ...rest.metadata,
        namespace,
        ...(current ? { uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp } : {}),
        managedFields: [{ manager: record.query.fieldManager, operation: 'Apply', apiVersion: apiVersionOf(route.resource), time: TIME, fieldsType: 'FieldsV1', fieldsV1: {} }],
      },
    };
    if (record.query.dryRun === 'All') return this.send(res, current ? 200 : 201, { apiVersion: apiVersionOf(route.resource), kind: route.resource.kind, ...object });
    const stored = this.put(route.resource, object);
    this.send(res, current ? 200 : 201, { apiVersion: apiVersionOf(route.resource), kind: route.resource.kind, ...stored });
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
