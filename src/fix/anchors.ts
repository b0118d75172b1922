import { isAlias, Scalar, visit, type Document, type Node } from 'yaml';
import { CannotEdit, type TextEdit } from './text-edits.js';

/**
 * An anchored value about to change or disappear (`imagePullPolicy: &pp Always`) may be
 * read elsewhere through aliases (`*pp`). Those must keep reading the old value: the first
 * alias that is not itself being changed becomes the anchor's new definition, `&pp Always`,
 * and the aliases after it read from there, as YAML binds each alias to the latest anchor
 * of that name before it.
 */
export function detachAliases(doc: Document, source: string, node: Scalar, edited: ReadonlySet<Node>): TextEdit | undefined {
  const anchor = node.anchor;
  const start = node.range?.[1];
  if (!anchor || start === undefined) return undefined;
  let first: Node | undefined;
  visit(doc, (_key, n) => {
    const at = (n as Node).range?.[0];
    if (at === undefined || at < start) return undefined;
    // A later anchor of the same name: aliases after it are not this value's.
    if (!isAlias(n) && (n as Node & { anchor?: string }).anchor === anchor && n !== node) return visit.BREAK;
    if (isAlias(n) && n.source === anchor && !edited.has(n)) {
      first = n;
      return visit.BREAK;
    }
    return undefined;
  });
  if (!first?.range) return undefined;
  const text = source.slice(node.range?.[0], node.range?.[1]);
  if (text.includes('\n') || (node.type !== Scalar.PLAIN && node.type !== Scalar.QUOTE_DOUBLE && node.type !== Scalar.QUOTE_SINGLE)) {
    throw new CannotEdit(node.range?.[0] ?? 0, `&${anchor} is read through aliases and spans lines; change it by hand`);
  }
  return { start: first.range[0], end: first.range[1], text: `&${anchor} ${text}` };
}
