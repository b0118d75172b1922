// `pullfix audit --stale`: scan, print, and with --fix restart what is stale. Exit codes as
// audit (SPEC section 10): 0 nothing stale, 1 findings (stale or unchecked), 2 errors; with
// --fix, 0 when every stale finding was resolved by a restart it made. With -o report
// --write-reports it also applies the Reports it printed, so a schedule keeps them current.

import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { loadConfigFile } from '../config/load-config.js';
import { compileConfig, type CompiledConfig } from '../engine/config.js';
import { resolveNamespacePolicy, type EffectivePolicy } from '../engine/namespace-policy.js';
import { Keyring } from '../registry/credentials.js';
import { AuditError } from './audit-error.js';
import { getNamespaces } from './get-namespaces.js';
import type { KubeApi } from './kube-api.js';
import type { AuditIO, AuditOptions } from './run-audit.js';
import { checkOutput, chooseTargets, contextName, readNamespaces } from './run-audit.js';
import { restartStale } from './stale-fix.js';
import { buildStaleReports, formatStaleReports, formatStaleTable } from './stale-report.js';
import { type StaleFinding, scanStale } from './stale.js';
import { writeReports, type WriteOutcome } from './write-reports.js';

export interface StaleAuditOptions extends AuditOptions {
  /** `-n` given more than once: each of these namespaces (read by name, never listed). */
  namespaces?: string[];
  /** With `-o report`: server-side apply the Reports printed. */
  writeReports?: boolean;
  registryConfig?: string;
  insecureRegistry?: string[];
  registryTimeout?: string;
  allTags?: boolean;
}

