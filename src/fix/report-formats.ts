// `fix --check -o json|sarif|github`: the findings for machines. The text form
// (`FILE:LINE: message`, the default) is formatFinding's.

import path from 'node:path';
import type { Finding } from './findings.js';
import { RULES, type Level, type RuleId } from './rules.js';

export const OUTPUT_FORMATS = ['text', 'json', 'sarif', 'github'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A file `--check` did not read as a manifest, and why. */
export interface Skipped {
  file: string;
  reason: 'helm-template';
}

/** Where the report is made: paths are written relative to it. */
export interface ReportContext {
  cwd: string;
  toolVersion: string;
}

/** A finding's file relative to the working directory, `/`-separated; standard input keeps its name. */
export function relativeFile(file: string, cwd: string, isPath: boolean): string {
  if (!isPath) return file;
  const rel = path.relative(cwd, path.resolve(cwd, file));
  return rel.split(path.sep).join('/');
}

/** `-o json`: one object, `findings` in reading order and `skipped` files. */
export function jsonReport(findings: readonly Finding[], skipped: readonly Skipped[], isPath: (file: string) => boolean, context: ReportContext): string {
  const out = {
    findings: findings.map((f) => ({
      file: relativeFile(f.file, context.cwd, isPath(f.file)),
      line: f.line,
      column: f.col,
      ruleId: f.rule,
      level: RULES[f.rule].level,
      message: f.message,
      fixed: f.fixed,
      ...(f.object ? { object: f.object } : {}),
      ...(f.fix ? { fix: f.fix } : {}),
    })),
    skipped: skipped.map((s) => ({ ...s, file: relativeFile(s.file, context.cwd, true) })),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const RULE_IDS = Object.keys(RULES) as RuleId[];

/** A relative path as a URI reference: each segment percent-encoded, the `/` kept. */
function uriOf(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

/**
 * `-o sarif`: SARIF 2.1.0, as GitHub code scanning uploads it. Every rule is listed, so each
 * result's `ruleIndex` is stable; locations are relative to the working directory (run it at
 * the repository's root). What fixing changes is in each result's `properties.fix`.
 */
export function sarifReport(findings: readonly Finding[], isPath: (file: string) => boolean, context: ReportContext): string {
  const rules = RULE_IDS.map((id) => {
    const rule = RULES[id];
    return {
      id,
      name: rule.name,
      shortDescription: { text: rule.description },
      fullDescription: { text: rule.description },
      help: { text: rule.help },
      defaultConfiguration: { level: rule.level },
    };
  });
  const results = findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: RULE_IDS.indexOf(f.rule),
    level: RULES[f.rule].level,
    message: { text: f.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: uriOf(relativeFile(f.file, context.cwd, isPath(f.file))) },
          region: { startLine: f.line, startColumn: f.col },
        },
      },
    ],
    ...(f.fix || f.object ? { properties: { ...(f.object ? { object: f.object } : {}), ...(f.fix ? { fix: f.fix } : {}) } } : {}),
  }));
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'pullfix', version: context.toolVersion, rules } }, results }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** GitHub's escaping of a workflow command's message. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** GitHub's escaping of a workflow command's property value: the message's, and `:` and `,`. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

const COMMAND: Record<Level, string> = { error: 'error', warning: 'warning', note: 'notice' };

/**
 * `-o github`: one workflow command per finding (`::error file=F,line=L,col=C,title=T::message`),
 * which GitHub Actions shows as an annotation on the line.
 */
export function githubReport(findings: readonly Finding[], isPath: (file: string) => boolean, context: ReportContext): string {
  return findings
    .map((f) => {
      const rule = RULES[f.rule];
      const props = [
        `file=${escapeProperty(relativeFile(f.file, context.cwd, isPath(f.file)))}`,
        `line=${f.line}`,
        `col=${f.col}`,
        `title=${escapeProperty(`pullfix ${rule.id} ${rule.name}`)}`,
      ].join(',');
      return `::${COMMAND[rule.level]} ${props}::${escapeData(f.message)}\n`;
    })
    .join('');
}
