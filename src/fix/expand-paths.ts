// Directories on `fix`'s command line, read as kubectl reads `-f DIR`: the files directly in
// DIR whose names end in .yaml, .yml or .json, and with -R/--recursive the files of every
// directory below it too (symbolic links to directories are not followed, as kubectl's walk
// does not follow them; links to files are read). Files named on the command line are read
// whatever their name: naming one asks for it.

import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { FixError } from './fix-error.js';
import { compileExcludes } from './path-glob.js';
import { STDIN_ARG } from './read-inputs.js';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

export interface ExpandOptions {
  recursive?: boolean;
  /** Globs (path-glob.ts) for paths relative to each directory given. */
  exclude?: readonly string[];
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false; // missing or unreadable: reading it names the problem
  }
}

function isManifestName(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** A file entry, or a link to one. */
function isFileEntry(dir: string, entry: Dirent): boolean {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(path.join(dir, entry.name)).isFile();
  } catch {
    return false; // a dangling link: not a manifest
  }
}

function readDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw new FixError(`${dir}: cannot read the directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The manifest files of one directory, as paths that start with `dir` as given, in name order. */
function walk(dir: string, options: ExpandOptions, excluded: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const join = (rel: string): string => (dir.endsWith('/') ? dir + rel : `${dir}/${rel}`);
  const visit = (rel: string): void => {
    for (const entry of readDir(rel === '' ? dir : join(rel))) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (excluded(child)) continue;
      if (entry.isDirectory()) {
        if (options.recursive) visit(child);
      } else if (isManifestName(entry.name) && isFileEntry(rel === '' ? dir : join(rel), entry)) {
        out.push(join(child));
      }
    }
  };
  visit('');
  return out;
}

/**
 * The inputs the arguments name: each directory replaced by its manifest files, everything
 * else as given. A directory with no manifest file left is an error naming it, as kubectl
 * refuses a directory with nothing to apply.
 */
export function expandPaths(args: readonly string[], options: ExpandOptions = {}): string[] {
  const excluded = compileExcludes(options.exclude ?? []);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    const files = arg !== STDIN_ARG && isDirectory(arg) ? walk(arg, options, excluded) : [arg];
    if (files.length === 0) {
      const hint = options.recursive ? '' : ' directly in it (-R reads its subdirectories too)';
      const left = (options.exclude ?? []).length > 0 ? ' left after --exclude' : '';
      throw new FixError(`${arg}: no ${MANIFEST_EXTENSIONS.join(', ')} files${left}${hint}; name manifest files or another directory`);
    }
    for (const file of files) {
      // The same file reached twice (named, and in a directory given) is read once.
      if (file !== STDIN_ARG && seen.has(file)) continue;
      seen.add(file);
      out.push(file);
    }
  }
  return out;
}
