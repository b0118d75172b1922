import { compileConfig } from '../engine/config.js';
import { createEngine } from '../engine/mutate.js';
import { resolveNamespacePolicy } from '../engine/namespace-policy.js';
import { loadConfigFile } from '../config/load-config.js';
import { isChartTemplate, skippedTemplatesNote } from './chart-templates.js';
import { encodeOutput } from './decode.js';
import { expandPaths } from './expand-paths.js';
import { formatFinding, type Finding } from './findings.js';
import { FixError, formatDiagnostic } from './fix-error.js';
import { fixInput, type FixedManifest } from './fix-manifest.js';
import { applyOverrides, policyOrigin } from './fix-options.js';
import { joinStreams, writeSummary } from './output.js';
import { NO_PROGRESS, progressLine, wantsProgress } from './progress.js';
import { readInputs, STDIN_ARG, type Input } from './read-inputs.js';
import { githubReport, jsonReport, OUTPUT_FORMATS, sarifReport, type OutputFormat, type ReportContext, type Skipped } from './report-formats.js';
import { checkWritable, REAL_FS, symlinkNotice, symlinkTarget, writeAtomically, type WriteFs } from './write-files.js';

export interface FixOptions {
  /** Files as given; `-` is standard input. */
  files: readonly string[];
  write?: boolean;
  /** With `write`: write through symbolic links to the files they point to (else links are reported and skipped). */
  followSymlinks?: boolean;
  check?: boolean;
  /** Read the directories given and every directory below them (kubectl's -R). */
  recursive?: boolean;
  /** Globs of paths, relative to each directory given, that are not read (path-glob.ts). */
  exclude?: readonly string[];
  /** How `--check` prints findings: text (`FILE:LINE: message`, the default), json, sarif or github. */
  output?: string;
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
  /** Whether standard error is a terminal (progress is shown only there); false when absent. */
  stderrIsTTY?: boolean;
  /** $TERM: a `dumb` terminal cannot rewrite a line. */
  term?: string;
  /** Where paths in reports are relative to; the process's working directory when absent. */
  cwd?: string;
  /** The version reports name (SARIF's tool.driver.version). */
  toolVersion?: string;
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

function checkOutput(options: FixOptions): OutputFormat {
  const output = options.output ?? 'text';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new FixError(`-o ${JSON.stringify(output)}: must be one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  if (output !== 'text' && !options.check) {
    throw new FixError(`-o ${output} formats findings: add --check (without it, fix prints the fixed manifests)`);
  }
  return output as OutputFormat;
}

/** The findings of `--check`, in the format asked for. */
function report(format: OutputFormat, findings: readonly Finding[], skipped: readonly Skipped[], inputs: readonly Input[], io: FixIO): string {
  const paths = new Set(inputs.flatMap((i) => (i.path === undefined ? [] : [i.name])));
  const isPath = (file: string): boolean => paths.has(file);
  const context: ReportContext = { cwd: io.cwd ?? process.cwd(), toolVersion: io.toolVersion ?? 'unknown' };
  if (format === 'json') return jsonReport(findings, skipped, isPath, context);
  if (format === 'sarif') return sarifReport(findings, isPath, context);
  if (format === 'github') return githubReport(findings, isPath, context);
  return lines(findings.map(formatFinding));
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
  const format = checkOutput(options);
  const fileConfig = loadConfigFile(options.config);
  const config = compileConfig(applyOverrides(fileConfig, options));
  const engine = createEngine(config);
  // A manifest carries no namespace labels: the config (and the command line) decide.
  const policy = resolveNamespacePolicy(config, undefined);
  const origin = policyOrigin(fileConfig, options, options.config);

  // Read and fix everything before writing anything: one bad file leaves every file as it was.
  const { inputs, diagnostics } = await readInputs(expandPaths(args, options), io.readStdin);
  const progress = wantsProgress(io.stderrIsTTY === true, inputs.length, io.term) ? progressLine(inputs.length, io.stderr) : NO_PROGRESS;
  const fixed: FixedManifest[] = [];
  // Helm chart templates among the files are skipped with one note; standard input that is a
  // template is an error, as it is the whole input.
  const templates: string[] = [];
  for (const input of inputs) {
    const outcome = input.path !== undefined && isChartTemplate(input.path, input.text) ? undefined : fixInput(input, { engine, policy, origin });
    progress.tick();
    if (outcome === undefined || (!outcome.ok && outcome.helmTemplate && input.path !== undefined)) templates.push(input.name);
    else if (outcome.ok) fixed.push(outcome.fixed);
    else diagnostics.push(...outcome.diagnostics);
  }
  progress.done();
  if (templates.length > 0) io.stderr(`pullfix: ${skippedTemplatesNote(templates)}\n`);
  if (diagnostics.length > 0) {
    io.stderr(lines(diagnostics.map(formatDiagnostic)));
    if (options.write) io.stderr('pullfix: nothing written\n');
    return 2;
  }

  if (options.check) {
    const findings = fixed.flatMap((f) => f.findings);
    const skipped = templates.map((file): Skipped => ({ file, reason: 'helm-template' }));
    io.stdout(report(format, findings, skipped, inputs, io));
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
