// What actually runs on the node: the pods of a workload, the digest each container's node
// pulled (status.containerStatuses[].imageID), and what the container printed. The node suite
// asserts on these, not on what the API server stored.
import type { TestCluster } from './cluster.js';
import { waitFor } from './processes.js';

type Json = Record<string, any>;

export interface RunningBuild {
  pod: string;
  /** `status.containerStatuses[0].imageID`, e.g. `127.0.0.1:5000/demo@sha256:…`. */
  imageID: string;
  /** The digest part of imageID: the content that runs (the repository part may name another repo). */
  digest: string;
  /** What the container printed (its first log line: `REPOSITORY build N`). */
  printed: string;
  /** The pull policy the Pod was created with. */
  imagePullPolicy: string;
}

/** The digest of an `imageID` (`REPO@sha256:…`, or a bare `sha256:…`). */
export function digestOf(imageID: string): string {
  const at = imageID.lastIndexOf('@');
  return at >= 0 ? imageID.slice(at + 1) : imageID;
}

/** Pods of `selector` in `namespace` that are not being deleted. */
export async function livePods(cluster: TestCluster, namespace: string, selector: string): Promise<Json[]> {
  const list = JSON.parse((await cluster.kubectlOk(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])).stdout) as { items: Json[] };
  return list.items.filter((pod) => !pod.metadata.deletionTimestamp);
}

/** True when every container of `pod` is running and ready. */
function running(pod: Json): boolean {
  const statuses = (pod.status?.containerStatuses ?? []) as Json[];
  return statuses.length > 0 && statuses.every((s) => s.ready === true && s.state?.running !== undefined);
}

/** Why a pod is not running yet, for the wait's error message (the kubelet's own reason). */
function waitingReason(pod: Json): string {
  const statuses = (pod.status?.containerStatuses ?? []) as Json[];
  const reasons = statuses.map((s) => s.state?.waiting ? `${s.name}: ${s.state.waiting.reason} ${s.state.waiting.message ?? ''}`.trim() : `${s.name}: ${Object.keys(s.state ?? {}).join(',')}`);
  return `${pod.metadata.name} ${pod.status?.phase ?? 'unknown'}${reasons.length ? ` (${reasons.join('; ')})` : ''}`;
}

/**
 * Waits (bounded) for exactly one live pod of `selector` whose name is not in `notNames`, with
 * every container running and ready, and no other live pod: a restart or replacement finished.
 */
export async function waitForNewRunningPod(cluster: TestCluster, namespace: string, selector: string, notNames: string[] = [], timeoutMs = 120_000): Promise<Json> {
  return waitFor(`a new running pod of ${selector} in ${namespace}`, async () => {
    const pods = await livePods(cluster, namespace, selector);
    const fresh = pods.filter((pod) => !notNames.includes(pod.metadata.name as string));
    const ready = fresh.filter(running);
    if (ready.length === 1 && pods.length === 1) return ready[0];
    throw new Error(`live pods: ${pods.map(waitingReason).join(', ') || 'none'}`);
  }, { timeoutMs, intervalMs: 500 });
}

/** Waits (bounded) until `count` live pods of `selector` are Running with every container ready; returns them. */
export async function waitForRunningPods(cluster: TestCluster, namespace: string, selector: string, count: number, timeoutMs = 120_000): Promise<Json[]> {
  return waitFor(`${count} running pods of ${selector} in ${namespace}`, async () => {
    const pods = await livePods(cluster, namespace, selector);
    const ready = pods.filter((pod) => running(pod) && pod.status?.phase === 'Running');
    if (ready.length === count) return ready;
    throw new Error(`live pods: ${pods.map(waitingReason).join(', ') || 'none'}`);
  }, { timeoutMs, intervalMs: 500 });
}

/** What `pod` runs: its first container's digest and printed build. */
export async function observe(cluster: TestCluster, namespace: string, pod: Json): Promise<RunningBuild> {
  const name = pod.metadata.name as string;
  const status = (pod.status.containerStatuses as Json[])[0] as Json;
  // The container prints its build first thing; wait (bounded) until the kubelet has it in the log.
  const printed = await waitFor(`the log of ${name}`, async () => {
    const line = (await cluster.kubectlOk(['logs', name, '-n', namespace])).stdout.split('\n')[0]?.trim();
    return line ? line : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250 });
  return {
    pod: name,
    imageID: status.imageID as string,
    digest: digestOf(status.imageID as string),
    printed,
    imagePullPolicy: (pod.spec.containers as Json[])[0]?.imagePullPolicy as string,
  };
}

/** `kubectl rollout restart` and wait for its one new pod; returns what that pod runs. */
export async function restartAndObserve(cluster: TestCluster, namespace: string, resource: string, selector: string): Promise<RunningBuild> {
  const before = (await livePods(cluster, namespace, selector)).map((p) => p.metadata.name as string);
  await cluster.kubectlOk(['rollout', 'restart', resource, '-n', namespace]);
  await cluster.kubectlOk(['rollout', 'status', resource, '-n', namespace, '--timeout=120s'], { timeoutMs: 130_000 });
  return observe(cluster, namespace, await waitForNewRunningPod(cluster, namespace, selector, before));
}
