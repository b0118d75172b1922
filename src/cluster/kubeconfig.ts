// Reading kubeconfig files as kubectl does: which files (--kubeconfig, else every file of
// KUBECONFIG, else ~/.kube/config), merged with the first file winning per name and for
// current-context, then one context (--context, else current-context) resolved to its cluster and
// user, each remembered with the file it came from (relative paths are relative to that file).
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { isObject } from '../engine/explicit.js';
import { UserError } from '../util/user-error.js';

/** A kubeconfig or service account that cannot be used; names the file and the field. */
export class KubeConfigError extends UserError {
  override readonly name = 'KubeConfigError';
}

export type Json = Record<string, unknown>;

/** A section of a merged kubeconfig and the file that defined it. */
export interface Sourced {
  section: Json;
  file: string;
}

export interface ResolvedContext {
  /** The files read, in order, for messages. */
  files: string[];
  contextName: string;
  namespace?: string;
  clusterName: string;
  cluster: Sourced;
  userName: string;
  user: Sourced;
}

export interface KubeconfigChoice {
  /** --kubeconfig: this one file, which must exist (no merging, as kubectl). */
  kubeconfig?: string;
  /** --context: instead of current-context. */
  context?: string;
}

/**
 * The files kubectl would read: `--kubeconfig`, else KUBECONFIG's list (files that do not exist
 * are skipped, as kubectl skips them), else ~/.kube/config when it exists. Empty: no kubeconfig.
 */
export function kubeconfigFiles(choice: KubeconfigChoice, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string[] {
  if (choice.kubeconfig !== undefined) {
    if (!existsSync(choice.kubeconfig)) throw new KubeConfigError(`--kubeconfig ${choice.kubeconfig}: no such file; give the path of a kubeconfig`);
    return [choice.kubeconfig];
  }
  if (env.KUBECONFIG) return [...new Set(env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '' && existsSync(f)))];
  const file = path.join(home, '.kube', 'config');
  return existsSync(file) ? [file] : [];
}

function readDoc(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]?.replace(/:$/, '')}`);
  }
  if (doc !== null && doc !== undefined && !isObject(doc)) throw new KubeConfigError(`kubeconfig ${file}: not a kubeconfig (a YAML mapping with clusters, users and contexts)`);
  return (doc ?? {}) as Json;
}

/** `clusters`, `users`, `contexts` merged by name, the first file's entry winning. */
function mergeNamed(docs: ReadonlyArray<{ file: string; doc: Json }>, field: 'clusters' | 'users' | 'contexts'): Map<string, Sourced> {
  const inner = field.slice(0, -1);
  const merged = new Map<string, Sourced>();
  for (const { file, doc } of docs) {
    const list = doc[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new KubeConfigError(`kubeconfig ${file}: ${field} is not a list`);
    for (const entry of list) {
      if (!isObject(entry) || typeof entry.name !== 'string') continue;
      if (merged.has(entry.name)) continue;
      merged.set(entry.name, { section: isObject(entry[inner]) ? (entry[inner] as Json) : {}, file });
    }
  }
  return merged;
}

/** Merges `files` and resolves one context; throws naming the file and the missing piece. */
export function resolveContext(files: readonly string[], choice: KubeconfigChoice): ResolvedContext {
  const docs = files.map((file) => ({ file, doc: readDoc(file) }));
  const where = `kubeconfig ${files.join(path.delimiter)}`;
  const contexts = mergeNamed(docs, 'contexts');
  const current = docs.map((d) => d.doc['current-context']).find((c): c is string => typeof c === 'string' && c !== '');
  const contextName = choice.context ?? current;
  const known = [...contexts.keys()].join(', ') || 'none';
  if (contextName === undefined) throw new KubeConfigError(`${where} has no current-context`);
  const context = contexts.get(contextName);
  if (!context) {
    const how = choice.context !== undefined ? '--context' : 'current-context';
    throw new KubeConfigError(`${where}: context ${JSON.stringify(contextName)} (${how}) is not defined; contexts: ${known}`);
  }
  const clusterName = String(context.section.cluster ?? '');
  const cluster = mergeNamed(docs, 'clusters').get(clusterName);
  if (!cluster) throw new KubeConfigError(`${where}: cluster ${JSON.stringify(clusterName)} of context ${contextName} is not defined; add it under clusters`);
  const userName = String(context.section.user ?? '');
  const user = mergeNamed(docs, 'users').get(userName) ?? { section: {}, file: context.file };
  const namespace = typeof context.section.namespace === 'string' && context.section.namespace !== '' ? context.section.namespace : undefined;
  return { files: [...files], contextName, ...(namespace !== undefined ? { namespace } : {}), clusterName, cluster, userName, user };
}
