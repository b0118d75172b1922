// How `audit --stale` shows what it found: a table for people, the AuditReport's findings for
// programs (`-o json`), OpenReports results for dashboards (`-o report`: rule `stale-build`
// fails, `unchecked` warns, policy `pullfix`).

import { stringify } from 'yaml';
import { alignColumns } from './report.js';
import { namespaceScope, REPORT_API_VERSION, REPORT_NAME, REPORT_POLICY, REPORT_SOURCE, type Report, type ReportResult } from './policy-report.js';
import type { StaleAuditFinding } from './stale.js';

/** The name of every namespace's stale-build Report: apart from `pullfix audit`'s, so neither replaces the other. */
export const STALE_REPORT_NAME = `${REPORT_NAME}-stale`;

const short = (digest: string | undefined): string => (digest ? digest.replace(/^sha256:([0-9a-f]{12})[0-9a-f]*$/, 'sha256:$1') : '-');

export function formatStaleTable(findings: readonly StaleAuditFinding[]): string {
  const header = ['NAMESPACE', 'KIND', 'NAME', 'POD', 'CONTAINER', 'IMAGE', 'STATE', 'RUNNING', 'CURRENT', 'POLICY', 'PULLS ON RESTART'];
  const rows = findings.map((f) =>
    f.type === 'stale'
      ? [f.namespace, f.kind, f.name, f.pod, f.container, f.image, 'stale', short(f.runningDigest), short(f.currentPlatformDigest ?? f.currentDigest), f.imagePullPolicy, f.pullsOnRestart ? 'yes' : 'no']
      : [f.namespace, f.kind, f.name, f.pod, f.container, f.image, 'unchecked', short(f.runningDigest), '-', '-', f.reason],
  );
  return alignColumns([header, ...rows]);
}

function message(f: StaleAuditFinding): string {
  if (f.type === 'unchecked') return `container ${JSON.stringify(f.container)} of pod ${f.pod}: ${f.image} could not be checked: ${f.reason}`;
  const cause = f.pullsOnRestart ? '' : `; imagePullPolicy ${f.imagePullPolicy} would not pull it on restart: the policy is the cause`;
  return `container ${JSON.stringify(f.container)} of pod ${f.pod} runs ${f.runningDigest}, ${f.image} is ${f.currentPlatformDigest ?? f.currentDigest} now${cause}`;
}

/**
 * One Report per namespace audited: a `fail` per stale container, a `warn` per unchecked one;
 * a namespace with neither gets an empty one, which clears what an earlier run reported.
 */
export function buildStaleReports(namespaces: readonly string[], findings: readonly StaleAuditFinding[], now: Date): Report[] {
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  return namespaces.map((namespace): Report => {
    const results: ReportResult[] = findings
      .filter((f) => f.namespace === namespace)
      .map((f) => ({
        source: REPORT_SOURCE,
        policy: REPORT_POLICY,
        rule: f.type === 'stale' ? 'stale-build' : 'unchecked',
        category: 'Image freshness',
        severity: f.type === 'stale' ? 'medium' : 'info',
        timestamp,
        result: f.type === 'stale' ? 'fail' : 'warn',
        scored: true,
        resources: [{ apiVersion: 'v1', kind: 'Pod', namespace, name: f.pod }],
        message: message(f),
        properties: { workload: `${f.kind}/${f.name}`, container: f.container, image: f.image, ...(f.type === 'stale' ? { runningDigest: f.runningDigest, currentDigest: f.currentDigest, imagePullPolicy: f.imagePullPolicy } : { reason: f.reason }) },
      }));
    const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of results) summary[r.result]++;
    return { apiVersion: REPORT_API_VERSION, kind: 'Report', metadata: { name: STALE_REPORT_NAME, namespace, labels: { 'app.kubernetes.io/managed-by': 'pullfix' } }, source: REPORT_SOURCE, scope: namespaceScope(namespace), summary, results };
  });
}

export function formatStaleReports(reports: readonly Report[]): string {
  return reports.map((r) => `---\n${stringify(r, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
