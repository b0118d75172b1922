import type { FixedManifest } from './fix-manifest.js';

/**
 * Several inputs printed as one YAML stream: a `---` between them unless the next one starts
 * with its own, so `pullfix fix a.yaml b.yaml | kubectl apply -f -` sees every document.
 */
export function joinStreams(texts: readonly string[]): string {
  if (texts.length === 1) return texts[0] ?? '';
  let out = '';
  for (const text of texts) {
    if (text.trim() === '') continue;
    if (out !== '') {
      if (!out.endsWith('\n')) out += '\n';
      if (!/^---(\s|$)/.test(text)) out += '---\n';
    }
    out += text;
  }
  return out;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The one line `--write` prints for a file it rewrote. */
export function writeSummary(fixed: FixedManifest): string {
  const results = fixed.fixes.map((f) => f.result);
  const set = results.reduce((n, r) => n + r.changes.length, 0);
  const removed = results.filter((r) => r.strayRemoved).length;
  const parts = [
    ...(set > 0 ? [`${plural(set, 'container policy', 'container policies')} set`] : []),
    ...(removed > 0 ? [`${plural(removed, 'pod-level imagePullPolicy', 'pod-level imagePullPolicies')} removed`] : []),
  ];
  return `fixed ${fixed.manifest.input.name}: ${parts.join(', ')}`;
}
