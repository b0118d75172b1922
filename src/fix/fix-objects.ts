import type { Operation as PatchOperation } from 'fast-json-patch';
import { kindTable, pointerSegments, ruleFor } from '../engine/kinds.js';
import type { Engine, MutationResult } from '../engine/mutate.js';
import type { EffectivePolicy } from '../engine/namespace-policy.js';
import type { ManifestObject } from './locate-objects.js';

/** An edit to one document, its path from the document root (unescaped segments). */
export interface DocumentOp {
  op: PatchOperation['op'];
  path: string[];
  value?: unknown;
}

/** What the engine made of one object. */
export interface ObjectFix {
  object: ManifestObject;
  result: MutationResult;
  /** Where the kind keeps its pod spec, relative to the object; undefined for kinds pullfix ignores. */
  podSpecPath?: readonly string[];
  /** The engine's patch, re-rooted at the document. */
  ops: DocumentOp[];
}

/**
 * Runs the engine on each object as a CREATE from a manifest: nothing there is defaulted, so a
 * written imagePullPolicy is explicit and an absent one is not (SPEC §7).
 */
export function fixObjects(engine: Engine, policy: EffectivePolicy, objects: readonly ManifestObject[]): ObjectFix[] {
  const kinds = kindTable(engine.config.podTemplates);
  return objects.map((object) => {
    const result = engine.mutate({
      group: object.group,
      kind: object.kind,
      operation: 'CREATE',
      object: object.value,
      policy,
      source: 'manifest',
    });
    const ops = result.patch.map((op) => ({
      op: op.op,
      path: [...object.path, ...pointerSegments(op.path)],
      ...('value' in op ? { value: op.value } : {}),
    }));
    const podSpecPath = ruleFor(kinds, object.group, object.kind)?.podSpecPath;
    return { object, result, ops, ...(podSpecPath ? { podSpecPath } : {}) };
  });
}
