import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { usePlainEnv } from '../fix/plain-env.js';
import { readStdinInput, readStream, whyUnreadable } from '../fix/read-inputs.js';
import { runExecPlugin, runKrm } from '../krm/run-krm.js';
import { UsageError } from './errors.js';

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read: ${whyUnreadable(err)}; pullfix krm CONFIG_FILE reads the plugin config kustomize passes, check the path`);
  }
}

export function registerKrm(program: Command): void {
  program
    .command('krm')
    .description(
      'KRM function (kustomize, kpt): read a ResourceList on stdin, write it back with workloads fixed and results. ' +
        "With CONFIG_FILE: kustomize's exec-plugin form (kubectl kustomize), resources as a YAML stream on stdin.",
    )
    .argument('[config-file]', 'exec-plugin form only: the plugin config (a ConfigMap or a PullfixConfig), as kustomize passes it')
    .action(async (configFile: string | undefined) => {
      usePlainEnv();
      if (process.stdin.isTTY) throw new UsageError('pullfix krm reads a ResourceList on standard input (kustomize and kpt send one)');
      // The same reading path as `pullfix fix -`: a stream, any size and pace, UTF-8 checked.
      const input = await readStdinInput(() => readStream(process.stdin));
      const { output, diagnostics } =
        configFile === undefined ? runKrm(input.text) : runExecPlugin(configFile, readConfigFile(configFile), input.text);
      if (diagnostics) process.stderr.write(diagnostics);
      process.stdout.write(output);
    });
}
