// charts/pullfix with `staleAudit.enabled`: a CronJob running `pullfix audit --stale -o report
// --write-reports --exit-zero` as a ServiceAccount of its own. Rendered by the real helm: off by
// default; the pod passes the shared hardening assertions; the RBAC has no wildcard, never list
// or watch on Secrets, a Role per namespace or one ClusterRole. Then the proof that the RBAC is
// exactly what the audit needs: the built CLI, with the CronJob's own arguments and config
// file, against a fake API server that enforces the rendered rules as RBAC does, succeeds with
// them and fails or warns "forbidden" with any one verb taken away.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STALE_REPORT_NAME } from '../../src/audit/stale-report.js';
import { FakeKubeRest, type Grant, type PolicyRule } from '../helpers/fake-kube-rest.js';
import { runCli } from '../helpers/run-cli.js';
import { populateStale } from '../helpers/stale-cluster.js';
import { helmOrSkip, renderChart, renderChartError } from './helm.js';
import { all, deployment, expectHardenedPod, expectKnownFields, one, selects, validateWithModels, type KObject, type PodSpec } from './safety.js';

interface CronJob extends KObject {
  spec: {
    schedule: string;
    timeZone?: string;
    concurrencyPolicy: string;
    successfulJobsHistoryLimit: number;
    failedJobsHistoryLimit: number;
    jobTemplate: { spec: { backoffLimit: number; activeDeadlineSeconds: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec & { restartPolicy: string; enableServiceLinks?: boolean } } } };
  };
}
type Role = KObject & { rules: PolicyRule[] };
type Binding = KObject & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };

const NAME = 'pullfix-stale-audit';
const ON = ['--set', 'staleAudit.enabled=true'];
const LISTED = [...ON, '--set', 'staleAudit.allNamespaces=false', '--set-json', 'staleAudit.namespaces=["shop","quiet"]'];

const cronJob = (objects: KObject[]): CronJob => one<CronJob>(objects, 'CronJob', NAME);
const podSpec = (objects: KObject[]): CronJob['spec']['jobTemplate']['spec']['template']['spec'] => cronJob(objects).spec.jobTemplate.spec.template.spec;
const container = (objects: KObject[]): NonNullable<PodSpec['containers'][number]> => podSpec(objects).containers[0] as PodSpec['containers'][number];
const roles = (objects: KObject[]): Role[] => objects.filter((o): o is Role => o.kind === 'Role' || o.kind === 'ClusterRole').filter((r) => r.metadata.name === NAME);

