// Inserting and removing one `key: value` pair in the text of a mapping, block or flow (JSON
// is flow YAML), in the style of the pairs around it.

import { Scalar, type Node, type Pair, type YAMLMap } from 'yaml';
import { CannotEdit, type TextEdit } from './text-edits.js';

/** The text being edited and the line ending new lines get. */
export interface Source {
  text: string;
  newline: string;
}

type NodePair = Pair<Node, Node | null>;
type NodeMap = YAMLMap<Node, Node | null>;

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset just past the line that holds the character before `end`. */
function endOfLine(text: string, end: number): number {
  const nl = text.indexOf('\n', Math.max(end - 1, 0));
  return nl < 0 ? text.length : nl + 1;
}

function keyRange(pair: NodePair): [number, number] {
  const range = pair.key.range;
  if (!range) throw new CannotEdit(0, 'a key without a position');
  return [range[0], range[1]];
}

/** Where a pair's value ends (its key's end when it has no value). */
function valueEnd(pair: NodePair): number {
  return pair.value?.range?.[1] ?? keyRange(pair)[1];
}

function quoted(pair: NodePair): boolean {
  return pair.key instanceof Scalar && pair.key.type === Scalar.QUOTE_DOUBLE;
}

/** `? key` (YAML's explicit key, the value on a `: ` line of its own) before the key on its line. */
function isExplicitKey(src: Source, keyStart: number): boolean {
  return /^[ -]*\?[ \t]*$/.test(src.text.slice(lineStart(src.text, keyStart), keyStart));
}

/** How a pair reads written the usual way, for a message: `imagePullPolicy: Always`. */
function plainForm(src: Source, pair: NodePair): string {
  const key = String((pair.key as Scalar).value);
  const range = pair.value?.range;
  const value = range ? src.text.slice(range[0], range[1]).trim() : '';
  return value === '' || value.includes('\n') ? `${key}: VALUE` : `${key}: ${value}`;
}

/** Refuses to edit around an explicit key, saying how to write it so pullfix can. */
function explicitKey(src: Source, pair: NodePair, doing: string): CannotEdit {
  const key = String((pair.key as Scalar).value);
  return new CannotEdit(
    keyRange(pair)[0],
    `${doing}: "? ${key}" is written as an explicit key (YAML's "? key" then ": value" form), which pullfix does not edit`,
    `write it as "${plainForm(src, pair)}" on one line and run pullfix again`,
  );
}

function insertBlock(src: Source, ref: NodePair, key: string, value: string): TextEdit {
  const [keyStart] = keyRange(ref);
  const start = lineStart(src.text, keyStart);
  if (isExplicitKey(src, keyStart)) throw explicitKey(src, ref, `cannot add ${key}`);
  if (!/^[ -]*$/.test(src.text.slice(start, keyStart))) {
    throw new CannotEdit(keyStart, `cannot add ${key}: the key before it does not start its line`);
  }
  const at = endOfLine(src.text, valueEnd(ref));
  const line = `${' '.repeat(keyStart - start)}${key}: ${value}`;
  return at === src.text.length && !src.text.endsWith('\n')
    ? { start: at, end: at, text: src.newline + line }
    : { start: at, end: at, text: line + src.newline };
}

/** What separates two pairs of a flow mapping (`, ` or `,\n    `), when it holds no comment. */
function separator(src: Source, map: NodeMap, index: number): string | undefined {
  const [a, b] = index + 1 < map.items.length ? [map.items[index], map.items[index + 1]] : [map.items[index - 1], map.items[index]];
  if (!a || !b) return undefined;
  const sep = src.text.slice(valueEnd(a), keyRange(b)[0]);
  return /^\s*,\s*$/.test(sep) ? sep : undefined;
}

function insertFlow(src: Source, map: NodeMap, ref: NodePair | undefined, key: string, value: string): TextEdit {
  const json = ref ? quoted(ref) : src.text.trimStart().startsWith('{') || src.text.trimStart().startsWith('[');
  const keyText = json ? JSON.stringify(key) : key;
  const valueText = json ? JSON.stringify(value) : value;
  const open = map.range?.[0] ?? 0;
  if (!ref) {
    // `{}`: the pair goes inside the braces.
    return { start: open + 1, end: open + 1, text: `${keyText}: ${valueText}` };
  }
  const [keyStart, keyEnd] = keyRange(ref);
  const valueStart = ref.value?.range?.[0];
  const between = valueStart === undefined ? ': ' : src.text.slice(keyEnd, valueStart);
  const colon = /^[ \t]*:[ \t]*$/.test(between) ? between : ': ';
  let sep = separator(src, map, map.items.indexOf(ref));
  if (sep === undefined) {
    const multiLine = src.text.slice(open, keyStart).includes('\n');
    sep = multiLine ? `,${src.newline}${' '.repeat(keyStart - lineStart(src.text, keyStart))}` : colon.includes(' ') ? ', ' : ',';
  }
  const at = valueEnd(ref);
  return { start: at, end: at, text: `${sep}${keyText}${colon}${valueText}` };
}

/** A new pair after `anchorKey`'s pair when the mapping has one, else after its last pair. */
export function insertPair(src: Source, map: NodeMap, anchorKey: string | undefined, key: string, value: string): TextEdit {
  const own = map.items.filter((p) => p.key?.range);
  const ref = own.find((p) => p.key instanceof Scalar && String(p.key.value) === anchorKey) ?? own.at(-1);
  if (map.flow) return insertFlow(src, map, ref, key, value);
  if (!ref) throw new CannotEdit(map.range?.[0] ?? 0, `cannot add ${key} to an empty mapping`);
  return insertBlock(src, ref, key, value);
}

/** Removes a pair: its whole line in block style (own trailing comment included), the pair and one comma in flow style. */
export function removePair(src: Source, map: NodeMap, pair: NodePair): TextEdit {
  const [keyStart] = keyRange(pair);
  const end = valueEnd(pair);
  const index = map.items.indexOf(pair);
  if (map.flow) {
    const next = map.items[index + 1];
    if (next) return { start: keyStart, end: keyRange(next)[0], text: '' };
    const prev = map.items[index - 1];
    return prev ? { start: valueEnd(prev), end, text: '' } : { start: keyStart, end, text: '' };
  }
  // The only pair: the mapping stays a mapping.
  if (map.items.length === 1) return { start: keyStart, end, text: '{}' };
  const start = lineStart(src.text, keyStart);
  if (isExplicitKey(src, keyStart)) throw explicitKey(src, pair, `cannot remove ${String((pair.key as Scalar).value)}`);
  if (!/^ *$/.test(src.text.slice(start, keyStart))) {
    throw new CannotEdit(keyStart, `cannot remove ${String((pair.key as Scalar).value)}: it shares its line with a "- " or another key`);
  }
  return { start, end: endOfLine(src.text, end), text: '' };
}
