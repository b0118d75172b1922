import type { Command } from 'commander';
import { usePlainEnv } from '../fix/plain-env.js';
import { readStream } from '../fix/read-inputs.js';
import { runFix } from '../fix/run-fix.js';

interface FixFlags {
  write?: boolean;
  followSymlinks?: boolean;
  check?: boolean;
  recursive?: boolean;
  exclude?: string[];
  output?: string;
  config?: string;
  policy?: string[];
  mode?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerFix(program: Command): void {
  program
    .command('fix')
    .description('Fix imagePullPolicy in manifests: move pod-level values into the containers, apply class policies.')
    .argument('[files...]', 'YAML or JSON manifests, or directories (their .yaml, .yml and .json files); "-" (or no file, when piped) reads standard input')
    .option('--write', 'rewrite changed files in place instead of printing them')
    .option('--follow-symlinks', 'with --write, write through symbolic links to the files they point to (by default a link is reported and skipped, exit 1)')
    .option('--check', 'change nothing; print findings as FILE:LINE: message, exit 1 if there are any')
    .option('-o, --output <format>', 'with --check: text (default), json, sarif (GitHub code scanning) or github (workflow annotations)')
    .option('-R, --recursive', 'read the directories given and every directory below them')
    .option('--exclude <glob>', 'leave out paths matching GLOB, relative to each directory given: * and ? within a name, ** for any directories; a glob without / matches a name at any depth (repeatable)', collect)
    .option('--config <file>', 'config file (mode, policies, mutableTags, exemptImages, workloads, podTemplates)')
    .option('--policy <class=value>', 'pull policy for an image class, e.g. mutable=Always (repeatable)', collect)
    .option('--mode <mode>', 'off, default or enforce; overrides the config file')
    .action(async (files: string[], flags: FixFlags) => {
      usePlainEnv();
      process.exitCode = await runFix(
        {
          files,
          write: flags.write,
          followSymlinks: flags.followSymlinks,
          check: flags.check,
          recursive: flags.recursive,
          exclude: flags.exclude ?? [],
          ...(flags.output !== undefined ? { output: flags.output } : {}),
          config: flags.config,
          mode: flags.mode,
          policies: flags.policy ?? [],
        },
        {
          stdinIsTTY: process.stdin.isTTY === true,
          readStdin: () => readStream(process.stdin),
          stdout: (text) => void process.stdout.write(text),
          stderr: (text) => void process.stderr.write(text),
          stderrIsTTY: process.stderr.isTTY === true,
          term: process.env.TERM,
          toolVersion: program.version() ?? 'unknown',
        },
      );
    });
}