/** The rules of src/audit's API calls that hold in every namespace audited. */
const namespacedRules: PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get'] },
  { apiGroups: ['openreports.io'], resources: ['reports'], resourceNames: [STALE_REPORT_NAME], verbs: ['create', 'patch'] },
];
const fixRule: PolicyRule = { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get', 'patch'] };
const nodesRule: PolicyRule = { apiGroups: [''], resources: ['nodes'], verbs: ['get'] };

/** What the ServiceAccount may do, as RBAC sees it: each binding's role, in its namespace or cluster-wide. */
function grantsOf(objects: KObject[], sa: string, saNamespace: string): Grant[] {
  const bindings = objects.filter((o): o is Binding => (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && (o as Binding).subjects.some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === saNamespace));
  return bindings.map((b) => {
    const roleKind = b.roleRef.kind;
    const role = objects.find((o): o is Role => o.kind === roleKind && o.metadata.name === b.roleRef.name && (roleKind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace));
    expect(role, `${b.kind} ${b.metadata.name}: ${roleKind} ${b.roleRef.name}`).to.not.equal(undefined);
    return { ...(b.kind === 'RoleBinding' ? { namespace: b.metadata.namespace as string } : {}), rules: (role as Role).rules };
  });
}

describe('charts/pullfix staleAudit: pullfix audit --stale on a schedule (helm)', function () {
  this.timeout(60_000);
  let helmBin = '';
  const render = (args: string[] = []): KObject[] => renderChart(helmBin, args);

  before(function () {
    helmBin = helmOrSkip(this);
  });

  it('renders none of it by default', function () {
    const objects = render();
    expect(all(objects, 'CronJob')).to.have.length(0);
    expect(objects.filter((o) => o.metadata.name.includes('stale-audit')).map((o) => o.kind)).to.deep.equal([]);
  });

  describe('enabled (every namespace)', function () {
    let objects: KObject[] = [];
    before(function () {
      if (!helmBin) this.skip();
      objects = render(ON);
    });

    it('has no unknown or misspelled fields (client-node models)', function () {
      expectKnownFields(objects);
    });

    it('validates against the Kubernetes OpenAPI schema (kubernetes-models)', async function () {
      await validateWithModels(this, objects);
    });

    it('runs every 30 minutes, never two at once, one retry, a deadline, Jobs kept for their logs', function () {
      const { spec } = cronJob(objects);
      expect(spec).to.deep.include({ schedule: '*/30 * * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 3 });
      expect(spec.timeZone).to.equal(undefined);
      expect(spec.jobTemplate.spec).to.deep.include({ backoffLimit: 1, activeDeadlineSeconds: 900 });
      expect(podSpec(objects).restartPolicy).to.equal('Never');
    });

    it('runs the webhook\'s image with audit --stale -A -o report --write-reports --exit-zero and the webhook\'s config file', function () {
      const c = container(objects);
      expect(c.image).to.equal(deployment(objects).spec.template.spec.containers[0]?.image);
      expect(c.command, 'the image entrypoint is used').to.equal(undefined);
      expect(c.args).to.deep.equal(['audit', '--stale', '--all-namespaces', '--output', 'report', '--write-reports', '--exit-zero', '--config', '/etc/pullfix/config.yaml', '--registry-timeout', '5s']);
      const spec = podSpec(objects);
      const mount = c.volumeMounts?.find((m) => m.mountPath === '/etc/pullfix');
      expect(mount?.readOnly).to.equal(true);
      expect(spec.volumes?.find((v) => v.name === mount?.name)?.configMap?.name).to.equal('pullfix-config');
      expect((c.volumeMounts ?? []).filter((m) => m.subPath !== undefined)).to.have.length(0);
      expect(c.resources?.requests).to.have.all.keys('cpu', 'memory');
      expect(c.resources?.limits).to.have.all.keys('cpu', 'memory');
    });

    it('hardens the pod as the webhook\'s (the shared safety assertions)', function () {
      expectHardenedPod(podSpec(objects));
      expect(podSpec(objects).securityContext?.fsGroup).to.equal(65532);
    });

    it('runs as its own ServiceAccount, whose token only these pods mount; the webhook\'s selectors leave its pods out', function () {
      const spec = podSpec(objects);
      expect(spec.serviceAccountName).to.equal(NAME);
      expect(spec.automountServiceAccountToken).to.equal(true);
      expect(one(objects, 'ServiceAccount', NAME)['automountServiceAccountToken']).to.equal(false);
      const labels = cronJob(objects).spec.jobTemplate.spec.template.metadata.labels;
      expect(labels['app.kubernetes.io/component']).to.equal('stale-audit');
      // Not a webhook replica: not behind the Service, in the PDB, or under the webhook's egress rules.
      const d = deployment(objects);
      expect(selects(d.spec.selector, labels)).to.equal(false);
      const np = one(objects, 'NetworkPolicy', 'pullfix')['spec'] as { podSelector: { matchLabels: Record<string, string> } };
      expect(selects(np.podSelector, labels)).to.equal(false);
    });

    it('RBAC: one ClusterRole with exactly the calls of audit --stale, bound to that ServiceAccount only', function () {
      expect(roles(objects).map((r) => r.kind)).to.deep.equal(['ClusterRole']);
      expect(roles(objects)[0]?.rules).to.deep.equal([{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }, nodesRule, ...namespacedRules]);
      expect(grantsOf(objects, NAME, 'pullfix-system')).to.deep.equal([{ rules: roles(objects)[0]?.rules }]);
      expect(all(objects, 'RoleBinding')).to.have.length(0);
      // The webhook's own ServiceAccount gains nothing.
      expect(grantsOf(objects, 'pullfix', 'pullfix-system')).to.deep.equal([{ rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }] }]);
    });
  });

  describe('enabled for listed namespaces', function () {
    let objects: KObject[] = [];
    before(function () {
      if (!helmBin) this.skip();
      objects = render(LISTED);
    });

    it('passes the client-node and kubernetes-models checks', async function () {
      expectKnownFields(objects);
      await validateWithModels(this, objects);
    });

    it('audits each with -n', function () {
      expect(container(objects).args?.slice(0, 6)).to.deep.equal(['audit', '--stale', '--namespace', 'shop', '--namespace', 'quiet']);
      expect(container(objects).args).to.not.include('--all-namespaces');
    });

    it('RBAC: a Role in each namespace (get on that namespace by name, no list of namespaces); a ClusterRole for get nodes only', function () {
      expect(roles(objects).map((r) => `${r.kind} ${r.metadata.namespace ?? ''}`)).to.deep.equal(['ClusterRole ', 'Role shop', 'Role quiet']);
      expect(roles(objects)[0]?.rules).to.deep.equal([nodesRule]);
      for (const ns of ['shop', 'quiet']) {
        expect(one<Role>(objects.filter((o) => o.metadata.namespace === ns), 'Role', NAME).rules, ns).to.deep.equal([
          { apiGroups: [''], resources: ['namespaces'], resourceNames: [ns], verbs: ['get'] },
          ...namespacedRules,
        ]);
      }
      expect(grantsOf(objects, NAME, 'pullfix-system').map((g) => g.namespace ?? '(cluster)')).to.deep.equal(['(cluster)', 'shop', 'quiet']);
    });

    it('refuses to render without namespaces, naming the value', function () {
      expect(renderChartError(helmBin, [...ON, '--set', 'staleAudit.allNamespaces=false'])).to.match(/staleAudit\.namespaces: list the namespaces to audit, or set staleAudit\.allNamespaces=true/);
    });
  });

  describe('values', function () {
    it('never grants a wildcard, nor list or watch on Secrets, in any mode', function () {
      for (const args of [ON, LISTED, [...ON, '--set', 'staleAudit.fix=true'], [...LISTED, '--set', 'staleAudit.fix=true']]) {
        for (const role of roles(render(args))) {
          for (const rule of role.rules) {
            const where = `${args.join(' ')}: ${role.kind} ${role.metadata.namespace ?? ''} ${JSON.stringify(rule)}`;
            for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames ?? []]) expect(field, where).to.not.include('*');
            if (rule.resources.includes('secrets')) expect(rule.verbs, where).to.deep.equal(['get']);
          }
        }
      }
    });

    it('pullSecretNames: get on Secrets by those names only', function () {
      for (const args of [ON, LISTED]) {
        const objects = render([...args, '--set-json', 'staleAudit.pullSecretNames=["regcred","ghcr-pull"]']);
        const secretRules = roles(objects).flatMap((r) => r.rules).filter((r) => r.resources.includes('secrets'));
        expect(secretRules.length, args.join(' ')).to.be.greaterThan(0);
        for (const rule of secretRules) expect(rule).to.deep.equal({ apiGroups: [''], resources: ['secrets'], resourceNames: ['regcred', 'ghcr-pull'], verbs: ['get'] });
      }
    });

    it('fix: --fix, and get and patch on the kinds it restarts (Deployments, StatefulSets, DaemonSets)', function () {
      const objects = render([...ON, '--set', 'staleAudit.fix=true']);
      expect(container(objects).args?.at(-1)).to.equal('--fix');
      expect(roles(objects)[0]?.rules.at(-1)).to.deep.equal(fixRule);
      expect(container(render(ON)).args).to.not.include('--fix');
    });

    it('registry settings become flags; the registry Secret is mounted read-only as the config.json --registry-config reads', function () {
      const objects = render([
        ...ON,
        '--set', 'staleAudit.registryConfigSecret=registry-credentials',
        '--set-json', 'staleAudit.insecureRegistries=["registry.local:5000","10.0.0.7"]',
        '--set', 'staleAudit.registryTimeout=500ms',
        '--set', 'staleAudit.allTags=true',
        '--set', 'staleAudit.schedule=0 * * * *',
        '--set', 'staleAudit.timeZone=Etc/UTC',
        '--set', 'staleAudit.resources.limits.memory=1Gi',
      ]);
      const c = container(objects);
      expect(c.args?.slice(9)).to.deep.equal(['--registry-timeout', '500ms', '--insecure-registry', 'registry.local:5000', '--insecure-registry', '10.0.0.7', '--registry-config', '/etc/pullfix/registry/config.json', '--all-tags']);
      const mount = c.volumeMounts?.find((m) => m.mountPath === '/etc/pullfix/registry');
      expect(mount?.readOnly).to.equal(true);
      const volume = podSpec(objects).volumes?.find((v) => v.name === mount?.name) as { secret?: { secretName: string; items?: unknown; defaultMode?: number } } | undefined;
      expect(volume?.secret).to.deep.equal({ secretName: 'registry-credentials', items: [{ key: '.dockerconfigjson', path: 'config.json' }], defaultMode: 0o440 });
      expect(cronJob(objects).spec).to.deep.include({ schedule: '0 * * * *', timeZone: 'Etc/UTC' });
      expect(c.resources?.limits?.['memory']).to.equal('1Gi');
    });

    it('refuses a concurrencyPolicy or registryTimeout the CronJob or pullfix would refuse, naming the value', function () {
      expect(renderChartError(helmBin, [...ON, '--set', 'staleAudit.concurrencyPolicy=forbid'])).to.match(/staleAudit\.concurrencyPolicy: must be Allow, Forbid or Replace, got "forbid"/);
      expect(renderChartError(helmBin, [...ON, '--set', 'staleAudit.registryTimeout=5'])).to.match(/staleAudit\.registryTimeout: a duration such as 5s, 500ms or 1m, got "5"/);
    });
  });

  describe('the rendered RBAC is exactly what the audit needs (the CLI under those rules, enforced as RBAC does)', function () {
    this.timeout(180_000);

    /**
     * One scheduled run, as the CronJob's pod would make it: its arguments, its config file (the
     * ConfigMap's), the rendered grants enforced by the fake API server. `edit` takes rights away.
     */
    async function scheduledRun(args: string[], edit: (grants: Grant[]) => Grant[] = (g) => g): Promise<{ status: number | null; stderr: string; api: FakeKubeRest }> {
      const api = await FakeKubeRest.start();
      const cluster = await populateStale(api);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-stale-rbac-'));
      try {
        const objects = render([...args, '--set-json', `staleAudit.insecureRegistries=[${JSON.stringify(cluster.registry.host)}]`]);
        const config = path.join(dir, 'config.yaml');
        writeFileSync(config, (one(objects, 'ConfigMap', 'pullfix-config')['data'] as Record<string, string>)['config.yaml'] ?? '');
        api.authorize(edit(grantsOf(objects, NAME, 'pullfix-system')));
        const argv = (container(objects).args ?? []).map((a) => (a === '/etc/pullfix/config.yaml' ? config : a));
        const run = await runCli(argv, { KUBECONFIG: api.writeKubeconfig(dir) });
        return { status: run.status, stderr: run.stderr, api };
      } finally {
        await api.close();
        await cluster.registry.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }

    for (const [mode, args] of [['every namespace', ON], ['listed namespaces', LISTED]] as const) {
      it(`${mode}, with fix: no request refused, the Reports written, the stale Deployment restarted`, async function () {
        if (!helmBin) this.skip();
        const { status, stderr, api } = await scheduledRun([...args, '--set', 'staleAudit.fix=true']);
        expect(stderr).to.not.match(/forbidden|warning/);
        expect(status, stderr).to.equal(0);
        expect(stderr).to.contain('pullfix: restarted Deployment shop/web (imagePullPolicy Always on web)\n');
        expect(api.get('Report', 'shop', STALE_REPORT_NAME)?.summary).to.deep.include({ fail: 1 });
        expect(api.get('Report', 'quiet', STALE_REPORT_NAME)?.summary).to.deep.include({ fail: 0 });
      });
    }

    it('listed namespaces, with fix: take away any one verb of the ClusterRole or of shop\'s Role, and the run fails or warns "forbidden"', async function () {
      if (!helmBin) this.skip();
      const args = [...LISTED, '--set', 'staleAudit.fix=true'];
      // Every (grant, rule, verb) of the rules that bear on namespace shop.
      const probe = render(args);
      const grants = grantsOf(probe, NAME, 'pullfix-system');
      const cases = grants.flatMap((g, gi) => (g.namespace === 'quiet' ? [] : g.rules.flatMap((r, ri) => r.verbs.map((verb) => ({ gi, ri, verb, what: `${g.namespace ?? 'cluster'}: ${verb} ${r.resources.join(',')}` })))));
      expect(cases.map((c) => c.what)).to.deep.equal([
        'cluster: get nodes',
        'shop: get namespaces',
        'shop: list pods',
        'shop: get serviceaccounts',
        'shop: get secrets',
        'shop: get replicasets',
        'shop: create reports',
        'shop: patch reports',
        'shop: get deployments,statefulsets,daemonsets',
        'shop: patch deployments,statefulsets,daemonsets',
      ]);
      for (const c of cases) {
        const { status, stderr } = await scheduledRun(args, (gs) =>
          gs.map((g, gi) => (gi !== c.gi ? g : { ...g, rules: g.rules.map((r, ri) => (ri !== c.ri ? r : { ...r, verbs: r.verbs.filter((v) => v !== c.verb) })) })),
        );
        expect(status === 2 || /forbidden/.test(stderr), `without ${c.what}: exit ${status}\n${stderr}`).to.equal(true);
      }
    });
  });
});
