import { UserError } from '../util/user-error.js';
import { KubeApiError, KubeUnreachableError } from './kube-api.js';

/** A failure `pullfix audit` reports alone, exiting 2: the audit could not be completed. */
export class AuditError extends UserError {
  override readonly name = 'AuditError';
}

/** What was being done when a call failed, in the words of RBAC. */
export interface Attempt {
  verb: 'list' | 'get' | 'patch';
  /** `deployments.apps`, `namespaces`. */
  resource: string;
  namespace?: string;
  name?: string;
  /** For messages about the server: the context in use. */
  context?: string;
}

function where(a: Attempt): string {
  if (a.resource === 'namespaces') return '';
  return a.namespace === undefined ? ' in all namespaces' : ` in namespace ${a.namespace}`;
}

/** A message saying what failed and what would make it work: the permission, the server. */
export function describeFailure(err: unknown, a: Attempt): string {
  if (err instanceof KubeUnreachableError) return err.message;
  if (!(err instanceof KubeApiError)) return err instanceof Error ? err.message : String(err);
  const target = a.name === undefined ? a.resource : `${a.resource} ${a.name}`;
  const serverSays = err.status?.message ? `: ${err.status.message}` : '';
  switch (err.code) {
    case 401:
      return `unauthorized: the API server did not accept the credentials of context ${JSON.stringify(a.context ?? '')}${serverSays}`;
    case 403: {
      const needs = a.verb === 'list' ? `get/list on ${a.resource}` : `${a.verb} on ${a.resource}`;
      const scope = a.namespace === undefined && a.resource !== 'namespaces' ? ', cluster-wide' : '';
      return `forbidden: cannot ${a.verb} ${target}${where(a)} (needs ${needs}${scope})`;
    }
    case 404:
      if (a.verb === 'list') return `the API server has no ${a.resource} (${err.path} not found)`;
      return a.verb === 'get' ? `${target}${where(a)} not found` : `${target}${where(a)} no longer exists`;
    case 409:
      return `conflict: ${target}${where(a)} changed since it was read; run the audit again${serverSays}`;
    case 422:
      // A failed `test` of the resourceVersion: the object changed between the list and the
      // patch. The API server puts the JSON patch library's words in the causes.
      if ((err.status?.details?.causes ?? []).some((c) => /^testing value /.test(c.message ?? ''))) return `conflict: ${target}${where(a)} changed since it was read; run the audit again`;
      return `the API server rejected the patch to ${target}${where(a)}${serverSays}`;
    default:
      return `cannot ${a.verb} ${target}${where(a)}: ${err.message}`;
  }
}
