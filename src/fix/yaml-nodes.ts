import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

/** A merge key (`<<: *base`), as the parser reads it with merges on, or as a plain `<<` key. */
export function isMergePair(pair: Pair): boolean {
  if (!isScalar(pair.key)) return false;
  const value: unknown = pair.key.value;
  return value === '<<' || (typeof value === 'symbol' && value.description === '<<');
}

/** The pair whose key is the scalar `key`, if the mapping has one of its own (merged keys are not). */
export function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && !isMergePair(p) && String(p.key.value) === key);
}

/** The node a path leads to, step by step; the first alias on the way stops the walk. */
export interface Walk {
  node: unknown;
  /** The alias met on the way (the node where the walk stopped), if any. */
  alias?: Node;
}

export function walk(doc: Document, path: readonly string[]): Walk {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (isAlias(node)) return { node, alias: node };
    if (isMap(node)) node = findPair(node, segment)?.value;
    else if (isSeq(node)) node = node.items[Number(segment)];
    else return { node: undefined };
  }
  return isAlias(node) ? { node, alias: node } : { node };
}
