// `pullfix audit -o report`: the findings as openreports.io/v1alpha1 Report objects, one per
// namespace, the format Kyverno (1.15 and later) writes and Policy Reporter reads. Schema:
// github.com/openreports/reports-api, apis/openreports.io/v1alpha1/report_types.go. Pure:
// findings and the objects checked in, objects out.

import { stringify } from 'yaml';
import { ENTRY_FIELDS } from '../engine/types.js';
import type { AuditRule, Finding } from './evaluate.js';

export const REPORT_API_VERSION = 'openreports.io/v1alpha1';
export const REPORT_SOURCE = 'pullfix';
export const REPORT_POLICY = 'pullfix';
/** Every namespace's report has this name, so re-applying replaces the last one. */
export const REPORT_NAME = 'pullfix-audit';

/** One object the audit read, and why it was passed over when it was. */
export interface CheckedObject {
  namespace: string;
  kind: string;
  apiVersion: string;
  name: string;
  uid?: string;
  skipped?: string;
}

type Result = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  fieldPath?: string;
}

export interface ReportResult {
  source: string;
  policy: string;
  rule?: string;
  category: string;
  severity: Severity;
  timestamp: { seconds: number; nanos: number };
  result: Result;
  scored: boolean;
  resources: ObjectReference[];
  message: string;
  properties?: Record<string, string>;
}

export interface Report {
  apiVersion: typeof REPORT_API_VERSION;
  kind: 'Report';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  source: string;
  /** What the Report is about: its namespace (each result names its objects in `resources`). */
  scope: { apiVersion: 'v1'; kind: 'Namespace'; name: string };
  summary: Record<Result, number>;
  results: ReportResult[];
}

const RULES: Record<AuditRule, { severity: Severity; pass: string }> = {
  'namespace-policy': { severity: 'medium', pass: 'every image pull policy matches the namespace policy' },
  'pod-level-field': { severity: 'low', pass: 'no pod-level imagePullPolicy (Kubernetes ignores the field there)' },
};

function entryWords(f: Finding): string {
  if (f.container === null) return 'pod-level imagePullPolicy';
  const list = f.containerList ?? 'containers';
  const what = list === 'volumes' ? 'image volume' : list === 'initContainers' ? 'init container' : list === 'ephemeralContainers' ? 'ephemeral container' : 'container';
  return `${what} ${JSON.stringify(f.container)}: ${ENTRY_FIELDS[list].pullPolicy.join('.')}`;
}

function failMessage(f: Finding): string {
  const entry = entryWords(f);
  if (f.wanted === null) {
    // The reason may name the field itself ("pod-level imagePullPolicy in the last-applied
    // manifest: ..."): say it once, with its value.
    const reason = f.reason.startsWith(entry) ? f.reason.slice(entry.length) : `: ${f.reason}`;
    return `${entry} ${f.current ?? ''}${reason}`;
  }
  return `${entryWords(f)} is ${f.current ?? 'unset'}, wants ${f.wanted}: ${f.reason}`;
}

function properties(f: Finding, fixed: boolean): Record<string, string> {
  const props: Record<string, string> = {};
  if (f.container !== null) props['container'] = f.container;
  if (f.containerList) props['containerList'] = f.containerList;
  if (f.current !== null) props['current'] = f.current;
  if (f.wanted !== null) props['wanted'] = f.wanted;
  props['fix'] = fixed ? 'patched by pullfix audit --fix' : f.patchable ? 'pullfix audit --fix' : f.wanted === null ? 'pullfix fix on the manifest' : 're-create the object';
  return props;
}

function key(o: { namespace: string; kind: string; name: string }): string {
  return `${o.namespace}/${o.kind}/${o.name}`;
}

/**
 * One Report per namespace in `namespaces` (in that order, empty ones included): for each
 * object checked, per rule, a `fail` result per finding (a `pass` once `--fix` patched it), or
 * one `pass` when the rule found nothing; objects the webhook would pass over are `skip`.
 * Objects a controller owns are left out: their owner carries the result.
 */
export function buildReports(namespaces: readonly string[], checked: readonly CheckedObject[], findings: readonly Finding[], resolved: ReadonlySet<Finding>, now: Date): Report[] {
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  const byObject = new Map<string, Finding[]>();
  for (const f of findings) byObject.set(key(f), [...(byObject.get(key(f)) ?? []), f]);

  return namespaces.map((namespace): Report => {
    const results: ReportResult[] = [];
    for (const o of checked.filter((c) => c.namespace === namespace)) {
      const ref: ObjectReference = { apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name, ...(o.uid ? { uid: o.uid } : {}) };
      const base = { source: REPORT_SOURCE, policy: REPORT_POLICY, category: 'Image pull policy', timestamp, scored: true };
      if (o.skipped !== undefined) {
        if (o.skipped === 'owned by a controller') continue;
        results.push({ ...base, severity: 'info', result: 'skip', resources: [ref], message: `not checked: ${o.skipped}` });
        continue;
      }
      const own = byObject.get(key(o)) ?? [];
      for (const rule of Object.keys(RULES) as AuditRule[]) {
        const { severity, pass } = RULES[rule];
        const ruled = own.filter((f) => f.rule === rule);
        if (ruled.length === 0) results.push({ ...base, rule, severity, result: 'pass', resources: [ref], message: pass });
        for (const f of ruled) {
          const fixed = resolved.has(f);
          results.push({
            ...base,
            rule,
            severity,
            result: fixed ? 'pass' : 'fail',
            resources: [{ ...ref, fieldPath: f.fieldPath }],
            message: fixed ? `${failMessage(f)} (patched)` : failMessage(f),
            properties: properties(f, fixed),
          });
        }
      }
    }
    const summary: Record<Result, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of results) summary[r.result]++;
    return {
      apiVersion: REPORT_API_VERSION,
      kind: 'Report',
      metadata: { name: REPORT_NAME, namespace, labels: { 'app.kubernetes.io/managed-by': 'pullfix' } },
      source: REPORT_SOURCE,
      scope: namespaceScope(namespace),
      summary,
      results,
    };
  });
}

export function namespaceScope(name: string): Report['scope'] {
  return { apiVersion: 'v1', kind: 'Namespace', name };
}

/**
 * Multi-document YAML, ready for `kubectl apply -f -`. Results share objects (the timestamp):
 * `aliasDuplicateObjects: false` writes them out each time, not as anchors and aliases
 * (`&a1`, `*a1`) that some readers of Reports do not follow.
 */
export function formatReports(reports: readonly Report[]): string {
  return reports.map((r) => `---\n${stringify(r, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
