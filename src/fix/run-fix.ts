import { writeFileSync } from 'node:fs';
import { compileConfig } from '../engine/config.js';
import { createEngine } from '../engine/mutate.js';
import { resolveNamespacePolicy } from '../engine/namespace-policy.js';
import { loadConfigFile } from '../config/load-config.js';
import { formatFinding } from './findings.js';
import { FixError, formatDiagnostic } from './fix-error.js';
import { fixManifest } from './fix-manifest.js';
import { applyOverrides } from './fix-options.js';
import { joinStreams, writeSummary } from './output.js';
import { parseManifest, type Manifest } from './parse-manifest.js';
import { readInputs, STDIN_ARG } from './read-inputs.js';

export interface FixOptions {
  /** Files as given; `-` is standard input. */
  files: readonly string[];
  write?: boolean;
  check?: boolean;
  config?: string;
  mode?: string;
  policies?: readonly string[];
}

/** The outside world, passed in so the command can be run against anything. */
export interface FixIO {
  stdinIsTTY: boolean;
  readStdin(): string;
  stdout(text: string): void;
  stderr(text: string): void;
}

function lines(items: readonly string[]): string {
  return items.map((l) => `${l}\n`).join('');
}

/** Exit codes: 0 done (or clean), 1 findings under `--check`, 2 invalid input (FixError for usage). */
export function runFix(options: FixOptions, io: FixIO): number {
  if (options.write && options.check) throw new FixError('--write and --check cannot be used together (--check changes nothing)');
  let args = options.files;
  if (args.length === 0) {
    if (io.stdinIsTTY) throw new FixError('no input: give manifest files, or pipe manifests to standard input (-)');
    args = [STDIN_ARG];
  }
  if (options.write && args.includes(STDIN_ARG)) {
    throw new FixError('--write rewrites files in place and cannot rewrite standard input; drop --write to print the fixed manifests');
  }
  const config = compileConfig(applyOverrides(loadConfigFile(options.config), options));
  const engine = createEngine(config);
  // A manifest carries no namespace labels: the config (and the command line) decide.
  const policy = resolveNamespacePolicy(config, undefined);

  // Read and parse everything before writing anything: one bad file leaves every file as it was.
  const parsed = readInputs(args, io.readStdin).map(parseManifest);
  const diagnostics = parsed.flatMap((p) => (p.ok ? [] : p.diagnostics));
  if (diagnostics.length > 0) {
    io.stderr(lines(diagnostics.map((d) => formatDiagnostic({ ...d, message: `invalid YAML: ${d.message}` }))));
    if (options.write) io.stderr('pullfix: nothing written\n');
    return 2;
  }
  const fixed = parsed.map((p) => fixManifest((p as { manifest: Manifest }).manifest, engine, policy));

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
  for (const f of fixed) {
    const path = f.manifest.input.path;
    // Untouched files are not rewritten, so their modification time (and make, and watchers) stay quiet.
    if (!f.changed || path === undefined) continue;
    writeFileSync(path, f.text);
    io.stderr(`${writeSummary(f)}\n`);
  }
  return 0;
}
