import type { Command } from 'commander';
import { UsageError } from './errors.js';

interface AuditFlags {
  namespace?: string[];
  allNamespaces?: boolean;
  fix?: boolean;
  dryRun?: boolean;
  output: string;
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

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description(
      'List live workloads whose containers do not match their namespace policy, and stray pod-level fields in ' +
        'their last-applied manifests. Exit 1 when there are findings, 0 when clean, 2 on errors.',
    )
    .option('-n, --namespace <namespace>', "namespace to audit (default: the kubeconfig context's namespace); with --stale, repeatable", collect)
    .option('-A, --all-namespaces', 'audit every namespace the webhook serves (not kube-system, kube-public, kube-node-lease, pullfix-system)')
    .option('--fix', 'patch the workload templates (rolls them out); Pods and Jobs are immutable and only reported')
    .option('--dry-run', 'with --fix (or --write-reports): send the patches with dryRun=All (server-side dry run), change nothing')
    .option('-o, --output <format>', 'table, json, or report (openreports.io/v1alpha1 Report objects, one per namespace)', 'table')
    .option('--config <file>', 'config file with the cluster defaults (the webhook\'s --config)')
    .option('--stale', 'list containers whose node runs an older digest than their tag points to now in the registry (SPEC section 10); with --fix, restart their workloads')
    .option('--registry-config <file>', 'with --stale: a Docker config.json for registries no pull secret covers')
    .option('--insecure-registry <host>', 'with --stale: speak plain HTTP to this registry host[:port] (repeatable)', collect)
    .option('--registry-timeout <duration>', 'with --stale: per registry request, e.g. 5s', '5s')
    .option('--all-tags', 'with --stale: check tags the policy counts as immutable too')
    .option('--write-reports', 'with --stale -o report: server-side apply the Reports to the cluster too (field manager pullfix), an empty one where nothing was found')
    .option('--exit-zero', 'exit 0 when the audit ran, findings or not (2 still on errors): for a CronJob, whose Job would otherwise fail')
    .option('--progress', 'print a progress line every 100 objects (default: only when stderr is a terminal)')
    .action(async (flags: AuditFlags) => {
      // Loaded here, not at the top: `pullfix fix` should not pay for the Kubernetes client.
      const [{ KubeConfig }, { runAudit }, { runStaleAudit }] = await Promise.all([import('@kubernetes/client-node'), import('../audit/run-audit.js'), import('../audit/run-stale.js')]);
      const kc = new KubeConfig();
      try {
        kc.loadFromDefault();
      } catch (err) {
        throw new UsageError(`cannot load the kubeconfig${process.env.KUBECONFIG ? ` (KUBECONFIG=${process.env.KUBECONFIG})` : ''}: ${(err as Error).message}`);
      }
      // client-node's last resort when it found no kubeconfig and no service account.
      if (kc.getCurrentCluster()?.name === 'cluster' && kc.getCurrentCluster()?.server === 'http://localhost:8080' && !process.env.KUBECONFIG) {
        throw new UsageError('no cluster to audit: set KUBECONFIG, create ~/.kube/config, or run pullfix in a cluster');
      }
      if (!flags.stale && (flags.registryConfig !== undefined || flags.insecureRegistry !== undefined || flags.allTags || flags.writeReports)) {
        throw new UsageError('--registry-config, --insecure-registry, --all-tags and --write-reports go with --stale');
      }
      if (!flags.stale && (flags.namespace?.length ?? 0) > 1) throw new UsageError('--namespace is given once, except with --stale');
      const { namespace, exitZero, ...rest } = flags;
      const options = flags.stale ? { ...rest, namespaces: namespace } : { ...rest, namespace: namespace?.[0] };
      const code = await (flags.stale ? runStaleAudit : runAudit)(
        options,
        {
          stdout: (text) => void process.stdout.write(text),
          stderr: (text) => void process.stderr.write(text),
          stderrIsTTY: process.stderr.isTTY === true,
        },
        kc,
      );
      // Findings are the audit's result, not its failure: a scheduled Job should fail only on errors.
      process.exitCode = exitZero && code === 1 ? 0 : code;
    });
}
