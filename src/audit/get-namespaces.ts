// The namespaces `audit --stale -n NS` names, read one by one (GET), not by listing them all.
// The API server authorises GET /api/v1/namespaces/NS as a request in namespace NS, so a Role
// there can grant `get` on that namespace alone: a schedule that audits a few namespaces needs
// no cluster-wide permission to read every namespace's labels.

import type { NamespaceInfo } from '../engine/types.js';
import { isObject } from '../engine/objects.js';
import { AuditError, describeFailure } from './audit-error.js';
import { KubeApiError, type KubeApi } from './kube-api.js';
import { namespaceInfo } from './run-audit.js';

export async function getNamespaces(api: KubeApi, context: string, names: readonly string[]): Promise<Map<string, NamespaceInfo>> {
  const namespaces = new Map<string, NamespaceInfo>();
  for (const name of names) {
    let item: unknown;
    try {
      item = await api.request('GET', `/api/v1/namespaces/${encodeURIComponent(name)}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) throw new AuditError(`namespace ${JSON.stringify(name)} not found`);
      throw new AuditError(describeFailure(err, { verb: 'get', resource: 'namespaces', name, context }));
    }
    const info = isObject(item) ? namespaceInfo(item) : undefined;
    if (!info) throw new AuditError(`GET /api/v1/namespaces/${name}: the API server's answer is not a Namespace`);
    namespaces.set(info.name, info);
  }
  return namespaces;
}
