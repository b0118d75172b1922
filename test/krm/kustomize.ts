// Standalone kustomize, as tools/build-kustomize.sh builds and caches it (PULLFIX_KUSTOMIZE names
// another). kubectl's embedded kustomize has no --enable-exec, so exec KRM functions need this one.
import { spawnSync } from 'node:child_process';
import { repoPath } from '../helpers/fixtures.js';

export const KUSTOMIZE_VERSION = 'v5.8.2';

export type Found = { binary: string } | { skip: string };

/**
 * The kustomize binary: PULLFIX_KUSTOMIZE, else the cached build of tools/build-kustomize.sh
 * (built first when missing: a few minutes on 2 cores). Only a missing Go is a reason to skip;
 * any other build failure is an error.
 */
export function findKustomize(): Found {
  const named = process.env['PULLFIX_KUSTOMIZE'];
  if (named) return { binary: named };
  const r = spawnSync('bash', [repoPath('tools', 'build-kustomize.sh')], {
    encoding: 'utf8',
    env: { ...process.env, PULLFIX_KUSTOMIZE_VERSION: KUSTOMIZE_VERSION },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 900_000,
  });
  if (r.status === 0) return { binary: r.stdout.trim() };
  if (r.status === 2) return { skip: `standalone kustomize cannot be built here: ${r.stderr.trim()}` };
  throw new Error(`tools/build-kustomize.sh failed (exit ${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
}
