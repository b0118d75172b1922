// What the benchmark processes share: the review shapes, the server flags and small helpers.
// Nothing here starts a process or opens a socket.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (bench files run compiled from dist/bench/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function repoPath(...segments: string[]): string {
  return path.join(REPO_ROOT, ...segments);
}

export interface Shape {
  /** Short key used in results.json and the table. */
  key: string;
  label: string;
  /** A recorded AdmissionReview in test/fixtures/reviews. */
  fixture: string;
  /** Whether pullfix answers it with a patch (checked before any load is sent). */
  patched: boolean;
}

export const SHAPES: readonly Shape[] = [
  { key: 'pod-1', label: 'Pod, 1 container', fixture: 'pod-one-container.json', patched: true },
  { key: 'deploy-3-stray', label: 'Deployment, 3 containers, stray field (patched)', fixture: 'deployment-kubectl-apply-stray.json', patched: true },
  { key: 'pod-50', label: 'Pod, 50 containers', fixture: 'pod-50-containers.json', patched: true },
  { key: 'configmap', label: 'ConfigMap (no-op)', fixture: 'configmap.json', patched: false },
];

export function fixturePath(shape: Shape): string {
  return repoPath('test', 'fixtures', 'reviews', shape.fixture);
}

/** Keep-alive settings every server under test uses (pullfix's own, see src/server/server.ts). */
export const KEEP_ALIVE_TIMEOUT_MS = 95_000;
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const BODY_LIMIT = 7 * 1024 * 1024;

/** `--name value` pairs from argv. */
export function flags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg?.startsWith('--')) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) out.set(arg.slice(2), 'true');
      else {
        out.set(arg.slice(2), value);
        i++;
      }
    }
  }
  return out;
}

export function required(f: Map<string, string>, name: string): string {
  const value = f.get(name);
  if (value === undefined) throw new Error(`missing --${name}`);
  return value;
}

/** The allowed-and-unchanged answer the bare servers give: the floor pullfix is compared with. */
export function allowedResponse(body: unknown): object {
  const review = body as { apiVersion?: unknown; request?: { uid?: unknown } } | null;
  return { apiVersion: review?.apiVersion, kind: 'AdmissionReview', response: { uid: review?.request?.uid, allowed: true } };
}

/** Exact percentile (nearest rank) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * A namespaces file as `kubectl get ns -o yaml` prints it: the example namespaces followed by
 * `count` generated ones, every third in enforce mode, each with pullfix labels and a
 * mutable-tags annotation, so that lookups and policy resolution see realistic entries.
 */
export function namespacesYaml(exampleYaml: string, count: number): string {
  const out = [exampleYaml.trimEnd()];
  for (let i = 0; i < count; i++) {
    out.push(
      [
        '- apiVersion: v1',
        '  kind: Namespace',
        '  metadata:',
        `    name: team-${i}`,
        '    labels:',
        `      kubernetes.io/metadata.name: team-${i}`,
        `      pullfix.dev/mode: ${i % 3 === 0 ? 'enforce' : 'default'}`,
        '      pullfix.dev/mutable: Always',
        '    annotations:',
        `      pullfix.dev/mutable-tags: '^(latest|dev|pr-[0-9]+)$'`,
        '  spec:',
        '    finalizers: [kubernetes]',
        '  status:',
        '    phase: Active',
      ].join('\n'),
    );
  }
  return `${out.join('\n')}\n`;
}

export const NAMESPACE_COUNT = 10_000;
