import type { Operation as PatchOperation } from 'fast-json-patch';
import { describeFailure } from './audit-error.js';
import type { Finding } from './evaluate.js';
import type { KubeApi } from './kube-api.js';
import type { PatchOutcome } from './report.js';
import { objectPath, resourceName, type WorkloadKind } from './workload-kinds.js';

/**
 * `--dry-run=server` (and the bare `--dry-run`): the API server checks each write with dryRun=All
 * and stores nothing. `--dry-run=client`: the writes are computed and printed, never sent.
 */
export type DryRun = 'client' | 'server';

/** One object `--fix` patches, and the findings the patch resolves. */
export interface Patchable {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  patch: PatchOperation[];
  findings: Finding[];
}

/**
 * Sends each patch as `application/json-patch+json`, with `dryRun=All` for a server-side dry
 * run, or not at all for a client one. A failure is recorded and the next object still patched:
 * one forbidden kind must not leave the others unfixed.
 */
export async function sendPatches(api: KubeApi, items: readonly Patchable[], dryRun: DryRun | undefined, context: string): Promise<PatchOutcome[]> {
  const outcomes: PatchOutcome[] = [];
  for (const item of items) {
    const base = { namespace: item.namespace, kind: item.kind.kind, name: item.name, dryRun: dryRun !== undefined, ...(dryRun === 'client' ? { sent: false as const } : {}), patch: item.patch };
    if (dryRun === 'client') {
      outcomes.push({ ...base, outcome: 'patched' });
      continue;
    }
    try {
      await api.request('PATCH', objectPath(item.kind, item.namespace, item.name), {
        query: { dryRun: dryRun === 'server' ? 'All' : undefined },
        body: item.patch,
        contentType: 'application/json-patch+json',
      });
      outcomes.push({ ...base, outcome: 'patched' });
    } catch (err) {
      const error = describeFailure(err, { verb: 'patch', resource: resourceName(item.kind), namespace: item.namespace, name: item.name, context });
      outcomes.push({ ...base, outcome: 'failed', error });
    }
  }
  return outcomes;
}
