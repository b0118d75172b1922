// `pullfix audit --stale --fix`: restart each workload that has a stale pod, the way
// `kubectl rollout restart` does (the `kubectl.kubernetes.io/restartedAt` annotation of its pod
// template), setting `Always` first on the template's containers whose policy would not pull,
// so the restart really fetches the current build. Bare Pods, Jobs and objects of kinds whose
// controller pullfix does not know are never restarted: they are reported.

import type { Operation as PatchOperation } from 'fast-json-patch';
import { getPath, isObject } from '../engine/objects.js';
import { describeFailure } from './audit-error.js';
import type { DryRun } from './send-patches.js';
import type { KubeApi } from './kube-api.js';
import type { StaleFinding } from './stale.js';
import { WORKLOAD_KINDS, objectPath, resourceName, type WorkloadKind } from './workload-kinds.js';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** The kinds `kubectl rollout restart` restarts. */
const RESTARTABLE = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export interface RestartOutcome {
  namespace: string;
  kind: string;
  name: string;
  outcome: 'restarted' | 'failed' | 'not restarted';
  dryRun: boolean;
  /** `--dry-run=client`: false, the restart was computed and not sent. */
  sent?: false;
  /** Containers set to Always before the restart. */
  setAlways: string[];
  /** Why not, for `not restarted` and `failed`. */
  reason?: string;
  patch?: PatchOperation[];
}

const LISTS = ['containers', 'initContainers'] as const;

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The JSON patch that restarts `object` and sets Always on `names` (those whose template policy would not pull). */
export function restartPatch(object: Record<string, unknown>, names: ReadonlySet<string>, now: Date): { patch: PatchOperation[]; setAlways: string[] } {
  const patch: PatchOperation[] = [];
  const rv = getPath(object, ['metadata', 'resourceVersion']);
  // Guarded by the resourceVersion read: the operations address containers by index.
  if (typeof rv === 'string') patch.push({ op: 'test', path: '/metadata/resourceVersion', value: rv });
  const setAlways: string[] = [];
  for (const list of LISTS) {
    const containers = getPath(object, ['spec', 'template', 'spec', list]);
    if (!Array.isArray(containers)) continue;
    containers.forEach((c, i) => {
      if (!isObject(c) || typeof c.name !== 'string' || !names.has(c.name)) return;
      if (c.imagePullPolicy === 'Always') return;
      patch.push({ op: c.imagePullPolicy === undefined ? 'add' : 'replace', path: `/spec/template/spec/${list}/${i}/imagePullPolicy`, value: 'Always' });
      setAlways.push(c.name);
    });
  }
  const metadata = getPath(object, ['spec', 'template', 'metadata']);
  if (!isObject(metadata)) patch.push({ op: 'add', path: '/spec/template/metadata', value: {} });
  if (!isObject(metadata) || !isObject(metadata.annotations)) patch.push({ op: 'add', path: '/spec/template/metadata/annotations', value: {} });
  patch.push({ op: 'add', path: `/spec/template/metadata/annotations/${escape(RESTARTED_AT)}`, value: now.toISOString().replace(/\.\d{3}Z$/, 'Z') });
  return { patch, setAlways };
}

/** One restart per workload with stale findings; the reasons for those it leaves. */
export async function restartStale(api: KubeApi, stale: readonly StaleFinding[], dryRun: DryRun | undefined, context: string, now = new Date()): Promise<RestartOutcome[]> {
  const groups = new Map<string, StaleFinding[]>();
  for (const f of stale) {
    const key = `${f.namespace}\0${f.kind}\0${f.name}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const outcomes: RestartOutcome[] = [];
  for (const findings of groups.values()) {
    const { namespace, kind: kindName, name } = findings[0] as StaleFinding;
    const base = { namespace, kind: kindName, name, dryRun: dryRun !== undefined, ...(dryRun === 'client' ? { sent: false as const } : {}), setAlways: [] as string[] };
    const kind = WORKLOAD_KINDS.find((k) => k.kind === kindName) as WorkloadKind | undefined;
    if (!kind || !RESTARTABLE.has(kindName)) {
      const reason = kindName === 'Pod'
        ? 'a bare Pod: nothing would re-create it; delete and re-create it yourself'
        : kindName === 'Job' ? 'a Job: restarting it would run it again; re-create it if that is what you want'
        : `${kindName} is not a kind pullfix restarts (kubectl rollout restart restarts Deployments, StatefulSets and DaemonSets)`;
      outcomes.push({ ...base, outcome: 'not restarted', reason });
      continue;
    }
    const attempt = { resource: resourceName(kind), namespace, name, context };
    try {
      const object = await api.request('GET', objectPath(kind, namespace, name));
      if (!isObject(object)) throw new Error('the API server did not answer with an object');
      const wouldNotPull = new Set(findings.filter((f) => !f.pullsOnRestart).map((f) => f.container));
      const { patch, setAlways } = restartPatch(object, wouldNotPull, now);
      // A client dry run reads the object (the patch depends on it) and sends nothing.
      if (dryRun !== 'client') {
        await api.request('PATCH', objectPath(kind, namespace, name), { query: { dryRun: dryRun === 'server' ? 'All' : undefined }, body: patch, contentType: 'application/json-patch+json' });
      }
      outcomes.push({ ...base, outcome: 'restarted', setAlways, patch });
    } catch (err) {
      outcomes.push({ ...base, outcome: 'failed', reason: describeFailure(err, { verb: 'patch', ...attempt }) });
    }
  }
  return outcomes;
}
