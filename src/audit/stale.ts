// `pullfix audit --stale` (SPEC section 10): which containers run a build other than the one
// their tag points to now. The running digest comes from each pod's status (what the node
// pulled), the current one from the registry now — never from a baseline kept from earlier.

import { parseImageReference, classifyImage } from '../engine/image-reference.js';
import type { EffectivePolicy } from '../engine/namespace-policy.js';
import { getPath, isObject } from '../engine/objects.js';
import { type Credential, Keyring } from '../registry/credentials.js';
import { type Platform, RegistryClient, RegistryError } from '../registry/client.js';
import { describeFailure } from './audit-error.js';
import type { KubeApi } from './kube-api.js';
import { listItems } from './list-objects.js';
import { judge } from './stale-compare.js';

type Json = Record<string, unknown>;

interface Located {
  namespace: string;
  /** The workload that owns the pod (Deployment for a ReplicaSet's pod), or the Pod itself. */
  kind: string;
  name: string;
  pod: string;
  container: string;
  image: string;
}

export interface StaleFinding extends Located {
  type: 'stale';
  runningDigest: string;
  currentDigest: string;
  currentPlatformDigest?: string;
  imagePullPolicy: string;
  /** Whether restarting pulls the current build: false for IfNotPresent and Never, where the policy is the cause. */
  pullsOnRestart: boolean;
}

export interface UncheckedFinding extends Located {
  type: 'unchecked';
  runningDigest?: string;
  reason: string;
}

export type StaleAuditFinding = StaleFinding | UncheckedFinding;

export interface StaleScan {
  findings: StaleAuditFinding[];
  /** Containers compared (current ones included). */
  checked: number;
  /** Containers passed over: digest-pinned, or a tag the policy counts as immutable (without --all-tags). */
  skipped: number;
  warnings: string[];
  requests: { head: number; get: number; token: number; ping: number };
}

export interface StaleOptions {
  allTags: boolean;
  insecureRegistries: string[];
  timeoutMs: number;
  /** Milliseconds for the whole run's registry work. */
  deadlineMs: number;
  /** From --registry-config: used when no pull secret matches. */
  fallbackKeyring?: Keyring;
  /** Called each time another PROGRESS_EVERY containers have been checked. */
  progress?: (checked: number) => void;
}

export const PROGRESS_EVERY = 100;

const STATUS_LISTS = [
  ['containerStatuses', 'containers'],
  ['initContainerStatuses', 'initContainers'],
  ['ephemeralContainerStatuses', 'ephemeralContainers'],
] as const;

