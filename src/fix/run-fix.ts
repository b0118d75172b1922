import { compileConfig } from '../engine/config.js';
import { createEngine } from '../engine/mutate.js';
import { resolveNamespacePolicy } from '../engine/namespace-policy.js';
import { loadConfigFile } from '../config/load-config.js';
import { encodeOutput } from './decode.js';
import { formatFinding } from './findings.js';
import { FixError, formatDiagnostic } from './fix-error.js';
import { fixInput, type FixedManifest } from './fix-manifest.js';
import { applyOverrides, policyOrigin } from './fix-options.js';
import { joinStreams, writeSummary } from './output.js';
import { readInputs, STDIN_ARG } from './read-inputs.js';
import { checkWritable, REAL_FS, symlinkNotice, symlinkTarget, writeAtomically, type WriteFs } from './write-files.js';

export interface FixOptions {
  /** Files as given; `-` is standard input. */
  files: readonly string[];
  write?: boolean;
  /** With `write`: write through symbolic links to the files they point to (else links are reported and skipped). */
  followSymlinks?: boolean;
  check?: boolean;
  config?: string;
  mode?: string;
  policies?: readonly string[];
}

/** The outside world, passed in so the command can be run against anything. */
export interface FixIO {
  stdinIsTTY: boolean;
  /** All of standard input, read as a stream. */
  readStdin(): Promise<Uint8Array>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The file-system calls `--write` makes (the real ones unless a test replaces them). */
  fs?: WriteFs;
}

function lines(items: readonly string[]): string {
  return items.map((l) => `${l}\n`).join('');
}

/**
 * Writes the changed files, each through a temporary file; a failure names what was and was not
 * written. A symbolic link is not written through unless `--follow-symlinks`: it is named on
 * standard error and skipped, and the answer is false (its fixes were not written).
 */
function writeAll(changed: readonly FixedManifest[], options: FixOptions, io: FixIO): boolean {
  const follow = { followSymlinks: options.followSymlinks === true };
  const targets = changed.filter((f) => {
    const link = follow.followSymlinks ? undefined : symlinkTarget(f.input.path as string);
    if (link !== undefined) io.stderr(`pullfix: ${symlinkNotice(f.input.name, link)}\n`);
    return link === undefined;
  });
  checkWritable(
    targets.map((f) => f.input.path as string),
    follow,
  );
  targets.forEach((f, i) => {
    try {
      writeAtomically(f.input.path as string, encodeOutput(f.text, f.input.encoding ?? 'utf-8'), io.fs ?? REAL_FS, follow);
    } catch (err) {
      const rest = targets.slice(i + 1).map((g) => g.input.name);
      if (err instanceof FixError && rest.length > 0) throw new FixError(`${err.message}\npullfix: not written: ${rest.join(', ')}`);
      throw err;
    }
    io.stderr(`${writeSummary(f)}\n`);
  });
  return targets.length === changed.length;
}

/**
 * Exit codes: 0 done (or clean); 1 findings under `--check`, or under `--write` a symbolic link
 * left unwritten (its findings remain: the rest are written); 2 invalid input (FixError for usage).
 */
export async function runFix(options: FixOptions, io: FixIO): Promise<number> {
  if (options.write && options.check) throw new FixError('--write and --check cannot be used together (--check changes nothing)');
  let args = options.files;
  if (args.length === 0) {
    if (io.stdinIsTTY) throw new FixError('no input: give manifest files, or pipe manifests to standard input (-)');
    args = [STDIN_ARG];
  }
  if (options.write && args.includes(STDIN_ARG)) {
    throw new FixError('--write rewrites files in place and cannot rewrite standard input; drop --write to print the fixed manifests');
  }
  const fileConfig = loadConfigFile(options.config);
  const config = compileConfig(applyOverrides(fileConfig, options));
  const engine = createEngine(config);
  // A manifest carries no namespace labels: the config (and the command line) decide.
  const policy = resolveNamespacePolicy(config, undefined);
  const origin = policyOrigin(fileConfig, options, options.config);

  // Read and fix everything before writing anything: one bad file leaves every file as it was.
  const outcomes = (await readInputs(args, io.readStdin)).map((input) => fixInput(input, { engine, policy, origin }));
  const diagnostics = outcomes.flatMap((o) => (o.ok ? [] : o.diagnostics));
  if (diagnostics.length > 0) {
    io.stderr(lines(diagnostics.map(formatDiagnostic)));
    if (options.write) io.stderr('pullfix: nothing written\n');
    return 2;
  }
  const fixed = outcomes.map((o) => (o as { fixed: FixedManifest }).fixed);

  if (options.check) {
    const findings = fixed.flatMap((f) => f.findings);
    io.stdout(lines(findings.map(formatFinding)));
    return findings.length > 0 ? 1 : 0;
  }
  // What fixing cannot resolve (an image that does not parse, an unusable stray value) is still said.
  io.stderr(lines(fixed.flatMap((f) => f.findings.filter((x) => !x.fixed)).map(formatFinding)));
  if (!options.write) {
    io.stdout(joinStreams(fixed.map((f) => f.text)));
    return 0;
  }
  // Untouched files are not rewritten, so their modification time (and make, and watchers) stay quiet.
  const allWritten = writeAll(
    fixed.filter((f) => f.changed && f.input.path !== undefined),
    options,
    io,
  );
  return allWritten ? 0 : 1;
}
