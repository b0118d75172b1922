#!/usr/bin/env node
// The `pullfix` command: `serve` runs the webhook, `fix` repairs manifests.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerFix } from './fix-command.js';
import { registerAudit } from './audit-command.js';
import { registerKrm } from './krm-command.js';
import { registerPolicy } from './policy-command.js';
import { registerServe } from './serve-command.js';
import { exitCodeFor, reportError } from './errors.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('pullfix')
    .description('Keeps container image pull policies right where Kubernetes workloads are deployed.')
    .version(version())
    .showHelpAfterError()
    // Usage errors exit 2, like invalid input; 1 is reserved for `fix --check` findings.
    .exitOverride();
  registerServe(program);
  registerFix(program);
  registerAudit(program);
  registerKrm(program);
  registerPolicy(program);
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
