import { type Command, Option } from 'commander';
import { loadConfigFile } from '../config/load-config.js';
import { POLICY_API_VERSIONS, type PolicyApiVersion, buildPolicy } from '../policy/build-policy.js';
import { renderPolicy } from '../policy/render-policy.js';
import { UsageError } from './errors.js';

export function registerPolicy(program: Command): void {
  program
    .command('policy')
    .description('Print a MutatingAdmissionPolicy and its binding that apply the class policies inside the API server, without the webhook.')
    .option('--config <file>', 'pullfix config file (the same one the webhook reads)')
    .option('--api-version <version>', `admissionregistration.k8s.io version: ${POLICY_API_VERSIONS.join(', ')}`, 'v1')
    .addOption(new Option('-o, --output <format>', 'yaml (two documents, with a header comment) or json (a v1 List, as kubectl get -o json prints)').choices(['yaml', 'json']).default('yaml'))
    .action((opts: { config?: string; apiVersion: string; output: 'yaml' | 'json' }) => {
      if (!(POLICY_API_VERSIONS as readonly string[]).includes(opts.apiVersion)) {
        throw new UsageError(`--api-version: must be one of ${POLICY_API_VERSIONS.join(', ')}, got ${JSON.stringify(opts.apiVersion)}`);
      }
      const config = loadConfigFile(opts.config);
      const options = { apiVersion: opts.apiVersion as PolicyApiVersion, ...(opts.config ? { configFile: opts.config } : {}) };
      process.stdout.write(opts.output === 'json'
        ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: buildPolicy(config, options) }, null, 2)}\n`
        : renderPolicy(config, options));
    });
}
