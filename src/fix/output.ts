import type { FixedManifest } from './fix-manifest.js';

/**
 * Several inputs printed as one YAML stream, so `pullfix fix a.yaml b.yaml | kubectl apply -f -`
 * sees every document: a `---` between them unless the next one starts with its own. An input
 * that starts with directives (`%YAML 1.2`) may only follow a document end: `...` goes first.
 */
export function joinStreams(texts: readonly string[]): string {
  if (texts.length === 1) return texts[0] ?? '';
  let out = '';
  for (const text of texts) {
    if (text.trim() === '') continue;
    const body = text.replace(/^\uFEFF/, '');
    if (out !== '') {
      if (!out.endsWith('\n')) out += '\n';
      if (/^(?:[ \t]*(?:#[^\n]*)?\r?\n)*%/.test(body)) {
        if (!/(^|\n)\.\.\.[ \t]*\r?\n$/.test(out)) out += '...\n';
      } else if (!/^---(\s|$)/.test(body)) out += '---\n';
    }
    out += out === '' ? text : body;
  }
  return out;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The one line `--write` prints for a file it rewrote. */
export function writeSummary(fixed: FixedManifest): string {
  const { policiesSet: set, straysRemoved: removed } = fixed;
  const parts = [
    ...(set > 0 ? [`${plural(set, 'container policy', 'container policies')} set`] : []),
    ...(removed > 0 ? [`${plural(removed, 'pod-level imagePullPolicy', 'pod-level imagePullPolicies')} removed`] : []),
  ];
  return `fixed ${fixed.input.name}: ${parts.join(', ')}`;
}
