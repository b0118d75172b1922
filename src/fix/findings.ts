// Findings for `--check`: one per engine warning, placed on the line a reader should look at.

import { isMap, isSeq, type Document, type LineCounter } from 'yaml';
import { WARNING_PREFIX } from '../engine/describe.js';
import type { ContainerChange } from '../engine/mutate.js';
import { isObject } from '../engine/explicit.js';
import { ENTRY_FIELDS, type ContainerList, type ImageClass } from '../engine/types.js';
import type { ObjectFix } from './fix-objects.js';
import { ruleForChange, ruleForNotice, type RuleId } from './rules.js';
import { findPair } from './yaml-nodes.js';

/** What fixing does about a finding: a field of the object set to a value, or removed. */
export interface FindingFix {
  /** The field, from the object's root: `spec.template.spec.containers[0].imagePullPolicy`. */
  field: string;
  /** The value it gets; absent when the field is removed. */
  value?: string;
}

/** The object a finding is about, as `kubectl get` names it. */
export interface FindingObject {
  apiVersion?: string;
  kind: string;
  name?: string;
  namespace?: string;
}

export interface Finding {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  col: number;
  rule: RuleId;
  /** The engine's warning, without its `pullfix: ` prefix. */
  message: string;
  /** Whether fixing the manifest resolves it (false: a problem pullfix leaves for the user). */
  fixed: boolean;
  object?: FindingObject;
  /** What `pullfix fix` changes for it; absent when it changes nothing (a problem left for the user). */
  fix?: FindingFix;
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

/** A line and column (1-based). */
interface Position {
  line: number;
  col: number;
}

/** `spec.template.spec.containers[0].imagePullPolicy`: list indexes in brackets, as kubectl and kpt print paths. */
export function fieldPath(segments: readonly string[]): string {
  return segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function objectOf(value: Record<string, unknown>): FindingObject | undefined {
  if (typeof value.kind !== 'string') return undefined;
  const metadata = isObject(value.metadata) ? value.metadata : {};
  return {
    ...(typeof value.apiVersion === 'string' ? { apiVersion: value.apiVersion } : {}),
    kind: value.kind,
    ...(typeof metadata.name === 'string' ? { name: metadata.name } : {}),
    ...(typeof metadata.namespace === 'string' ? { namespace: metadata.namespace } : {}),
  };
}

/** Locates nodes of one object in its document. */
class Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
    private readonly fix: ObjectFix,
  ) {}

  private line(node: unknown): Position | undefined {
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    return range ? this.lineCounter.linePos(range[0]) : undefined;
  }

  private node(path: readonly string[]): unknown {
    return this.doc.getIn([...this.fix.object.path, ...path], true);
  }

  /** The key's line when the mapping has it, else the mapping's first line. */
  private keyOrStart(node: unknown, key: string): Position | undefined {
    const pair = isMap(node) ? findPair(node, key) : undefined;
    return this.line(pair?.key) ?? this.line(node);
  }

  object(): Position {
    return this.line(this.node([])) ?? this.line(this.doc.contents) ?? { line: 1, col: 1 };
  }

  /** An entry's pull-policy line (`imagePullPolicy`, or an image volume's `image.pullPolicy`), else its first line. */
  container(list: ContainerList, index: number): Position {
    const podSpec = this.fix.podSpecPath ?? [];
    const field = ENTRY_FIELDS[list].pullPolicy;
    const entry = [...podSpec, list, String(index)];
    return (
      this.keyOrStart(this.node([...entry, ...field.slice(0, -1)]), field.at(-1) as string) ??
      this.line(this.node(entry)) ??
      this.object()
    );
  }

  stray(): Position {
    return this.keyOrStart(this.node(this.fix.podSpecPath ?? []), 'imagePullPolicy') ?? this.object();
  }

  /** A warning about an entry names it (`container "app": ...`); others concern the stray field. */
  forWarning(message: string): Position {
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

/** Findings by line; a stable sort keeps the engine's order within one line. */
export function byPosition(a: Finding, b: Finding): number {
  return a.line - b.line;
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
    const object = objectOf(fix.object.value);
    const about = object ? { object } : {};
    const podSpec = fix.podSpecPath ?? [];
    const { changes, strayRemoved, warnings } = fix.result;
    // The engine ends its warnings with one per change, in order, then one for the removed stray.
    const changeCount = changes.length + (strayRemoved ? 1 : 0);
    const split = warnings.length >= changeCount ? warnings.length - changeCount : 0;
    warnings.slice(split).forEach((warning, i) => {
      const change = changes[i];
      const pos = change ? at.container(change.list, change.index) : at.stray();
      const message = withOrigin(unprefixed(warning), change, origin);
      const fixOf: FindingFix = change
        ? { field: fieldPath([...podSpec, change.list, String(change.index), ...ENTRY_FIELDS[change.list].pullPolicy]), value: change.to }
        : { field: fieldPath([...podSpec, 'imagePullPolicy']) };
      findings.push({ file, ...pos, rule: change ? ruleForChange(change) : 'PF001', message, fixed: true, ...about, fix: fixOf });
    });
    for (const warning of warnings.slice(0, split)) {
      const message = unprefixed(warning);
      // A pod-level value read in another letter case is gone once the field is removed.
      const fixed = strayRemoved && message.startsWith('pod-level ');
      findings.push({ file, ...at.forWarning(message), rule: ruleForNotice(message), message, fixed, ...about });
    }
  }
  return findings.sort(byPosition);
}
