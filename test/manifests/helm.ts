// The real helm, as tools/build-helm.sh builds and caches it (PULLFIX_HELM names another).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseObjects, type KObject } from './safety.js';

// Compiled to dist/test/manifests/, so the repository root is three levels up.
export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const chartDir = path.join(root, 'charts', 'pullfix');
export const HELM_VERSION = 'v3.22.0';
/** A version inside the chart's kubeVersion range; `helm template` assumes 1.20 otherwise. */
export const KUBE_VERSION = '1.32.0';

/** The helm binary, or undefined when it is neither named, cached nor on PATH. */
export function findHelm(): string | undefined {
  const named = process.env['PULLFIX_HELM'];
  if (named) return named;
  const cache = process.env['PULLFIX_TOOLS_CACHE'] ?? path.join(homedir(), '.cache', 'pullfix-tools');
  const cached = path.join(cache, `helm-${HELM_VERSION}`, 'helm');
  if (existsSync(cached)) return cached;
  return spawnSync('helm', ['version', '--short'], { stdio: 'ignore' }).status === 0 ? 'helm' : undefined;
}

/** helm's path, or the calling suite skipped with a line saying how to get it. */
export function helmOrSkip(context: Mocha.Context): string {
  const found = findHelm();
  if (found) return found;
  console.warn('    skipped: helm not found; `bash tools/build-helm.sh` builds it (.ci/install-tools does)');
  return context.skip();
}

/** Builds helm into the cache (a few minutes the first time) and returns its path. */
export function buildHelm(): string {
  return execFileSync('bash', [path.join(root, 'tools', 'build-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export function helm(binary: string, args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(binary, args, { encoding: 'utf8', env, timeout: 120_000 });
}

/**
 * `helm template` of charts/pullfix as release `release` in `namespace`, with value flags (`--set`,
 * `--set-json`): what `helm install` creates, so without the `helm test` hooks (`--skip-tests`),
 * which exist only while `helm test` runs; renderChartTests() renders those alone.
 */
export function helmTemplate(binary: string, valueArgs: string[] = [], release = 'pullfix', namespace = 'pullfix-system'): SpawnSyncReturns<string> {
  return helm(binary, ['template', release, chartDir, '--namespace', namespace, '--kube-version', KUBE_VERSION, '--skip-tests', ...valueArgs]);
}

/** The objects of the chart's `helm test` hooks (templates/tests/), rendered as `helm test` creates them. */
export function renderChartTests(binary: string, valueArgs: string[] = []): KObject[] {
  const result = helm(binary, ['template', 'pullfix', chartDir, '--namespace', 'pullfix-system', '--kube-version', KUBE_VERSION, '--show-only', 'templates/tests/admission-check.yaml', ...valueArgs]);
  if (result.status !== 0) throw new Error(`helm template --show-only templates/tests/admission-check.yaml ${valueArgs.join(' ')}: ${result.stderr}`);
  return parseObjects(result.stdout, 'helm template (tests)');
}

/** The objects `helm template` renders; throws with helm's stderr when it fails. */
export function renderChart(binary: string, valueArgs: string[] = [], release?: string, namespace?: string): KObject[] {
  const result = helmTemplate(binary, valueArgs, release, namespace);
  if (result.status !== 0) throw new Error(`helm template ${valueArgs.join(' ')}: ${result.stderr}`);
  return parseObjects(result.stdout, `helm template ${valueArgs.join(' ')}`);
}

/** helm's stderr for values the chart must refuse; fails the test when it renders. */
export function renderChartError(binary: string, valueArgs: string[]): string {
  const result = helmTemplate(binary, valueArgs);
  if (result.status === 0) throw new Error(`helm template ${valueArgs.join(' ')} should fail`);
  return result.stderr;
}
