import type { Operation as PatchOperation } from 'fast-json-patch';
import { loadConfigFile } from '../config/load-config.js';
import { compileConfig, type CompiledConfig } from '../engine/config.js';
import { getPath, isObject } from '../engine/objects.js';
import { createEngine, type Engine } from '../engine/mutate.js';
import { resolveNamespacePolicy, type EffectivePolicy } from '../engine/namespace-policy.js';
import type { NamespaceInfo } from '../engine/types.js';
import { AuditError } from './audit-error.js';
import { evaluateObject, type Finding } from './evaluate.js';
import type { ApiEndpoint, KubeApi } from './kube-api.js';
import { listItems } from './list-objects.js';
import { buildReports, formatReports, type CheckedObject } from './policy-report.js';
import { formatJson, formatTable, formatYaml, OUTPUTS, sortFindings, type AuditReport, type Output } from './report.js';
import { sendPatches, type DryRun, type Patchable } from './send-patches.js';
import { apiVersionOf, collectionPath, resourceName, WORKLOAD_KINDS, type WorkloadKind } from './workload-kinds.js';

export interface AuditOptions {
  namespace?: string;
  allNamespaces?: boolean;
  fix?: boolean;
  /** `--dry-run[=server]` or `--dry-run=client`. */
  dryRun?: DryRun;
  output?: string;
  config?: string;
  progress?: boolean;
}

export interface AuditIO {
  stdout(text: string): void;
  stderr(text: string): void;
  stderrIsTTY: boolean;
}

/** Namespaces the webhook's selectors leave out (SPEC §8); `--all-namespaces` does too. */
export const UNSERVED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', 'pullfix-system'];

const PROGRESS_EVERY = 100;

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** What the engine reads of a Namespace object: its name, labels and annotations. */
export function namespaceInfo(item: Record<string, unknown>): NamespaceInfo | undefined {
  const name = getPath(item, ['metadata', 'name']);
  if (typeof name !== 'string') return undefined;
  return { name, labels: stringMap(getPath(item, ['metadata', 'labels'])), annotations: stringMap(getPath(item, ['metadata', 'annotations'])) };
}

export async function readNamespaces(api: KubeApi, context: string): Promise<Map<string, NamespaceInfo>> {
  const namespaces = new Map<string, NamespaceInfo>();
  for await (const item of listItems(api, '/api/v1/namespaces', { verb: 'list', resource: 'namespaces', context })) {
    const info = namespaceInfo(item);
    if (info) namespaces.set(info.name, info);
  }
  return namespaces;
}

/** The namespaces to audit: every served one with --all-namespaces, else the one named (or the context's). */
export function chooseTargets(options: { namespace?: string; allNamespaces?: boolean }, namespaces: ReadonlyMap<string, NamespaceInfo>, contextNamespace: string | undefined): string[] {
  if (options.allNamespaces) return [...namespaces.keys()].filter((n) => !UNSERVED_NAMESPACES.includes(n)).sort();
  const chosen = options.namespace ?? contextNamespace ?? 'default';
  if (!namespaces.has(chosen)) throw new AuditError(`namespace ${JSON.stringify(chosen)} not found`);
  return [chosen];
}


export function checkOutput(output: string): Output {
  if (!(OUTPUTS as readonly string[]).includes(output)) throw new AuditError(`-o ${JSON.stringify(output)}: not an output format; use table, json, yaml or report`);
  return output as Output;
}

function validate(options: AuditOptions): Output {
  const output = checkOutput(options.output ?? 'table');
  if (options.namespace !== undefined && options.allNamespaces) throw new AuditError('--namespace and --all-namespaces cannot be used together');
  if (options.dryRun && !options.fix) throw new AuditError('--dry-run: nothing to send without --fix; add --fix (server: the API server checks the patches with dryRun=All; client: they are printed, not sent)');
  return output as Output;
}

class Auditor {
  readonly findings: Finding[] = [];
  readonly patchable: Patchable[] = [];
  readonly warnings: string[] = [];
  /** What was read, for `-o report`'s pass and skip results. */
  readonly objects: CheckedObject[] = [];
  checked = 0;
  private readonly policies = new Map<string, EffectivePolicy>();
  private readonly engine: Engine;

  constructor(
    private readonly config: CompiledConfig,
    private readonly namespaces: ReadonlyMap<string, NamespaceInfo>,
    private readonly progress: ((checked: number, findings: number) => void) | undefined,
    /** Keep each object's patch (for --fix): without it they are only garbage, 10,000 of them at scale. */
    private readonly keepPatches: boolean,
  ) {
    this.engine = createEngine(config);
  }

  private policyFor(namespace: string): EffectivePolicy {
    let policy = this.policies.get(namespace);
    if (!policy) {
      policy = resolveNamespacePolicy(this.config, this.namespaces.get(namespace) ?? { name: namespace, labels: {}, annotations: {} });
      this.warnings.push(...policy.problems);
      this.policies.set(namespace, policy);
    }
    return policy;
  }

