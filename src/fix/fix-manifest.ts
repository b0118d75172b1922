import type { Engine } from '../engine/mutate.js';
import type { EffectivePolicy } from '../engine/namespace-policy.js';
import { isObject } from '../engine/explicit.js';
import { findingsFor, type Finding } from './findings.js';
import { fixObjects, type DocumentOp, type ObjectFix } from './fix-objects.js';
import { locateObjects } from './locate-objects.js';
import type { Manifest } from './parse-manifest.js';
import { renderJson } from './render-json.js';
import { renderYaml } from './render-yaml.js';

/** One input after the engine has seen every object in it. */
export interface FixedManifest {
  manifest: Manifest;
  fixes: ObjectFix[];
  findings: Finding[];
  changed: boolean;
  /** The fixed text; the input itself, byte for byte, when nothing changed. */
  text: string;
}

/** Puts `value` at `path` inside `root` (a fresh copy), returning the new root. */
function placeAt(root: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) node = isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[segment] : undefined;
  const last = path[path.length - 1] as string;
  if (isObject(node) || Array.isArray(node)) (node as Record<string, unknown>)[last] = value;
  return root;
}

export function fixManifest(manifest: Manifest, engine: Engine, policy: EffectivePolicy): FixedManifest {
  const fixes = fixObjects(engine, policy, locateObjects(manifest.values));
  const findings = findingsFor(manifest, fixes);
  const changedFixes = fixes.filter((f) => f.ops.length > 0);
  if (changedFixes.length === 0) return { manifest, fixes, findings, changed: false, text: manifest.input.text };

  // What every document must read as once fixed: the engine's objects in place of the originals.
  const expected = structuredClone(manifest.values);
  const opsByDoc = new Map<number, DocumentOp[]>();
  for (const fix of changedFixes) {
    const { docIndex, path } = fix.object;
    expected[docIndex] = placeAt(expected[docIndex], path, fix.result.mutated);
    opsByDoc.set(docIndex, [...(opsByDoc.get(docIndex) ?? []), ...fix.ops]);
  }
  const text = manifest.format === 'json' ? renderJson(manifest.input.text, expected[0]) : renderYaml(manifest, opsByDoc, expected);
  return { manifest, fixes, findings, changed: true, text };
}
