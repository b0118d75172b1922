#!/usr/bin/env node
// The `pullfix` command: `serve` runs the webhook, `fix` repairs manifests.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerFix } from './fix-command.js';
import { registerAudit } from './audit-command.js';
import { registerKrm } from './krm-command.js';
import { registerPolicy } from './policy-command.js';
import { registerServe } from './serve-command.js';
import { registerVersion } from './version-command.js';
import { complete, completeValuesOf, formatCompletion, registerCompletion } from './completion-command.js';
import { MODES } from '../engine/types.js';
import { exitCodeFor, reportError } from './errors.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `pullfix fix`, `pullfix audit`: how a command is typed, for "See '… --help'". */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function buildProgram(): Command {
  const program = new Command('pullfix')
    .description('Keeps container image pull policies right where Kubernetes workloads are deployed.')
    .version(version())
    // Usage errors exit 2, like invalid input; 1 is reserved for `fix --check` findings.
    .exitOverride();
  registerServe(program);
  registerFix(program);
  registerAudit(program);
  registerKrm(program);
  registerPolicy(program);
  registerVersion(program, version());
  registerCompletion(program);
  // fix checks --mode itself; completion offers the engine's modes.
  completeValuesOf(program, 'fix', '--mode', MODES);
  // A usage error is one line (commander adds the nearest flag or command when one is close:
  // `(Did you mean --check?)`), then where the usage is, as kubectl says it; not the whole help.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program)) {
    command.showSuggestionAfterError(true).showHelpAfterError(`See '${commandPath(command)} --help' for usage.`);
  }
  return program;
}

async function main(argv: string[]): Promise<void> {
  // What the completion scripts and kubectl_complete-pullfix ask at each TAB: the words typed
  // after the program's name, the last one being completed. Answered before any parsing.
  if (argv[2] === '__complete') {
    process.stdout.write(formatCompletion(complete(buildProgram(), argv.length > 3 ? argv.slice(3) : [''])));
    return;
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    reportError(err);
    process.exitCode = exitCodeFor(err);
  }
}

await main(process.argv);
