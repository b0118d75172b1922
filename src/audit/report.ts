// How findings are shown: an aligned table for people, JSON for programs.

import { stringify } from 'yaml';
import type { Finding } from './evaluate.js';

/** `-o`: what `audit` prints (`yaml` is the `json` AuditReport, as kubectl's `-o yaml`). */
export const OUTPUTS = ['table', 'json', 'yaml', 'report'] as const;
export type Output = (typeof OUTPUTS)[number];

export const TABLE_COLUMNS = ['NAMESPACE', 'KIND', 'NAME', 'CONTAINER', 'CURRENT', 'WANTED', 'REASON'] as const;

function row(f: Finding): string[] {
  return [f.namespace, f.kind, f.name, f.container ?? '-', f.current ?? '-', f.wanted ?? '-', f.reason];
}

/**
 * kubectl's layout: columns padded to their widest cell, three spaces apart, no trailing blanks.
 * Widths are found in a loop: `Math.max(...cells)` takes one argument per row and overflows the
 * stack past about a hundred thousand findings.
 */
export function alignColumns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) => `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('   ').trimEnd()}\n`).join('');
}

export function formatTable(findings: readonly Finding[]): string {
  return alignColumns([[...TABLE_COLUMNS], ...findings.map(row)]);
}

export interface PatchOutcome {
  namespace: string;
  kind: string;
  name: string;
  dryRun: boolean;
  /** `--dry-run=client`: false, the patch was computed and not sent. */
  sent?: false;
  patch: unknown[];
  outcome: 'patched' | 'failed';
  error?: string;
}

export interface AuditReport {
  apiVersion: 'pullfix.dev/v1alpha1';
  kind: 'AuditReport';
  context: string;
  namespaces: string[];
  /** Objects read and evaluated. */
  checked: number;
  findings: Finding[];
  /** With `--fix`: one entry per patch sent. */
  patches?: PatchOutcome[];
  warnings: string[];
}

export function formatJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/**
 * The same object as YAML (`-o yaml`). The patches hold the findings' own objects: without
 * `aliasDuplicateObjects: false` the YAML library would print those twice-seen objects as
 * anchors and aliases (`&a1`, `*a1`), which many readers of the output do not follow.
 */
export function formatYaml(report: AuditReport): string {
  return stringify(report, { lineWidth: 0, aliasDuplicateObjects: false });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Kinds in the table's order, then names, then containers as the object lists them. */
export function sortFindings(findings: Finding[], kindOrder: readonly string[]): Finding[] {
  const rank = (kind: string): number => kindOrder.indexOf(kind);
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => compare(a.f.namespace, b.f.namespace) || rank(a.f.kind) - rank(b.f.kind) || compare(a.f.name, b.f.name) || a.i - b.i)
    .map(({ f }) => f);
}