  check(kind: WorkloadKind, object: Record<string, unknown>): void {
    const namespace = String(getPath(object, ['metadata', 'namespace']) ?? '');
    const evaluation = evaluateObject(this.engine, kind, object, this.policyFor(namespace));
    const uid = getPath(object, ['metadata', 'uid']);
    this.objects.push({
      namespace,
      kind: kind.kind,
      apiVersion: apiVersionOf(kind),
      name: String(getPath(object, ['metadata', 'name']) ?? ''),
      ...(typeof uid === 'string' ? { uid } : {}),
      ...(evaluation.skipped !== undefined ? { skipped: evaluation.skipped } : {}),
    });
    this.findings.push(...evaluation.findings);
    this.warnings.push(...evaluation.warnings);
    if (this.keepPatches && evaluation.patch.length > 0) {
      // Guarded by the resourceVersion that was read: the engine's operations address containers
      // by index, and must not land on an object that changed in between.
      const rv = getPath(object, ['metadata', 'resourceVersion']);
      const guard: PatchOperation[] = typeof rv === 'string' ? [{ op: 'test', path: '/metadata/resourceVersion', value: rv }] : [];
      this.patchable.push({
        kind,
        namespace,
        name: String(getPath(object, ['metadata', 'name']) ?? ''),
        patch: [...guard, ...evaluation.patch],
        findings: evaluation.findings.filter((f) => f.patchable),
      });
    }
    this.checked++;
    if (this.progress && this.checked % PROGRESS_EVERY === 0) this.progress(this.checked, this.findings.length);
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * `pullfix audit`. Exit codes: 0 clean, 1 findings (left after `--fix`, or all of them with
 * `--dry-run`), 2 when the audit could not be completed or a patch failed.
 */
export async function runAudit(options: AuditOptions, io: AuditIO, api: KubeApi): Promise<number> {
  const output = validate(options);
  const config = compileConfig(loadConfigFile(options.config));
  return audit(options, output, config, io, api, contextName(api.endpoint));
}

/** The kubeconfig context, or where the in-cluster credentials are, for messages and `-o json`. */
export function contextName(endpoint: ApiEndpoint): string {
  return endpoint.context ?? endpoint.origin;
}

async function audit(options: AuditOptions, output: Output, config: CompiledConfig, io: AuditIO, api: KubeApi, context: string): Promise<number> {
  const namespaces = await readNamespaces(api, context);

  const targets = chooseTargets(options, namespaces, api.endpoint.namespace);
  const wanted = new Set(targets);

  const showProgress = options.progress === true || io.stderrIsTTY;
  const auditor = new Auditor(
    config,
    namespaces,
    showProgress ? (n, f) => io.stderr(`pullfix: checked ${n} objects, ${plural(f, 'finding')} so far\n`) : undefined,
    options.fix === true,
  );
  for (const kind of WORKLOAD_KINDS) {
    const scopes = options.allNamespaces ? [undefined] : targets;
    for (const namespace of scopes) {
      const attempt = { verb: 'list' as const, resource: resourceName(kind), ...(namespace !== undefined ? { namespace } : {}), context };
      for await (const object of listItems(api, collectionPath(kind, namespace), attempt)) {
        const ns = getPath(object, ['metadata', 'namespace']);
        if (typeof ns !== 'string' || !wanted.has(ns)) continue;
        auditor.check(kind, object);
      }
    }
  }

  const findings = sortFindings(auditor.findings, WORKLOAD_KINDS.map((k) => k.kind));
  const patches = options.fix ? await sendPatches(api, auditor.patchable, options.dryRun, context) : undefined;
  // Findings a real (not dry-run) patch resolved are no longer findings once it is sent.
  const resolved = new Set<Finding>();
  patches?.forEach((p, i) => {
    if (p.outcome === 'patched' && !p.dryRun) for (const f of auditor.patchable[i]?.findings ?? []) resolved.add(f);
  });
  const remaining = findings.filter((f) => !resolved.has(f));
  const warnings = [...new Set(auditor.warnings)];

  if (output === 'json' || output === 'yaml') {
    const report: AuditReport = {
      apiVersion: 'pullfix.dev/v1alpha1',
      kind: 'AuditReport',
      context,
      namespaces: targets,
      checked: auditor.checked,
      findings,
      ...(patches ? { patches } : {}),
      warnings,
    };
    io.stdout(output === 'json' ? formatJson(report) : formatYaml(report));
  } else if (output === 'report') {
    io.stdout(formatReports(buildReports(targets, auditor.objects, findings, resolved, new Date())));
    for (const w of warnings) io.stderr(`pullfix: warning: ${w}\n`);
    for (const p of patches ?? []) if (p.outcome === 'failed') io.stderr(`pullfix: not patched: ${p.error}\n`);
  } else {
    for (const w of warnings) io.stderr(`pullfix: warning: ${w}\n`);
    if (findings.length > 0) io.stdout(formatTable(findings));
    for (const p of patches ?? []) {
      const what = `${p.kind} ${p.namespace}/${p.name}`;
      if (p.outcome === 'failed') io.stderr(`pullfix: not patched: ${p.error}\n`);
      else if (p.sent === false) io.stderr(`pullfix: would patch ${what} (client dry run: not sent)\n`);
      else io.stderr(p.dryRun ? `pullfix: would patch ${what} (server dry run accepted)\n` : `pullfix: patched ${what}\n`);
    }
    const scope = options.allNamespaces ? plural(targets.length, 'namespace') : `namespace ${targets[0]}`;
    io.stderr(
      findings.length === 0
        ? `pullfix: no findings in ${plural(auditor.checked, 'object')} (${scope})\n`
        : `pullfix: ${plural(findings.length, 'finding')} in ${plural(auditor.checked, 'object')} (${scope})` +
            (patches ? `, ${plural(remaining.length, 'finding')} left` : '') +
            '\n',
    );
  }
  if (patches?.some((p) => p.outcome === 'failed')) return 2;
  return remaining.length > 0 ? 1 : 0;
}
