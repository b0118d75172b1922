// Namespaces from a file, for clusters where the webhook may not list Namespaces and for
// local runs: whatever `kubectl get ns -o yaml` (or `-o json`) prints, a v1 List or
// NamespaceList, multi-document YAML, or a single Namespace.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type Document, LineCounter, type Node, isMap, isSeq, parseAllDocuments } from 'yaml';
import { isObject } from '../engine/explicit.js';
import type { NamespaceInfo } from '../engine/types.js';
import { watchFiles } from '../util/watch-files.js';
import { type NamespaceSource, type NamespaceSourceStatus, namespaceInfoFrom } from './namespace-source.js';
import { UserError } from '../util/user-error.js';

/** A namespace file that cannot be used: where (file, line, item) and what is wrong. */
export class NamespaceFileError extends UserError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'NamespaceFileError';
  }
}

export interface FileNamespaceSourceOptions {
  logger?: Logger;
  /** Re-read the file when it changes, keeping the last good content if the new one is bad. */
  watch?: boolean;
  /** Poll interval while watching (fs.watch events only make it quicker). Default 2000. */
  intervalMs?: number;
}


/** Parses a file of Namespace objects; throws NamespaceFileError. Exported for `pullfix fix`. */
export function parseNamespaceFile(text: string, file: string): NamespaceInfo[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  const docList: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  const lineOf = (node: unknown): number | undefined => {
    const start = (node as Node | undefined)?.range?.[0];
    return start === undefined ? undefined : lines.linePos(start).line;
  };
  const fail = (line: number | undefined, message: string): never => {
    throw new NamespaceFileError(`${file}${line === undefined ? '' : `:${line}`}: ${message}`, file, line);
  };

  const found = new Map<string, { info: NamespaceInfo; where: string }>();
  let documents = 0;
  docList.forEach((doc, d) => {
    const syntax = doc.errors[0];
    if (syntax) fail(syntax.linePos?.[0].line, `not valid YAML: ${syntax.message.split('\n')[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
    documents++;
    const docWhere = docList.length > 1 ? `document ${d + 1}` : 'the document';
    if (!isObject(value)) return fail(lineOf(doc.contents), `${docWhere} is not a Kubernetes object`);
    if (value.apiVersion !== undefined && value.apiVersion !== 'v1') {
      return fail(lineOf(doc.contents), `${docWhere} has apiVersion ${String(value.apiVersion)}; Namespaces and Lists are v1`);
    }
    const add = (item: unknown, node: unknown, where: string): void => {
      const info = namespaceFrom(item, (path, problem) => {
        const at = isMap(node) ? node.getIn(path, true) : undefined;
        return fail(lineOf(at ?? node), `${where}: ${problem}`);
      });
      const first = found.get(info.name);
      if (first) fail(lineOf(node), `${where}: namespace ${info.name} is listed twice (first in ${first.where})`);
      found.set(info.name, { info, where });
    };
    if (value.kind === 'List' || value.kind === 'NamespaceList') {
      const items = value.items ?? [];
      const seq = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
      if (!Array.isArray(items)) return fail(lineOf(seq), `${docWhere}: items is not a list`);
      const prefix = docList.length > 1 ? `${docWhere} ` : '';
      items.forEach((item, i) => add(item, isSeq(seq) ? seq.items[i] : undefined, `${prefix}items[${i}]`));
    } else if (value.kind === 'Namespace') {
      add(value, doc.contents, docWhere);
    } else {
      const kind = value.kind === undefined ? 'no kind' : `kind ${String(value.kind)}`;
      fail(lineOf(doc.contents), `${docWhere} has ${kind}; expected a Namespace, NamespaceList or List (kubectl get ns -o yaml)`);
    }
  });
  if (documents === 0) fail(undefined, 'holds no Namespace objects (expected the output of kubectl get ns -o yaml)');
  return [...found.values()].map((f) => f.info);
}

/** Checks one item; `bad(path, problem)` must throw. */
function namespaceFrom(item: unknown, bad: (path: string[], problem: string) => never): NamespaceInfo {
  if (!isObject(item)) return bad([], 'is not an object');
  if (item.kind !== undefined && item.kind !== 'Namespace') return bad(['kind'], `is a ${String(item.kind)}, not a Namespace`);
  const metadata = item.metadata;
  if (!isObject(metadata)) return bad([], 'has no metadata');
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') return bad(['metadata'], 'has no metadata.name');
  const strings = (field: 'labels' | 'annotations'): Record<string, string> => {
    const map = metadata[field];
    if (map === undefined || map === null) return {};
    if (!isObject(map)) return bad(['metadata', field], `namespace ${name}: metadata.${field} is not a map`);
    for (const [k, v] of Object.entries(map)) {
      if (typeof v !== 'string') {
        return bad(['metadata', field, k], `namespace ${name}: metadata.${field}.${k} is not a string (quote it)`);
      }
    }
    return map as Record<string, string>;
  };
  return namespaceInfoFrom({ name, labels: strings('labels'), annotations: strings('annotations') });
}

// Coalesces the burst of events one write (or a ConfigMap symlink swap) causes.

export class FileNamespaceSource implements NamespaceSource {
  private namespaces = new Map<string, NamespaceInfo>();
  private loaded = false;
  private connected = false;
  private errors = 0;
  private lastError: string | undefined;
  private lastEventAt: Date | undefined;
  private lastText: string | undefined;
  private rejectedText: string | undefined;
  private stopWatching: (() => void) | undefined;
  private reading: Promise<void> | undefined;
  private readonly logger: Logger | undefined;
  private readonly watchFile: boolean;
  private readonly intervalMs: number;

  constructor(
    readonly file: string,
    opts: FileNamespaceSourceOptions = {},
  ) {
    this.logger = opts.logger;
    this.watchFile = opts.watch ?? false;
    this.intervalMs = opts.intervalMs ?? 2000;
  }

  get(name: string): NamespaceInfo | undefined {
    return this.namespaces.get(name);
  }

  synced(): boolean {
    return this.loaded;
  }

  /** Loads the file; rejects with a NamespaceFileError saying where and what is wrong. */
  async start(): Promise<void> {
    if (this.loaded) return;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      throw this.record(readError(this.file, err));
    }
    try {
      this.accept(text);
    } catch (err) {
      throw this.record(err as Error);
    }
    if (this.watchFile) this.startWatching();
  }

  async stop(): Promise<void> {
    this.stopWatching?.();
    this.stopWatching = undefined;
    await this.reading;
  }

  status(): NamespaceSourceStatus {
    return {
      synced: this.loaded,
      connected: this.connected,
      size: this.namespaces.size,
      ...(this.lastEventAt && { lastEventAt: this.lastEventAt }),
      errors: this.errors,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  private accept(text: string): void {
    const infos = parseNamespaceFile(text, this.file);
    this.namespaces = new Map(infos.map((i) => [i.name, i]));
    this.lastText = text;
    this.rejectedText = undefined;
    this.loaded = this.connected = true;
    this.lastEventAt = new Date();
  }

  private record(err: Error): Error {
    this.errors++;
    this.lastError = err.message;
    this.connected = false;
    return err;
  }

  private startWatching(): void {
    this.stopWatching = watchFiles([this.file], { intervalMs: this.intervalMs, logger: this.logger, what: 'namespace file' }, () =>
      this.reload(),
    );
  }

  private reload(): void {
    if (this.reading || !this.stopWatching) return;
    this.reading = this.reread().finally(() => (this.reading = undefined));
  }

  private async reread(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      this.refuse(readError(this.file, err), undefined);
      return;
    }
    if (!this.stopWatching) return; // stopped meanwhile
    if (text === this.lastText) {
      this.connected = true;
      return;
    }
    if (text === this.rejectedText) return; // already refused and logged
    try {
      this.accept(text);
    } catch (err) {
      this.refuse(err as Error, text);
      return;
    }
    this.logger?.info({ file: this.file, namespaces: this.namespaces.size }, 'namespace file reloaded');
  }

  private refuse(err: Error, text: string | undefined): void {
    if (text === undefined && err.message === this.lastError && !this.connected) return; // same read error again
    this.rejectedText = text;
    this.record(err);
    this.logger?.warn({ file: this.file, err: err.message }, 'refused new namespace file; keeping the last good content');
  }
}

function readError(file: string, err: unknown): NamespaceFileError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`;
  return new NamespaceFileError(`namespace file ${file} ${why}`, file);
}
