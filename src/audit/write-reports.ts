// `pullfix audit --stale -o report --write-reports`: keeps the cluster's OpenReports current.
// Each Report the audit built (one per namespace, an empty one where nothing was found, so an
// earlier run's failures are cleared) is server-side applied, field manager `pullfix`, with
// `force` since pullfix owns these objects outright: apply creates the Report the first time and
// replaces its results after that, with no read first. The API server checks `patch`, and
// `create` when the object is new, both with the Report's name, so RBAC can name it.

import { AuditError } from './audit-error.js';
import { KubeApiError, KubeUnreachableError, type KubeApi } from './kube-api.js';
import type { Report } from './policy-report.js';
import type { DryRun } from './send-patches.js';

export const FIELD_MANAGER = 'pullfix';
/** Server-side apply's content type; a JSON body is valid YAML. */
export const APPLY_PATCH = 'application/apply-patch+yaml';
/** `reports.openreports.io`: the resource, as RBAC and `kubectl auth can-i` name it. */
const RESOURCE = 'reports.openreports.io';

export interface WriteOutcome {
  namespace: string;
  name: string;
  outcome: 'applied' | 'namespace gone' | 'failed';
  dryRun: boolean;
  /** `--dry-run=client`: false, the Report was not sent. */
  sent?: false;
  /** For `failed`: what went wrong and what would fix it. */
  reason?: string;
}

export function reportPath(namespace: string, name: string): string {
  return `/apis/openreports.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/reports/${encodeURIComponent(name)}`;
}

/** The user the API server named in a 403 (`User "system:serviceaccount:ns:name" cannot ...`). */
function deniedUser(err: KubeApiError): string {
  const m = /User "([^"]+)"/.exec(err.status?.message ?? '');
  return m ? m[1] as string : 'the user of this kubeconfig context';
}

/** Failures that every other Report would meet too: reported at once, nothing more is tried. */
class StopAll extends Error {}

function describe(err: unknown, report: Report): Error {
  const { namespace, name } = report.metadata;
  const what = `cannot write Report ${name} in namespace ${namespace}`;
  if (err instanceof KubeUnreachableError) return new StopAll(`${what}: ${err.message}`);
  if (!(err instanceof KubeApiError)) return new StopAll(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  switch (err.code) {
    case 401:
      return new StopAll(`${what}: unauthorized: the API server did not accept the credentials`);
    case 403:
      return new Error(`${what}: forbidden: ${deniedUser(err)} needs create and patch on ${RESOURCE} (name ${name}) in namespace ${namespace}`);
    case 404:
      // The CRD is cluster-wide: without it no namespace can hold a Report.
      return new StopAll(`${what}: the API server has no ${RESOURCE}: install the openreports.io Report CRD (Kyverno 1.15 and later, or the openreports chart, installs it), or leave out --write-reports`);
    default:
      return new Error(`${what}: ${err.message}`);
  }
}

/**
 * Applies `reports` in order. A failure in one namespace (a missing permission there) is
 * recorded and the next namespace's Report still written: one Role missing must not leave the
 * others stale. Failures every Report would meet (no CRD, no API server, bad credentials) are
 * an AuditError at once.
 */
export async function writeReports(api: KubeApi, reports: readonly Report[], dryRunMode: DryRun | undefined): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = [];
  const dryRun = dryRunMode !== undefined;
  for (const report of reports) {
    const { namespace, name } = report.metadata;
    if (dryRunMode === 'client') {
      outcomes.push({ namespace, name, outcome: 'applied', dryRun, sent: false });
      continue;
    }
    try {
      await api.request('PATCH', reportPath(namespace, name), {
        query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: dryRunMode === 'server' ? 'All' : undefined },
        body: report,
        contentType: APPLY_PATCH,
      });
      outcomes.push({ namespace, name, outcome: 'applied', dryRun });
    } catch (err) {
      // The namespace was deleted after the audit read it: nothing left to report on.
      if (err instanceof KubeApiError && err.code === 404 && err.status?.details?.kind === 'namespaces') {
        outcomes.push({ namespace, name, outcome: 'namespace gone', dryRun });
        continue;
      }
      const failure = describe(err, report);
      if (failure instanceof StopAll) throw new AuditError(failure.message);
      outcomes.push({ namespace, name, outcome: 'failed', dryRun, reason: failure.message });
    }
  }
  return outcomes;
}