/** `5s`, `500ms`, `1m`: a duration in milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) throw new AuditError(`--registry-timeout ${JSON.stringify(text)}: expected a duration such as 5s, 500ms or 1m`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function fallbackKeyring(file: string | undefined): Keyring | undefined {
  if (!file) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AuditError(`--registry-config ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not a Docker config.json (${(err as Error).message})`}`);
  }
  const keyring = new Keyring();
  if (keyring.add(config, `--registry-config ${file}`) === 0) throw new AuditError(`--registry-config ${file}: no credentials under "auths" (credential helpers are not run)`);
  return keyring;
}

export async function runStaleAudit(options: StaleAuditOptions, io: AuditIO, api: KubeApi): Promise<number> {
  const output = checkOutput(options.output ?? 'table');
  if (options.dryRun && !options.fix && !options.writeReports) throw new AuditError('--dry-run: nothing to send without --fix or --write-reports; add one (server: the API server checks the writes with dryRun=All; client: they are printed, not sent)');
  if (options.writeReports && output !== 'report') throw new AuditError('--write-reports goes with -o report: it applies the Report objects it prints');
  const named = [...new Set([...(options.namespaces ?? []), ...(options.namespace !== undefined ? [options.namespace] : [])])];
  if (named.length > 0 && options.allNamespaces) throw new AuditError('--namespace and --all-namespaces cannot be used together');
  const timeoutMs = parseDuration(options.registryTimeout ?? '5s');
  const keyring = fallbackKeyring(options.registryConfig);
  const config = compileConfig(loadConfigFile(options.config));
  return staleAudit(options, output, io, api, contextName(api.endpoint), { timeoutMs, keyring, config, named });
}

async function staleAudit(
  options: StaleAuditOptions,
  output: string,
  io: AuditIO,
  api: KubeApi,
  context: string,
  { timeoutMs, keyring, config, named }: { timeoutMs: number; keyring: Keyring | undefined; config: CompiledConfig; named: string[] },
): Promise<number> {
  // -A lists every namespace; named ones (or the context's) are read one by one, which a Role
  // in each can allow: no cluster-wide read of all namespaces for a namespaced schedule.
  const contextNamespace = api.endpoint.namespace;
  const namespaces = options.allNamespaces ? await readNamespaces(api, context) : await getNamespaces(api, context, named.length > 0 ? named : [contextNamespace ?? 'default']);
  const targets = options.allNamespaces ? chooseTargets(options, namespaces, contextNamespace) : [...namespaces.keys()];
  const policies = new Map<string, EffectivePolicy>();
  const policyFor = (ns: string): EffectivePolicy => {
    let p = policies.get(ns);
    if (!p) policies.set(ns, (p = resolveNamespacePolicy(config, namespaces.get(ns) ?? { name: ns, labels: {}, annotations: {} })));
    return p;
  };

  const scan = await scanStale(api, context, targets, options.allNamespaces === true, policyFor, {
    allTags: options.allTags === true,
    insecureRegistries: options.insecureRegistry ?? [],
    timeoutMs,
    deadlineMs: Math.max(60_000, timeoutMs * 12),
    ...(keyring ? { fallbackKeyring: keyring } : {}),
    // As audit without --stale: on a terminal, or when asked.
    ...(options.progress === true || io.stderrIsTTY ? { progress: (n: number) => io.stderr(`pullfix: checked ${n} containers\n`) } : {}),
  });
  const stale = scan.findings.filter((f): f is StaleFinding => f.type === 'stale');
  const restarts = options.fix ? await restartStale(api, stale, options.dryRun, context) : undefined;
  let written: WriteOutcome[] | undefined;

  if (output === 'json' || output === 'yaml') {
    const report = { apiVersion: 'pullfix.dev/v1alpha1', kind: 'AuditReport', context, namespaces: targets, checked: scan.checked, skipped: scan.skipped, findings: scan.findings, ...(restarts ? { restarts } : {}), registryRequests: scan.requests, warnings: scan.warnings };
    io.stdout(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : stringify(report, { lineWidth: 0, aliasDuplicateObjects: false }));
  } else if (output === 'report') {
    const reports = buildStaleReports(targets, scan.findings, new Date());
    io.stdout(formatStaleReports(reports));
    if (options.writeReports) written = await writeReports(api, reports, options.dryRun);
  } else if (scan.findings.length > 0) {
    io.stdout(formatStaleTable(scan.findings));
  }
  if (output !== 'json' && output !== 'yaml') {
    for (const w of scan.warnings) io.stderr(`pullfix: warning: ${w}\n`);
    const wouldNotPull = stale.filter((f) => !f.pullsOnRestart).length;
    if (wouldNotPull > 0 && !options.fix) io.stderr(`pullfix: ${wouldNotPull} stale container(s) would not pull on restart (imagePullPolicy IfNotPresent or Never): the policy is the cause; --fix sets Always, then restarts\n`);
    for (const r of restarts ?? []) {
      const what = `${r.kind} ${r.namespace}/${r.name}`;
      const how = r.sent === false ? ' (client dry run: not sent)' : '';
      if (r.outcome === 'restarted') io.stderr(`pullfix: ${r.dryRun ? 'would restart' : 'restarted'} ${what}${r.setAlways.length ? ` (imagePullPolicy Always on ${r.setAlways.join(', ')})` : ''}${how}\n`);
      else io.stderr(`pullfix: ${r.outcome === 'failed' ? 'could not restart' : 'did not restart'} ${what}: ${r.reason}\n`);
    }
    reportWrites(written, io);
    io.stderr(`pullfix: ${stale.length} stale, ${scan.findings.length - stale.length} unchecked, in ${scan.checked} containers checked (${scan.skipped} pinned or immutable tags skipped); registry requests: ${scan.requests.head} HEAD, ${scan.requests.get} GET\n`);
  }
  if (restarts?.some((r) => r.outcome === 'failed') || written?.some((w) => w.outcome === 'failed')) return 2;
  const resolved = new Set((restarts ?? []).filter((r) => r.outcome === 'restarted' && !r.dryRun).map((r) => `${r.namespace}\0${r.kind}\0${r.name}`));
  const remaining = scan.findings.filter((f) => f.type === 'unchecked' || !resolved.has(`${f.namespace}\0${f.kind}\0${f.name}`));
  return remaining.length > 0 ? 1 : 0;
}

function reportWrites(written: readonly WriteOutcome[] | undefined, io: AuditIO): void {
  if (!written) return;
  for (const w of written) {
    if (w.outcome === 'failed') io.stderr(`pullfix: ${w.reason}\n`);
    else if (w.outcome === 'namespace gone') io.stderr(`pullfix: Report ${w.name} not written: namespace ${w.namespace} no longer exists\n`);
  }
  const applied = written.filter((w) => w.outcome === 'applied');
  if (applied.length > 0) {
    const where = applied.length === 1 ? `namespace ${applied[0]?.namespace}` : `${applied.length} namespaces`;
    const how = applied[0]?.sent === false ? 'would write (client dry run: not sent)' : applied[0]?.dryRun ? 'would write (server dry run accepted)' : 'wrote';
    io.stderr(`pullfix: ${how} Report ${applied[0]?.name} in ${where}\n`);
  }
}
