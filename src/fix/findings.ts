// Findings for `--check`: one per engine warning, placed on the line a reader should look at.

import { isMap, isSeq, type Document } from 'yaml';
import { WARNING_PREFIX } from '../engine/describe.js';
import type { ContainerChange } from '../engine/mutate.js';
import type { ObjectFix } from './fix-objects.js';
import type { Manifest } from './parse-manifest.js';
import { findPair } from './yaml-nodes.js';

export interface Finding {
  file: string;
  /** 1-based. */
  line: number;
  /** The engine's warning, without its `pullfix: ` prefix. */
  message: string;
  /** Whether fixing the manifest resolves it (false: a problem pullfix leaves for the user). */
  fixed: boolean;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.message}`;
}

function unprefixed(warning: string): string {
  return warning.startsWith(WARNING_PREFIX) ? warning.slice(WARNING_PREFIX.length) : warning;
}

/** Locates nodes of one object in its document. */
class Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly manifest: Manifest,
    private readonly fix: ObjectFix,
  ) {}

  private line(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    return range ? this.manifest.lineCounter.linePos(range[0]).line : undefined;
  }

  private node(path: readonly string[]): unknown {
    return this.doc.getIn([...this.fix.object.path, ...path], true);
  }

  /** The key's line when the mapping has it, else the mapping's first line. */
  private keyOrStart(node: unknown, key: string): number | undefined {
    const pair = isMap(node) ? findPair(node, key) : undefined;
    return this.line(pair?.key) ?? this.line(node);
  }

  object(): number {
    return this.line(this.node([])) ?? this.line(this.doc.contents) ?? 1;
  }

  container(list: ContainerChange['list'], index: number): number {
    const podSpec = this.fix.podSpecPath ?? [];
    return this.keyOrStart(this.node([...podSpec, list, String(index)]), 'imagePullPolicy') ?? this.object();
  }

  stray(): number {
    return this.keyOrStart(this.node(this.fix.podSpecPath ?? []), 'imagePullPolicy') ?? this.object();
  }

  /** A warning about a container names it (`container "app": ...`); others concern the stray field. */
  forWarning(message: string): number {
    if (message.startsWith('pod-level ')) return this.stray();
    const podSpec = this.fix.podSpecPath;
    if (podSpec) {
      for (const list of ['containers', 'initContainers'] as const) {
        const containers: unknown = this.node([...podSpec, list]);
        if (!isSeq(containers)) continue;
        const index = containers.items.findIndex((c: unknown) => {
          const name: unknown = isMap(c) ? c.get('name') : undefined;
          return typeof name === 'string' && message.startsWith(`container ${JSON.stringify(name)}:`);
        });
        if (index >= 0) return this.line(containers.items[index]) ?? this.object();
      }
    }
    return this.object();
  }
}

/** Every warning the engine gave for the manifest's objects, each with its line, in line order. */
export function findingsFor(manifest: Manifest, fixes: readonly ObjectFix[]): Finding[] {
  const file = manifest.input.name;
  const findings: Finding[] = [];
  for (const fix of fixes) {
    const doc = manifest.docs[fix.object.docIndex];
    if (!doc) continue;
    const at = new Locator(doc, manifest, fix);
    const { changes, strayRemoved, warnings } = fix.result;
    // The engine ends its warnings with one per change, in order, then one for the removed stray.
    const changeCount = changes.length + (strayRemoved ? 1 : 0);
    const split = warnings.length >= changeCount ? warnings.length - changeCount : 0;
    warnings.slice(split).forEach((warning, i) => {
      const change = changes[i];
      const line = change ? at.container(change.list, change.index) : at.stray();
      findings.push({ file, line, message: unprefixed(warning), fixed: true });
    });
    const others = warnings.slice(0, split);
    for (const warning of others) {
      const message = unprefixed(warning);
      // A pod-level value read in another letter case is gone once the field is removed.
      const fixed = strayRemoved && message.startsWith('pod-level ');
      findings.push({ file, line: at.forWarning(message), message, fixed });
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}
