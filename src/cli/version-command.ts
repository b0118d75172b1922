// `pullfix version`: what is running, for bug reports and fleet checks (kubectl version's
// shape: text by default, `-o json` / `-o yaml` for machines). The commit comes from
// dist/src/build-info.json, which `make build` writes (`unknown` where it was built without git).
import { type Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface VersionInfo {
  version: string;
  commit: string;
  nodeVersion: string;
  platform: string;
}

function commit(): string {
  try {
    const info = JSON.parse(readFileSync(new URL('../build-info.json', import.meta.url), 'utf8')) as { commit?: unknown };
    return typeof info.commit === 'string' && /^[0-9a-f]{7,64}$/.test(info.commit) ? info.commit : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function versionInfo(version: string): VersionInfo {
  return { version, commit: commit(), nodeVersion: process.version, platform: `${process.platform}/${process.arch}` };
}

export function registerVersion(program: Command, version: string): void {
  program
    .command('version')
    .description('print the version of pullfix, the commit it was built from and the Node.js version')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'))
    .action((flags: { output: 'text' | 'json' | 'yaml' }) => {
      const info = versionInfo(version);
      if (flags.output === 'json') process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else if (flags.output === 'yaml') process.stdout.write(stringify(info));
      else process.stdout.write(`pullfix ${info.version} (commit ${info.commit}, Node.js ${info.nodeVersion}, ${info.platform})\n`);
    });
}
