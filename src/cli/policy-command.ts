import type { Command } from 'commander';
import { loadConfigFile } from '../config/load-config.js';
import { POLICY_API_VERSIONS, type PolicyApiVersion } from '../policy/build-policy.js';
import { renderPolicy } from '../policy/render-policy.js';
import { UsageError } from './errors.js';

export function registerPolicy(program: Command): void {
  program
    .command('policy')
    .description('Print a MutatingAdmissionPolicy and its binding that apply the class policies inside the API server, without the webhook.')
    .option('--config <file>', 'pullfix config file (the same one the webhook reads)')
    .option('--api-version <version>', `admissionregistration.k8s.io version: ${POLICY_API_VERSIONS.join(', ')}`, 'v1')
    .action((opts: { config?: string; apiVersion: string }) => {
      if (!(POLICY_API_VERSIONS as readonly string[]).includes(opts.apiVersion)) {
        throw new UsageError(`--api-version: must be one of ${POLICY_API_VERSIONS.join(', ')}, got ${JSON.stringify(opts.apiVersion)}`);
      }
      const config = loadConfigFile(opts.config);
      process.stdout.write(
        renderPolicy(config, { apiVersion: opts.apiVersion as PolicyApiVersion, ...(opts.config ? { configFile: opts.config } : {}) }),
      );
    });
}
