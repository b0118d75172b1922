// Findings for `--check`: one per engine warning, placed on the line a reader should look at.

import { isMap, isSeq, type Document, type LineCounter } from 'yaml';
import { WARNING_PREFIX } from '../engine/describe.js';
import type { ContainerChange } from '../engine/mutate.js';
import { ENTRY_FIELDS, type ContainerList, type ImageClass } from '../engine/types.js';
import type { ObjectFix } from './fix-objects.js';
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

/** Where a class policy came from, in words a user can find it by: `--policy mutable=Always`. */
export type PolicyOrigin = (imageClass: ImageClass) => string | undefined;

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.message}`;
}

function unprefixed(warning: string): string {
  return warning.startsWith(WARNING_PREFIX) ? warning.slice(WARNING_PREFIX.length) : warning;
}

/**
 * The engine words a class policy as a namespace's (what it is in the webhook); a manifest
 * has no namespace labels, so the finding names the flag or config file it came from.
 */
export function withOrigin(message: string, change: ContainerChange | undefined, origin: PolicyOrigin | undefined): string {
  if (!change || change.reason !== 'policy' || !origin || !change.imageClass) return message;
  const from = origin(change.imageClass);
  const said = `(namespace policy for ${change.imageClass} images)`;
  return from && message.endsWith(said) ? `${message.slice(0, -said.length)}(${from})` : message;
}

const LISTS = Object.keys(ENTRY_FIELDS) as ContainerList[];

/** Locates nodes of one object in its document. */
class Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
    private readonly fix: ObjectFix,
  ) {}

  private line(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    return range ? this.lineCounter.linePos(range[0]).line : undefined;
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

  /** An entry's pull-policy line (`imagePullPolicy`, or an image volume's `image.pullPolicy`), else its first line. */
  container(list: ContainerList, index: number): number {
    const podSpec = this.fix.podSpecPath ?? [];
    const field = ENTRY_FIELDS[list].pullPolicy;
    const entry = [...podSpec, list, String(index)];
    return (
      this.keyOrStart(this.node([...entry, ...field.slice(0, -1)]), field.at(-1) as string) ??
      this.line(this.node(entry)) ??
      this.object()
    );
  }

  stray(): number {
    return this.keyOrStart(this.node(this.fix.podSpecPath ?? []), 'imagePullPolicy') ?? this.object();
  }

  /** A warning about an entry names it (`container "app": ...`); others concern the stray field. */
  forWarning(message: string): number {
    if (message.startsWith('pod-level ')) return this.stray();
    const podSpec = this.fix.podSpecPath;
    if (podSpec) {
      for (const list of LISTS) {
        const entries: unknown = this.node([...podSpec, list]);
        if (!isSeq(entries)) continue;
        const index = entries.items.findIndex((c: unknown) => {
          const name: unknown = isMap(c) ? c.get('name') : undefined;
          return typeof name === 'string' && message.includes(` ${JSON.stringify(name)}:`);
        });
        if (index >= 0) return this.line(entries.items[index]) ?? this.object();
      }
    }
    return this.object();
  }
}

/** Every warning the engine gave for one document's objects, each with its line. */
export function findingsFor(
  file: string,
  doc: Document.Parsed,
  lineCounter: LineCounter,
  fixes: readonly ObjectFix[],
  origin?: PolicyOrigin,
): Finding[] {
  const findings: Finding[] = [];
  for (const fix of fixes) {
    const at = new Locator(doc, lineCounter, fix);
    const { changes, strayRemoved, warnings } = fix.result;
    // The engine ends its warnings with one per change, in order, then one for the removed stray.
    const changeCount = changes.length + (strayRemoved ? 1 : 0);
    const split = warnings.length >= changeCount ? warnings.length - changeCount : 0;
    warnings.slice(split).forEach((warning, i) => {
      const change = changes[i];
      const line = change ? at.container(change.list, change.index) : at.stray();
      findings.push({ file, line, message: withOrigin(unprefixed(warning), change, origin), fixed: true });
    });
    for (const warning of warnings.slice(0, split)) {
      const message = unprefixed(warning);
      // A pod-level value read in another letter case is gone once the field is removed.
      const fixed = strayRemoved && message.startsWith('pod-level ');
      findings.push({ file, line: at.forWarning(message), message, fixed });
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}
