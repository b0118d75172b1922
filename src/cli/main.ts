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
  // A usage error is one line (commander adds the nearest flag or command when one is close:
  // `(Did you mean --check?)`), then where the usage is, as kubectl says it; not the whole help.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program)) {
    command.showSuggestionAfterError(true).showHelpAfterError(`See '${commandPath(command)} --help' for usage.`);
  }
  return program;
}

async function main(argv: string[]): Promise<void> {
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
