import { isCollection, isScalar, type Document, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';

/** The pair whose key is the scalar `key`, if the mapping has one. */
export function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
}

/**
 * The outermost flow collection (`{...}` or `[...]`) on the way to `path`, and how many path
 * segments lead to it; undefined when the whole way is block style.
 */
export function outermostFlow(doc: Document, path: readonly string[]): { node: YAMLMap | YAMLSeq; depth: number } | undefined {
  let node: unknown = doc.contents;
  for (let depth = 0; depth < path.length; depth++) {
    if (!isCollection(node)) return undefined;
    if (node.flow) return { node, depth };
    node = node.get(path[depth], true);
  }
  return undefined;
}
