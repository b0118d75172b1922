import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { isObject } from '../engine/explicit.js';
import { PARSE_OPTIONS } from '../fix/parse-manifest.js';
import { STDIN_NAME } from '../fix/read-inputs.js';
import { KrmError } from './krm-error.js';

/** The versions of the KRM function specification's ResourceList this function reads. */
export const RESOURCE_LIST_VERSIONS = ['config.kubernetes.io/v1', 'config.kubernetes.io/v1alpha1'] as const;

/** One entry of `items`, as a node (for editing in place) and as plain data (for the engine). */
export interface ResourceListItem {
  index: number;
  node: Node;
  value: unknown;
}

/** A ResourceList read from its text: the document keeps every byte's position. */
export interface ResourceList {
  source: string;
  lineCounter: LineCounter;
  doc: Document.Parsed;
  value: Record<string, unknown>;
  items: ResourceListItem[];
  functionConfig: unknown;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Parses and checks a ResourceList. Everything that is not one is a KrmError naming what is
 * wrong and where, since the orchestrator only shows the function's stderr.
 */
export function parseResourceList(source: string): ResourceList {
  if (source.trim() === '') throw new KrmError('no input: expected a ResourceList (config.kubernetes.io/v1) on standard input');
  const lineCounter = new LineCounter();
  const docs = Array.from(parseAllDocuments(source, { ...PARSE_OPTIONS, lineCounter, prettyErrors: true }));
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      // Placed as `fix` places its input errors: `<stdin>:LINE:COL: …`.
      const pos = error.linePos?.[0];
      throw new KrmError(`${STDIN_NAME}:${pos?.line ?? 1}:${pos?.col ?? 1}: invalid YAML in the ResourceList: ${firstLine(error.message)}`);
    }
  }
  const real = docs.filter((d) => d.contents !== null);
  if (real.length !== 1) throw new KrmError(`expected one ResourceList document on standard input, got ${real.length} documents`);
  const doc = real[0] as Document.Parsed;
  const value: unknown = doc.toJS();
  if (!isObject(value) || !isMap(doc.contents)) throw new KrmError('expected a ResourceList: the input is not a mapping');
  if (value.kind !== 'ResourceList') {
    throw new KrmError(value.kind === undefined
      ? 'expected kind ResourceList, got an object with no kind (a KRM function reads a ResourceList on stdin; for manifests use pullfix fix)'
      : `expected kind ResourceList, got ${JSON.stringify(value.kind)} (is this a manifest? use pullfix fix for manifests)`);
  }
  if (!(RESOURCE_LIST_VERSIONS as readonly unknown[]).includes(value.apiVersion)) {
    const got = value.apiVersion === undefined ? `it has none: add apiVersion: ${RESOURCE_LIST_VERSIONS[0]}` : `got ${JSON.stringify(value.apiVersion)}`;
    throw new KrmError(`ResourceList apiVersion must be one of ${RESOURCE_LIST_VERSIONS.join(', ')}, ${got}`);
  }
  const itemsNode: unknown = doc.get('items', true);
  let items: ResourceListItem[] = [];
  if (value.items !== undefined && value.items !== null) {
    if (!isSeq(itemsNode) || !Array.isArray(value.items)) throw new KrmError('ResourceList items must be a list of objects');
    items = itemsNode.items.map((node, index) => {
      const item: unknown = (value.items as unknown[])[index];
      if (!isObject(item)) {
        const line = node && (node as Node).range ? lineCounter.linePos((node as Node).range![0]).line : undefined;
        throw new KrmError(`ResourceList items[${index}]${line ? ` (line ${line})` : ''} is not an object`);
      }
      return { index, node: node as Node, value: item };
    });
  }
  if (value.results !== undefined && value.results !== null && !Array.isArray(value.results)) {
    throw new KrmError('ResourceList results must be a list');
  }
  return { source, lineCounter, doc, value, items, functionConfig: value.functionConfig };
}
