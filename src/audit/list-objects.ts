import { getPath, isObject } from '../engine/objects.js';
import { AuditError, describeFailure, type Attempt } from './audit-error.js';
import type { KubeApi } from './kube-api.js';

/** Items per page: large clusters are read in chunks, as kubectl does. */
export const PAGE_SIZE = 500;

/** Every item of a collection, following `continue` tokens page by page. */
export async function* listItems(api: KubeApi, path: string, attempt: Attempt): AsyncGenerator<Record<string, unknown>> {
  let token: string | undefined;
  do {
    let page: unknown;
    try {
      page = await api.request('GET', path, { query: { limit: String(PAGE_SIZE), continue: token } });
    } catch (err) {
      throw new AuditError(describeFailure(err, attempt));
    }
    if (!isObject(page) || !Array.isArray(page.items)) throw new AuditError(`GET ${path}: the API server's answer is not a list`);
    for (const item of page.items) if (isObject(item)) yield item;
    const next = getPath(page, ['metadata', 'continue']);
    token = typeof next === 'string' && next !== '' ? next : undefined;
  } while (token !== undefined);
}
