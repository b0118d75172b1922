// Helm chart templates are not manifests until rendered. `fix` over a tree (pre-commit hands it
// every changed *.yaml) skips them with one note instead of failing on each and hiding every
// other finding. A file is a template when the parser trips on template syntax (any path), or
// when it has a template action and sits in a chart's templates/ directory: there even text that
// happens to parse (`image: "{{ .Values.image }}"`) is a template, not the manifest Kubernetes gets.

import { existsSync } from 'node:fs';
import path from 'node:path';

/** `{{ .Values.x }}`, `{{- include … }}`, a template comment, `{{ $x := … }}`: the start of a template action. */
export const TEMPLATE_ACTION = /\{\{-?\s*[-.$a-zA-Z(/"]/;

/** Answers kept per directory: a chart's templates/ holds many files. */
const chartDirs = new Map<string, boolean>();

function isChartTemplatesDir(dir: string): boolean {
  let answer = chartDirs.get(dir);
  if (answer === undefined) {
    answer = path.basename(dir) === 'templates' && existsSync(path.join(path.dirname(dir), 'Chart.yaml'));
    chartDirs.set(dir, answer);
  }
  return answer;
}

/** Whether `file` is under a chart's templates/ directory (a `templates` beside a Chart.yaml), at any depth. */
export function inChartTemplates(file: string): boolean {
  for (let dir = path.dirname(path.resolve(file)); ; ) {
    if (isChartTemplatesDir(dir)) return true;
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

/** A chart template that may parse as YAML all the same. */
export function isChartTemplate(file: string, text: string): boolean {
  return TEMPLATE_ACTION.test(text) && inChartTemplates(file);
}

/** The one note for the templates skipped (after `pullfix: `). */
export function skippedTemplatesNote(files: readonly string[]): string {
  const what = files.length === 1 ? '1 Helm template file' : `${files.length} Helm template files`;
  return `skipped ${what} (${files.join(', ')}): render them first, e.g. helm template CHART | pullfix fix -`;
}
