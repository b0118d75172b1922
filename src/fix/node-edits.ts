import { isMap, isScalar, type Document } from 'yaml';
import type { DocumentOp } from './fix-objects.js';
import { findPair } from './yaml-nodes.js';

/**
 * Applies operations to a document's nodes, for documents the textual edits cannot handle
 * (flow mappings, aliases). Setting `.value` on an existing scalar keeps its quoting and comment.
 */
export function applyNodeEdits(doc: Document, ops: readonly DocumentOp[]): void {
  for (const op of ops) {
    if (op.op === 'remove') {
      doc.deleteIn(op.path);
      continue;
    }
    if (op.op !== 'add' && op.op !== 'replace') throw new Error(`pullfix fix: unexpected patch operation ${op.op}`);
    const node: unknown = doc.getIn(op.path, true);
    if (isScalar(node) && !node.anchor) {
      node.value = op.value;
      continue;
    }
    const key = op.path.at(-1);
    const parent: unknown = doc.getIn(op.path.slice(0, -1), true);
    if (node === undefined && key !== undefined && isMap(parent)) {
      const image = findPair(parent, 'image');
      if (image) {
        parent.items.splice(parent.items.indexOf(image) + 1, 0, doc.createPair(key, op.value));
        continue;
      }
    }
    doc.setIn(op.path, op.value);
  }
}
