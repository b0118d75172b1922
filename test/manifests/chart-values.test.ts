// charts/pullfix values that shape the pods and the metadata of every object, rendered by the
// real helm: each one set changes what it should, and the defaults stay the hardened pod that
// manifests/ runs (test/manifests/chart.test.ts compares the two pod specs).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { chartDir, helm, helmOrSkip, renderChart, renderChartError, renderChartTests, root } from './helm.js';
import { deployment, expectHardenedPod, type KObject } from './safety.js';

type Json = Record<string, any>;

const selectorLabels = (release = 'pullfix'): Record<string, string> => ({
  'app.kubernetes.io/name': 'pullfix',
  'app.kubernetes.io/instance': release,
  'app.kubernetes.io/component': 'webhook',
});

describe('charts/pullfix values: pods and metadata (helm)', function () {
  this.timeout(60_000);
  let helmBin = '';

  before(function () {
    helmBin = helmOrSkip(this);
  });

  const render = (args: string[] = []): KObject[] => renderChart(helmBin, args);
  const podSpec = (args: string[] = []): Json => deployment(render(args)).spec.template.spec as unknown as Json;
  const container = (args: string[] = []): Json => (podSpec(args)['containers'] as Json[])[0] ?? {};

  describe('security contexts', function () {
    it('default to the hardened ones: non-root 65532, read-only root, no escalation, ALL dropped, seccomp RuntimeDefault', function () {
      const spec = podSpec();
      expectHardenedPod(spec as never);
      expect(spec['securityContext']).to.deep.equal({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    });

    it('take podSecurityContext and securityContext from the values, merged with the defaults as helm merges maps', function () {
      const spec = podSpec(['--set', 'podSecurityContext.fsGroup=2000', '--set', 'securityContext.runAsUser=1001', '--set', 'securityContext.seccompProfile.type=Localhost', '--set', 'securityContext.seccompProfile.localhostProfile=profiles/pullfix.json']);
      expect(spec['securityContext']).to.deep.include({ fsGroup: 2000, runAsNonRoot: true });
      const sc = (spec['containers'] as Json[])[0]?.['securityContext'] as Json;
      expect(sc).to.deep.include({ runAsUser: 1001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(sc['seccompProfile']).to.deep.equal({ type: 'Localhost', localhostProfile: 'profiles/pullfix.json' });
      expect(sc['capabilities']).to.deep.equal({ drop: ['ALL'] });
    });

    it('are left out when set to null (the cluster\'s admission then decides)', function () {
      const spec = podSpec(['--set', 'podSecurityContext=null', '--set', 'securityContext=null']);
      expect(spec['securityContext']).to.equal(undefined);
      expect((spec['containers'] as Json[])[0]?.['securityContext']).to.equal(undefined);
    });
  });

  describe('scheduling', function () {
    it('sets priorityClassName, nodeSelector, tolerations and affinity on the pods; none by default', function () {
      const plain = podSpec();
      for (const key of ['priorityClassName', 'nodeSelector', 'tolerations', 'affinity']) expect(plain[key], key).to.equal(undefined);
      const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] }] } } };
      const toleration = { key: 'dedicated', operator: 'Equal', value: 'platform', effect: 'NoSchedule' };
      const spec = podSpec([
        '--set', 'priorityClassName=system-cluster-critical',
        '--set', 'nodeSelector.kubernetes\\.io/os=linux',
        '--set-json', `tolerations=[${JSON.stringify(toleration)}]`,
        '--set-json', `affinity=${JSON.stringify(affinity)}`,
      ]);
      expect(spec['priorityClassName']).to.equal('system-cluster-critical');
      expect(spec['nodeSelector']).to.deep.equal({ 'kubernetes.io/os': 'linux' });
      expect(spec['tolerations']).to.deep.equal([toleration]);
      expect(spec['affinity']).to.deep.equal(affinity);
    });

    it('spreads replicas across nodes by default, with the chart\'s selector labels', function () {
      expect(podSpec()['topologySpreadConstraints']).to.deep.equal([
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels() }, matchLabelKeys: ['pod-template-hash'] },
      ]);
    });

    it('takes topologySpreadConstraints: the selector labels fill a missing labelSelector, a given one is kept, [] means none', function () {
      const zone = { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' };
      const own = { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { team: 'platform' } } };
      expect(podSpec(['--set-json', `topologySpreadConstraints=${JSON.stringify([zone, own])}`])['topologySpreadConstraints']).to.deep.equal([
        { ...zone, labelSelector: { matchLabels: selectorLabels() } },
        own,
      ]);
      expect(podSpec(['--set-json', 'topologySpreadConstraints=[]'])['topologySpreadConstraints']).to.equal(undefined);
      expect(renderChartError(helmBin, ['--set-json', 'topologySpreadConstraints=[{"maxSkew":1}]'])).to.match(/at '\/topologySpreadConstraints\/0': missing propert(y|ies)/);
    });

    it('sets resources of the pullfix container', function () {
      expect(container()['resources']).to.deep.equal({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
      expect(container(['--set', 'resources.requests.cpu=100m', '--set', 'resources.limits=null'])['resources']).to.deep.equal({ requests: { cpu: '100m', memory: '64Mi' } });
    });
  });

  describe('logLevel', function () {
    it('passes --log-level to pullfix serve when it is not info (serve\'s default), and leaves the args alone at info', function () {
      const args = (values: string[]): string[] => container(values)['args'] as string[];
      expect(args([])).to.not.include('--log-level');
      expect(args(['--set', 'logLevel=info'])).to.not.include('--log-level');
      const debug = args(['--set', 'logLevel=debug']);
      expect(debug.slice(debug.indexOf('--log-level'), debug.indexOf('--log-level') + 2)).to.deep.equal(['--log-level', 'debug']);
      expect(renderChartError(helmBin, ['--set', 'logLevel=verbose'])).to.match(/at '\/logLevel': value must be one of 'debug', 'info', 'warn', 'error'/);
    });

    it('allows exactly the levels `pullfix serve --help` lists, with its default', function () {
      const help = spawnSync(process.execPath, [path.join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--help'], { encoding: 'utf8' });
      expect(help.status, help.stderr).to.equal(0);
      const line = /--log-level <level>.*?\(choices: (.*?), default: "([^"]*)"\)/.exec(help.stdout.replace(/\s+/g, ' '));
      expect(line, help.stdout).to.not.equal(null);
      const choices = (line?.[1] ?? '').split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
      expect(line?.[2]).to.equal('info');
      const schema = JSON.parse(readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as Json;
      expect(schema['properties']['logLevel']['enum']).to.deep.equal(choices);
      expect((parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Json)['logLevel']).to.equal('info');
    });
  });

  describe('labels and annotations', function () {
    // Every optional part on, so every template renders.
    const everything = [
      '--set', 'certificates.mode=cert-manager',
      '--set', 'staleAudit.enabled=true',
      '--set', 'staleAudit.allNamespaces=false',
      '--set-json', 'staleAudit.namespaces=["shop"]',
      '--set', 'serviceMonitor.enabled=true',
      '--set', 'prometheusRule.enabled=true',
      '--set', 'grafanaDashboard.enabled=true',
    ];
    const extra = ['--set', 'commonLabels.team=platform', '--set', 'commonAnnotations.example\\.com/owner=platform@example.com'];

    it('puts commonLabels on every object, pod templates and helm test hooks included', function () {
      const objects = [...render([...everything, ...extra]), ...renderChartTests(helmBin, extra)];
      expect(objects.length).to.be.greaterThan(20);
      for (const o of objects) expect(o.metadata.labels?.['team'], `${o.kind}/${o.metadata.name}`).to.equal('platform');
      const templates = objects.flatMap((o) => {
        const spec = o['spec'] as Json | undefined;
        return [spec?.['template'], spec?.['jobTemplate'], spec?.['jobTemplate']?.['spec']?.['template']].filter(Boolean) as Json[];
      });
      expect(templates).to.have.length(3);
      for (const t of templates) expect(t['metadata']['labels']['team']).to.equal('platform');
      // Selectors stay as they were: a label added later must not orphan running pods.
      expect(deployment(render(extra)).spec.selector).to.deep.equal({ matchLabels: selectorLabels() });
    });

    it('puts commonAnnotations on every object besides the monitoring ones, next to their own annotations', function () {
      const monitoring = new Set(['ServiceMonitor', 'PrometheusRule', 'ConfigMap/pullfix-grafana-dashboard']);
      const objects = [...render([...everything, ...extra]), ...renderChartTests(helmBin, extra)];
      const checked = objects.filter((o) => !monitoring.has(o.kind) && !monitoring.has(`${o.kind}/${o.metadata.name}`));
      expect(checked.length).to.be.greaterThan(17);
      for (const o of checked) expect(o.metadata.annotations?.['example.com/owner'], `${o.kind}/${o.metadata.name}`).to.equal('platform@example.com');
      const webhook = objects.find((o) => o.kind === 'MutatingWebhookConfiguration');
      expect(webhook?.metadata.annotations?.['cert-manager.io/inject-ca-from']).to.equal('pullfix-system/pullfix-serving-cert');
      for (const hook of renderChartTests(helmBin, extra)) expect(hook.metadata.annotations?.['helm.sh/hook'], hook.kind).to.equal('test');
    });

    it('adds none by default: no annotations where the object has none of its own', function () {
      const objects = render(everything);
      for (const o of objects) expect(o.metadata.labels?.['team'], `${o.kind}/${o.metadata.name}`).to.equal(undefined);
      for (const kind of ['Deployment', 'Service', 'ConfigMap', 'ClusterRole', 'CronJob']) {
        const o = objects.find((x) => x.kind === kind);
        expect(o?.metadata.annotations, kind).to.equal(undefined);
      }
    });

    it('puts podLabels and podAnnotations on the webhook\'s pods only, next to the scrape annotations', function () {
      const objects = render(['--set', 'podLabels.tier=admission', '--set', 'podAnnotations.example\\.com/note=hello']);
      const meta = deployment(objects).spec.template.metadata as Json;
      expect(meta['labels']).to.deep.equal({ ...selectorLabels(), tier: 'admission' });
      expect(meta['annotations']).to.deep.include({ 'example.com/note': 'hello', 'prometheus.io/scrape': 'true' });
      for (const o of objects) if (o.kind !== 'Deployment') expect(o.metadata.labels?.['tier'], o.kind).to.equal(undefined);
    });

    it('refuses a label value that is not a string, naming the value', function () {
      expect(renderChartError(helmBin, ['--set-json', 'commonLabels={"team":{"name":"x"}}'])).to.match(/at '\/commonLabels\/team': got object, want string/);
    });
  });

  it('passes helm lint --strict with every value of this file set', function () {
    const result = helm(helmBin, [
      'lint', '--strict', chartDir, '--kube-version', '1.32.0',
      '--set', 'commonLabels.team=platform', '--set', 'commonAnnotations.owner=platform', '--set', 'podLabels.tier=admission',
      '--set', 'podSecurityContext.fsGroup=2000', '--set', 'securityContext.runAsUser=1001', '--set', 'priorityClassName=system-cluster-critical',
      '--set', 'logLevel=warn', '--set-json', 'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule"}]',
    ]);
    expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
    expect(result.stdout).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  describe('Chart.yaml', function () {
    it('icon: the SVG committed in the chart, by its raw URL under the repository of `home`', function () {
      const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as Json;
      const repo = /^https:\/\/github\.com\/([^/]+\/[^/]+)$/.exec(chart['home'] as string)?.[1];
      expect(repo, chart['home']).to.be.a('string');
      const prefix = `https://raw.githubusercontent.com/${repo}/main/`;
      expect(chart['icon']).to.match(new RegExp(`^${prefix.replace(/[./]/g, '\\$&')}`));
      const file = path.join(root, (chart['icon'] as string).slice(prefix.length));
      expect(existsSync(file), file).to.equal(true);
      const svg = readFileSync(file, 'utf8');
      expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
      expect(svg.trim()).to.match(/<\/svg>$/);
    });

    it('kubeVersion: helm refuses a cluster older than 1.30 and takes 1.30 and vendor builds of it', function () {
      const at = (version: string): ReturnType<typeof helm> => helm(helmBin, ['template', 'pullfix', chartDir, '--kube-version', version]);
      expect(at('1.29.9').stderr).to.match(/chart requires kubeVersion: >=1\.30\.0-0 which is incompatible with Kubernetes v1\.29\.9/);
      expect(at('1.30.0').status).to.equal(0);
      expect(at('1.30.2-eks-1234').status).to.equal(0);
    });
  });
});
