import { type Command, Option } from 'commander';
import { OUTPUTS } from '../audit/report.js';
import { completeValues } from './completion-command.js';
import { UsageError } from './errors.js';

interface AuditFlags {
  namespace?: string[];
  allNamespaces?: boolean;
  fix?: boolean;
  dryRun?: string | true;
  output: string;
  kubeconfig?: string;
  context?: string;
  config?: string;
  progress?: boolean;
  stale?: boolean;
  registryConfig?: string;
  insecureRegistry?: string[];
  registryTimeout?: string;
  allTags?: boolean;
  writeReports?: boolean;
  exitZero?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const DRY_RUN = ['server', 'client', 'none'] as const;

/**
 * kubectl's spelling, `--dry-run=server|client|none`. The bare `--dry-run` keeps the meaning SPEC
 * section 10 gives it, server (where kubectl's deprecated bare form means client).
 */
export function dryRunMode(value: string | true | undefined): 'server' | 'client' | undefined {
  if (value === undefined || value === 'none') return undefined;
  if (value === true || value === 'server') return 'server';
  if (value === 'client') return 'client';
  throw new UsageError(`--dry-run=${value}: not a dry-run mode; use --dry-run=server (the API server checks, stores nothing), --dry-run=client (print, send nothing) or none`);
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description(
      'List live workloads whose containers do not match their namespace policy, and stray pod-level fields in ' +
        'their last-applied manifests. Exit 1 when there are findings, 0 when clean, 2 on errors.',
    )
    .option('--kubeconfig <file>', 'kubeconfig file to use, instead of KUBECONFIG or ~/.kube/config')
    .option('--context <name>', 'kubeconfig context to use, instead of its current-context')
    .option('-n, --namespace <namespace>', "namespace to audit (default: the kubeconfig context's namespace); with --stale, repeatable", collect)
    .option('-A, --all-namespaces', 'audit every namespace the webhook serves (not kube-system, kube-public, kube-node-lease, pullfix-system)')
    .option('--fix', 'patch the workload templates (rolls them out); Pods and Jobs are immutable and only reported')
    .addOption(
      completeValues(
        new Option('--dry-run [mode]', 'with --fix (or --write-reports): server (the default) sends the patches with dryRun=All, the API server checks them and changes nothing; client prints them and sends nothing'),
        DRY_RUN,
      ),
    )
    .addOption(completeValues(new Option('-o, --output <format>', 'table, json, yaml (the AuditReport), or report (openreports.io/v1alpha1 Report objects, one per namespace)').default('table'), OUTPUTS))
    .option('--config <file>', 'config file with the cluster defaults (the webhook\'s --config)')
    .option('--stale', 'list containers whose node runs an older digest than their tag points to now in the registry (SPEC section 10); with --fix, restart their workloads')
    .option('--registry-config <file>', 'with --stale: a Docker config.json for registries no pull secret covers')
    .option('--insecure-registry <host>', 'with --stale: speak plain HTTP to this registry host[:port] (repeatable)', collect)
    .option('--registry-timeout <duration>', 'with --stale: per registry request, e.g. 5s', '5s')
    .option('--all-tags', 'with --stale: check tags the policy counts as immutable too')
    .option('--write-reports', 'with --stale -o report: server-side apply the Reports to the cluster too (field manager pullfix), an empty one where nothing was found')
    .option('--exit-zero', 'exit 0 when the audit ran, findings or not (2 still on errors): for a CronJob, whose Job would otherwise fail')
    .option('--progress', 'progress on stderr every 100 objects (with --stale: containers) even when stderr is not a terminal; on a terminal it is shown anyway')
    .action(async (flags: AuditFlags) => {
      // Loaded here, not at the top: `pullfix fix` should not pay for the cluster client.
      const [{ endpointAgent, loadEndpoint }, { KubeApi }, { runAudit }, { runStaleAudit }] = await Promise.all([
        import('../cluster/kube-endpoint.js'),
        import('../audit/kube-api.js'),
        import('../audit/run-audit.js'),
        import('../audit/run-stale.js'),
      ]);
      if (!flags.stale && (flags.registryConfig !== undefined || flags.insecureRegistry !== undefined || flags.allTags || flags.writeReports)) {
        throw new UsageError('--registry-config, --insecure-registry, --all-tags and --write-reports go with --stale');
      }
      if (!flags.stale && (flags.namespace?.length ?? 0) > 1) throw new UsageError('--namespace is given once, except with --stale');
      const dryRun = dryRunMode(flags.dryRun);
      // kubectl's order: --kubeconfig, else KUBECONFIG, else ~/.kube/config, else in a cluster.
      const endpoint = loadEndpoint({
        ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context !== undefined ? { context: flags.context } : {}),
      });
      const { namespace, exitZero, kubeconfig: _kubeconfig, context: _context, dryRun: _dryRun, ...rest } = flags;
      const common = { ...rest, ...(dryRun ? { dryRun } : {}) };
      const options = flags.stale ? { ...common, namespaces: namespace } : { ...common, namespace: namespace?.[0] };
      const api = new KubeApi(endpoint, endpointAgent(endpoint, { keepAlive: true, maxSockets: 4 }));
      const io = {
        stdout: (text: string) => void process.stdout.write(text),
        stderr: (text: string) => void process.stderr.write(text),
        stderrIsTTY: process.stderr.isTTY === true,
      };
      let code: number;
      try {
        code = await (flags.stale ? runStaleAudit(options, io, api) : runAudit(options, io, api));
      } finally {
        api.close();
      }
      // Findings are the audit's result, not its failure: a scheduled Job should fail only on errors.
      process.exitCode = exitZero && code === 1 ? 0 : code;
    });
}