/** The digest of an imageID: `REPO@sha256:…`, `docker-pullable://REPO@sha256:…`. */
export function runningDigestOf(imageID: string): string | undefined {
  const at = imageID.lastIndexOf('@');
  const digest = at >= 0 ? imageID.slice(at + 1) : '';
  return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Reads what the scan needs from the API server, each object once. */
class ClusterReader {
  private readonly nodes = new Map<string, Promise<Platform | undefined>>();
  private readonly secrets = new Map<string, Promise<Json | undefined>>();
  private readonly serviceAccounts = new Map<string, Promise<Json | undefined>>();
  private readonly replicaSets = new Map<string, Promise<Json | undefined>>();
  readonly warnings = new Set<string>();

  constructor(private readonly api: KubeApi, private readonly context: string) {}

  private async get(path: string, what: { resource: string; namespace?: string; name: string }): Promise<Json | undefined> {
    try {
      const got = await this.api.request('GET', path);
      return isObject(got) ? got : undefined;
    } catch (err) {
      this.warnings.add(describeFailure(err, { verb: 'list', ...what, context: this.context }).replace('get/list', 'get'));
      return undefined;
    }
  }

  platform(nodeName: string): Promise<Platform | undefined> {
    let p = this.nodes.get(nodeName);
    if (!p) {
      p = this.get(`/api/v1/nodes/${encodeURIComponent(nodeName)}`, { resource: 'nodes', name: nodeName }).then((node) => {
        const os = str(getPath(node, ['status', 'nodeInfo', 'operatingSystem']));
        const architecture = str(getPath(node, ['status', 'nodeInfo', 'architecture']));
        return os && architecture ? { os, architecture } : undefined;
      });
      this.nodes.set(nodeName, p);
    }
    return p;
  }

  private cached(map: Map<string, Promise<Json | undefined>>, path: string, resource: string, namespace: string, name: string): Promise<Json | undefined> {
    const key = `${namespace}/${name}`;
    let p = map.get(key);
    if (!p) {
      p = this.get(path, { resource, namespace, name });
      map.set(key, p);
    }
    return p;
  }

  secret(namespace: string, name: string): Promise<Json | undefined> {
    return this.cached(this.secrets, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`, 'secrets', namespace, name);
  }

  serviceAccount(namespace: string, name: string): Promise<Json | undefined> {
    return this.cached(this.serviceAccounts, `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`, 'serviceaccounts', namespace, name);
  }

  replicaSet(namespace: string, name: string): Promise<Json | undefined> {
    return this.cached(this.replicaSets, `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(name)}`, 'replicasets.apps', namespace, name);
  }

  /** The pod's credentials, as the kubelet gathers them: its imagePullSecrets, then its ServiceAccount's. */
  async keyring(pod: Json): Promise<Keyring> {
    const namespace = str(getPath(pod, ['metadata', 'namespace']));
    const names = new Set<string>();
    const add = (list: unknown): void => {
      if (Array.isArray(list)) for (const ref of list) if (isObject(ref) && typeof ref.name === 'string' && ref.name) names.add(ref.name);
    };
    add(getPath(pod, ['spec', 'imagePullSecrets']));
    const sa = str(getPath(pod, ['spec', 'serviceAccountName'])) || 'default';
    add(getPath(await this.serviceAccount(namespace, sa), ['imagePullSecrets']));
    const keyring = new Keyring();
    for (const name of names) {
      const secret = await this.secret(namespace, name);
      if (!secret) continue;
      const type = str(secret.type);
      const data = isObject(secret.data) ? secret.data : {};
      const source = `secret ${namespace}/${name}`;
      try {
        if (type === 'kubernetes.io/dockerconfigjson' && typeof data['.dockerconfigjson'] === 'string') keyring.add(JSON.parse(Buffer.from(data['.dockerconfigjson'], 'base64').toString('utf8')), source);
        else if (type === 'kubernetes.io/dockercfg' && typeof data['.dockercfg'] === 'string') keyring.add(JSON.parse(Buffer.from(data['.dockercfg'], 'base64').toString('utf8')), source, true);
      } catch {
        this.warnings.add(`${source}: not valid JSON: ignored`);
      }
    }
    return keyring;
  }

  /** The workload behind a pod: its controller, and a ReplicaSet's Deployment. */
  async owner(pod: Json): Promise<{ kind: string; name: string }> {
    const namespace = str(getPath(pod, ['metadata', 'namespace']));
    const controller = (getPath(pod, ['metadata', 'ownerReferences']) as Json[] | undefined)?.find((r) => isObject(r) && r.controller === true);
    if (!controller) return { kind: 'Pod', name: str(getPath(pod, ['metadata', 'name'])) };
    if (controller.kind === 'ReplicaSet' && str(controller.apiVersion).startsWith('apps/')) {
      const rs = await this.replicaSet(namespace, str(controller.name));
      const up = (getPath(rs, ['metadata', 'ownerReferences']) as Json[] | undefined)?.find((r) => isObject(r) && r.controller === true);
      if (up && up.kind === 'Deployment') return { kind: 'Deployment', name: str(up.name) };
    }
    return { kind: str(controller.kind), name: str(controller.name) };
  }
}

/**
 * Scans the pods of `namespaces` (each namespace's policy decides which tags are mutable) and
 * asks the registry about every distinct reference once.
 */
export async function scanStale(api: KubeApi, context: string, namespaces: readonly string[], all: boolean, policyFor: (namespace: string) => EffectivePolicy, options: StaleOptions): Promise<StaleScan> {
  const reader = new ClusterReader(api, context);
  const client = new RegistryClient({
    insecureHosts: options.insecureRegistries,
    timeoutMs: options.timeoutMs,
    deadline: Date.now() + options.deadlineMs,
    userAgent: 'pullfix-audit',
  });
  const wanted = new Set(namespaces);
  const scopes = all ? [undefined] : namespaces;
  const jobs: Array<Promise<StaleAuditFinding | 'current' | 'skipped'>> = [];
  let done = 0;
  const counted = <T>(job: Promise<T>): Promise<T> =>
    job.finally(() => {
      if (++done % PROGRESS_EVERY === 0) options.progress?.(done);
    });

  for (const namespace of scopes) {
    const path = namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
    const attempt = { verb: 'list' as const, resource: 'pods', ...(namespace !== undefined ? { namespace } : {}), context };
    for await (const pod of listItems(api, path, attempt)) {
      const ns = str(getPath(pod, ['metadata', 'namespace']));
      if (!wanted.has(ns) || getPath(pod, ['metadata', 'deletionTimestamp']) !== undefined) continue;
      for (const [statusList, specList] of STATUS_LISTS) {
        const specs = new Map<string, Json>();
        for (const c of (getPath(pod, ['spec', specList]) ?? []) as Json[]) if (isObject(c) && typeof c.name === 'string') specs.set(c.name, c);
        for (const status of (getPath(pod, ['status', statusList]) ?? []) as Json[]) {
          if (!isObject(status) || !str(status.imageID)) continue; // not started yet: nothing runs
          const spec = specs.get(str(status.name));
          if (!spec) continue;
          jobs.push(counted(checkContainer(pod, spec, status, reader, client, policyFor(ns), options)));
        }
      }
    }
  }
  const results = await Promise.all(jobs);
  const findings = results.filter((r): r is StaleAuditFinding => typeof r === 'object');
  return {
    findings: sortStale(findings),
    checked: results.filter((r) => r !== 'skipped').length,
    skipped: results.filter((r) => r === 'skipped').length,
    warnings: [...reader.warnings],
    requests: { ...client.sent },
  };
}

async function checkContainer(pod: Json, spec: Json, status: Json, reader: ClusterReader, client: RegistryClient, policy: EffectivePolicy, options: StaleOptions): Promise<StaleAuditFinding | 'current' | 'skipped'> {
  const image = str(spec.image);
  const parsed = parseImageReference(image);
  const namespace = str(getPath(pod, ['metadata', 'namespace']));
  const owner = await reader.owner(pod);
  const where: Located = { namespace, ...owner, pod: str(getPath(pod, ['metadata', 'name'])), container: str(spec.name), image };
  const running = runningDigestOf(str(status.imageID));
  if (!parsed.ok) return { type: 'unchecked', ...where, reason: `the image reference does not parse: ${parsed.error}` };
  const ref = parsed.ref;
  // A digest does not move; a tag the policy counts as immutable is checked only when asked.
  if (ref.digest !== undefined) return 'skipped';
  if (!options.allTags && classifyImage(ref, policy.mutableTags) !== 'mutable') return 'skipped';
  if (!running) return { type: 'unchecked', ...where, reason: `the runtime reported no repository digest (imageID ${JSON.stringify(str(status.imageID))})` };
  const tag = ref.tag ?? 'latest';
  const keyring = await reader.keyring(pod);
  const credential: Credential | undefined = keyring.lookup(ref.domain, ref.path)[0] ?? options.fallbackKeyring?.lookup(ref.domain, ref.path)[0];
  try {
    const resolution = await client.resolveTag(ref.domain, ref.path, tag, credential);
    const nodeName = str(getPath(pod, ['spec', 'nodeName']));
    const platform = nodeName ? await reader.platform(nodeName) : undefined;
    const verdict = await judge(running, resolution, platform, (digest) => client.manifest(ref.domain, ref.path, digest, credential));
    if (verdict.current) return 'current';
    const imagePullPolicy = str(spec.imagePullPolicy) || 'IfNotPresent';
    return {
      type: 'stale',
      ...where,
      runningDigest: running,
      currentDigest: verdict.currentDigest,
      ...(verdict.currentPlatformDigest && verdict.currentPlatformDigest !== verdict.currentDigest ? { currentPlatformDigest: verdict.currentPlatformDigest } : {}),
      imagePullPolicy,
      pullsOnRestart: imagePullPolicy === 'Always',
    };
  } catch (err) {
    const reason = err instanceof RegistryError ? `${err.reason}: ${err.message}` : `error: ${(err as Error).message}`;
    return { type: 'unchecked', ...where, runningDigest: running, reason };
  }
}

function sortStale(findings: StaleAuditFinding[]): StaleAuditFinding[] {
  const key = (f: StaleAuditFinding): string => [f.namespace, f.kind, f.name, f.pod, f.container].join('\0');
  return [...findings].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
