// charts/pullfix, rendered by the real helm: it lints, each certificate mode passes the same
// safety assertions as the kustomize render (safety.ts), the values users ask every webhook
// project for (failure policy, timeout, matchConditions, exclusions) land where they should,
// and the monitoring objects are manifests/monitoring's own files.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { makeCerts, removeDir, type CertFiles } from '../helpers/certs.js';
import { chartDir, helmOrSkip, helm, renderChart, renderChartError, renderChartTests, root } from './helm.js';
import {
  all,
  clone,
  deployment,
  describeCertManager,
  describeSafety,
  enforceRules,
  expectHardenedPod,
  notControllerOwned,
  one,
  parseObjects,
  reached,
  serveBounds,
  webhook,
  whatEnforceLeavesOut,
  webhookConfiguration,
  type KObject,
  type PodSpec,
  type Rule,
} from './safety.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

describe('charts/pullfix (helm)', function () {
  this.timeout(60_000);
  let helmBin = '';
  let tls: CertFiles | undefined;

  before(function () {
    helmBin = helmOrSkip(this);
    tls = makeCerts();
  });

  after(function () {
    if (tls) removeDir(tls.dir);
  });

  const render = (args: string[] = [], release?: string, namespace?: string): KObject[] => renderChart(helmBin, args, release, namespace);
  const renderError = (args: string[]): string => renderChartError(helmBin, args);

  function caBundleArgs(): string[] {
    const ca = readFileSync(tls?.caCert ?? '', 'utf8');
    return ['--set', 'certificates.mode=secret', '--set', 'certificates.secret.name=pullfix-tls', '--set', `certificates.secret.caBundle=${Buffer.from(ca).toString('base64')}`];
  }

  it('passes helm lint --strict in each certificate mode, and with the stale audit on', function () {
    const staleAudit = ['--set', 'staleAudit.enabled=true', '--set', 'staleAudit.fix=true', '--set', 'staleAudit.registryConfigSecret=registry-credentials'];
    const namespaced = [...staleAudit, '--set', 'staleAudit.allNamespaces=false', '--set-json', 'staleAudit.namespaces=["shop","payments"]', '--set-json', 'staleAudit.pullSecretNames=["regcred"]'];
    for (const args of [[], ['--set', 'certificates.mode=cert-manager'], caBundleArgs(), staleAudit, namespaced]) {
      const result = helm(helmBin, ['lint', '--strict', chartDir, '--kube-version', '1.32.0', ...args]);
      expect(result.status, `${args.join(' ')}\n${result.stdout}${result.stderr}`).to.equal(0);
      expect(result.stdout).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('Chart.yaml carries what Helm and Artifact Hub show: home, sources, kubeVersion, license, the same license as package.json', function () {
    const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, any>;
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; license: string };
    expect(chart.home).to.match(/^https:\/\//);
    expect(chart.sources).to.be.an('array').that.is.not.empty;
    expect(chart.kubeVersion).to.equal('>=1.30.0-0');
    expect(chart.appVersion).to.equal(pkg.version);
    expect(chart.annotations['artifacthub.io/license']).to.equal(pkg.license);
    expect(parse(chart.annotations['artifacthub.io/links'] as string)).to.deep.equal([{ name: 'source', url: chart.sources[0] }]);
  });

  describe('values.schema.json', function () {
    it('refuses a value of the wrong type, a value outside its set, and a misspelt key, naming each', function () {
      if (!helmBin) this.skip();
      const cases: Array<[string[], RegExp]> = [
        [['--set', 'replicaCount=two'], /at '\/replicaCount': got string, want integer/],
        [['--set', 'image.pullPolicy=Sometimes'], /at '\/image\/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/],
        [['--set', 'config.mode=strict'], /at '\/config\/mode': value must be one of 'off', 'default', 'enforce'/],
        [['--set', 'config.policies.mutable=always'], /at '\/config\/policies\/mutable'/],
        [['--set-json', 'podLabels=["team"]'], /at '\/podLabels': got array, want object/],
        [['--set', 'staleAudit.enabled=yes please'], /at '\/staleAudit\/enabled': got string, want boolean/],
        [['--set', 'replicaCunt=3'], /additional properties 'replicaCunt' not allowed/],
        [['--set', 'image.digest=sha256:abc'], /at '\/image\/digest'/],
      ];
      for (const [args, message] of cases) expect(renderError(args), args.join(' ')).to.match(message);
    });

    it('leaves the ranges the templates check to the templates, which name the value (the messages above stay)', function () {
      if (!helmBin) this.skip();
      expect(renderError(['--set', 'webhooks.default.timeoutSeconds=31'])).to.match(/webhooks\.default\.timeoutSeconds: must be a whole number from 1 to 30/);
      expect(renderError(['--set', 'certificates.mode=self'])).to.match(/certificates\.mode: must be generate, cert-manager or secret/);
      // What the values file itself holds, and a `global` from an umbrella chart, pass.
      expect(render(['--set', 'global.imageRegistry=registry.example'])).to.not.be.empty;
    });
  });

  describe('helm test (templates/tests/admission-check.yaml)', function () {
    it('is left out of what helm install creates, and each of its objects is a test hook deleted once it passes', function () {
      if (!helmBin) this.skip();
      expect(render().filter((o) => o.metadata?.annotations?.['helm.sh/hook'] !== undefined).map((o) => `${o.kind}/${o.metadata?.name}`)).to.deep.equal([]);
      const objects = renderChartTests(helmBin);
      expect(objects.map((o) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`)).to.deep.equal([
        'ServiceAccount/pullfix-system/pullfix-test',
        'Role/default/pullfix-test',
        'RoleBinding/default/pullfix-test',
        'Pod/pullfix-system/pullfix-test',
      ]);
      for (const o of objects) {
        expect(o.metadata?.annotations?.['helm.sh/hook'], o.kind).to.equal('test');
        expect(o.metadata?.annotations?.['helm.sh/hook-delete-policy'], o.kind).to.equal('before-hook-creation,hook-succeeded');
      }
    });

    it('may only create Pods (dry runs) in helmTest.namespace, as its own ServiceAccount, from a hardened pod', function () {
      if (!helmBin) this.skip();
      const objects = renderChartTests(helmBin, ['--set', 'helmTest.namespace=shop']);
      const role = one(objects, 'Role', 'pullfix-test') as KObject & { rules: unknown };
      expect(role.metadata?.namespace).to.equal('shop');
      expect(role.rules).to.deep.equal([{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }]);
      const binding = one(objects, 'RoleBinding', 'pullfix-test') as KObject & { subjects: unknown; roleRef: unknown };
      expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'pullfix-test', namespace: 'pullfix-system' }]);
      expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pullfix-test' });
      const pod = one(objects, 'Pod', 'pullfix-test') as KObject & { spec: PodSpec & { serviceAccountName?: string; restartPolicy?: string } };
      expect(pod.spec.serviceAccountName).to.equal('pullfix-test');
      expect(pod.spec.restartPolicy).to.equal('Never');
      expectHardenedPod(pod.spec);
      const container = pod.spec.containers[0] as { command?: string[]; env?: { name: string; value: string }[]; image?: string };
      expect(container.command).to.deep.equal(['/usr/local/bin/node', '-e']);
      expect(container.env).to.deep.equal([{ name: 'CHECK_NAMESPACE', value: 'shop' }]);
      expect(container.image).to.equal(deployment(render()).spec.template.spec.containers[0]?.image);
      const off = helm(helmBin, ['template', 'pullfix', chartDir, '--namespace', 'pullfix-system', '--kube-version', '1.32.0', '--set', 'helmTest.enabled=false']);
      expect(off.status, off.stderr).to.equal(0);
      expect(parseObjects(off.stdout, 'helmTest.enabled=false').filter((o) => o.metadata?.annotations?.['helm.sh/hook'] === 'test')).to.deep.equal([]);
    });
  });

  const modes = [
    { mode: 'generate', args: (): string[] => [], caBundle: 'present' as const },
    { mode: 'cert-manager', args: (): string[] => ['--set', 'certificates.mode=cert-manager'], caBundle: 'absent' as const },
    { mode: 'secret', args: caBundleArgs, caBundle: 'present' as const },
  ];
  for (const { mode, args, caBundle } of modes) {
    describe(`certificates.mode=${mode}: the shared safety assertions`, function () {
      let objects: KObject[] = [];
      before(function () {
        if (!helmBin) this.skip();
        objects = render(args());
      });
      describeSafety(() => objects, { ownsNamespace: false, caBundle, selectorTable: mode === 'generate' });
      if (mode === 'cert-manager') describeCertManager(() => objects);
    });
  }

  describe('certificates', function () {
    it('generate: a CA and a serving pair for the Service name, the CA as both caBundles', function () {
      const objects = render();
      const secret = one(objects, 'Secret', 'pullfix-tls');
      expect(secret['type']).to.equal('kubernetes.io/tls');
      const data = secret['data'] as Record<string, string>;
      const pem = (key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
      const ca = new X509Certificate(pem('ca.crt'));
      const cert = new X509Certificate(pem('tls.crt'));
      expect(ca.ca).to.equal(true);
      expect(cert.verify(ca.publicKey), 'signed by the CA').to.equal(true);
      expect(cert.checkHost('pullfix.pullfix-system.svc')).to.equal('pullfix.pullfix-system.svc');
      expect(cert.subjectAltName).to.include('DNS:pullfix.pullfix-system.svc.cluster.local');
      expect(cert.keyUsage).to.include(SERVER_AUTH);
      expect(cert.checkPrivateKey(createPrivateKey(pem('tls.key')))).to.equal(true);
      for (const w of webhookConfiguration(objects).webhooks) expect(w.clientConfig.caBundle, w.name).to.equal(data['ca.crt']);
      // helm template cannot look the Secret up, so each render makes a new pair; `helm
      // upgrade` keeps the installed one (test/e2e/chart.test.ts checks that on a cluster).
      expect(createPublicKey(pem('tls.key')).export({ type: 'spki', format: 'pem' })).to.equal(cert.publicKey.export({ type: 'spki', format: 'pem' }));
    });

    it('secret: mounts the named Secret, makes none, and uses the given caBundle', function () {
      const objects = render(['--set', 'certificates.mode=secret', '--set', 'certificates.secret.name=corp-tls', '--set', 'certificates.secret.caBundle=Q0E=']);
      expect(all(objects, 'Secret')).to.have.length(0);
      expect(all(objects, 'Certificate')).to.have.length(0);
      const volumes = deployment(objects).spec.template.spec.volumes ?? [];
      expect(volumes.find((v) => v.name === 'tls')?.secret?.secretName).to.equal('corp-tls');
      for (const w of webhookConfiguration(objects).webhooks) expect(w.clientConfig.caBundle, w.name).to.equal('Q0E=');
    });

    it('secret: refuses to render without the Secret name or the caBundle, naming the value', function () {
      expect(renderError(['--set', 'certificates.mode=secret', '--set', 'certificates.secret.caBundle=Q0E='])).to.match(/certificates\.secret\.name: .* is required/);
      expect(renderError(['--set', 'certificates.mode=secret', '--set', 'certificates.secret.name=corp-tls'])).to.match(/certificates\.secret\.caBundle: .* is required/);
      expect(renderError(['--set', 'certificates.mode=self'])).to.match(/certificates\.mode: must be generate, cert-manager or secret, got "self"/);
    });

    it('cert-manager: an existing issuer replaces the chart-made CA chain', function () {
      const objects = render(['--set', 'certificates.mode=cert-manager', '--set-json', 'certificates.certManager.issuerRef={"name":"corp-ca","kind":"ClusterIssuer","group":"cert-manager.io"}']);
      expect(all(objects, 'Issuer')).to.have.length(0);
      const certs = all(objects, 'Certificate');
      expect(certs.map((c) => c.metadata.name)).to.deep.equal(['pullfix-serving-cert']);
      expect((certs[0]?.['spec'] as { issuerRef: unknown }).issuerRef).to.deep.equal({ name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    });
  });

  describe('the same server as manifests/', function () {
    it('runs the same pod spec as the kustomize base, apart from the selector labels', function () {
      if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0) this.skip();
      const kustomized = deployment(parseObjects(execFileSync('kubectl', ['kustomize', path.join(root, 'manifests')], { encoding: 'utf8' }), 'manifests'));
      const charted = deployment(render());
      const podSpec = (d: typeof charted): unknown => {
        const spec = clone(d.spec.template.spec);
        for (const t of spec.topologySpreadConstraints ?? []) delete t.labelSelector;
        return spec;
      };
      expect(podSpec(charted)).to.deep.equal(podSpec(kustomized));
      expect(charted.spec.replicas).to.equal(kustomized.spec.replicas);
      expect(charted.spec.strategy).to.deep.equal(kustomized.spec.strategy);
    });

    it('writes the values under `config` as the config file, with the defaults of manifests/base/config.yaml', function () {
      const base = parse(readFileSync(path.join(root, 'manifests', 'base', 'config.yaml'), 'utf8')) as unknown;
      const text = (one(render(), 'ConfigMap', 'pullfix-config')['data'] as Record<string, string>)['config.yaml'] ?? '';
      expect(parse(text)).to.deep.equal(base);
      const custom = one(render(['--set', 'config.mode=enforce', '--set-json', 'config.exemptImages=["localhost:5000/*"]']), 'ConfigMap', 'pullfix-config');
      expect(parse((custom['data'] as Record<string, string>)['config.yaml'] ?? '')).to.deep.include({ mode: 'enforce', exemptImages: ['localhost:5000/*'] });
    });
  });

  describe('values', function () {
    it('sets failurePolicy and timeoutSeconds per webhook', function () {
      const objects = render(['--set', 'webhooks.default.timeoutSeconds=2', '--set', 'webhooks.enforce.failurePolicy=Ignore', '--set', 'webhooks.enforce.timeoutSeconds=3']);
      expect(webhook(objects, 'default.pullfix.dev')).to.deep.include({ failurePolicy: 'Ignore', timeoutSeconds: 2 });
      expect(webhook(objects, 'enforce.pullfix.dev')).to.deep.include({ failurePolicy: 'Ignore', timeoutSeconds: 3 });
      // The fail-open share of enforce namespaces takes default.pullfix.dev's values.
      expect(webhook(objects, 'enforce-open.pullfix.dev')).to.deep.include({ failurePolicy: 'Ignore', timeoutSeconds: 2 });
    });

    it('refuses a failurePolicy or timeout the API server would refuse, naming the value', function () {
      expect(renderError(['--set', 'webhooks.enforce.failurePolicy=fail'])).to.match(/webhooks\.enforce\.failurePolicy: must be Ignore or Fail, got "fail"/);
      expect(renderError(['--set', 'webhooks.default.timeoutSeconds=31'])).to.match(/webhooks\.default\.timeoutSeconds: must be a whole number from 1 to 30 .*got 31/);
      expect(renderError(['--set', 'webhooks.default.timeoutSeconds=0'])).to.match(/got 0/);
      expect(renderError(['--set', 'webhooks.default.timeoutSeconds=2.5'])).to.match(/got 2\.5/);
    });

    it('sets matchConditions per webhook; the enforce default skips controller-owned objects', function () {
      expect(webhook(render(), 'enforce.pullfix.dev').matchConditions).to.deep.equal([notControllerOwned]);
      const custom = { name: 'not-kube-system-users', expression: "!request.userInfo.username.startsWith('system:serviceaccount:kube-system:')" };
      const objects = render(['--set-json', `webhooks.default.matchConditions=[${JSON.stringify(custom)}]`, '--set-json', 'webhooks.enforce.matchConditions=[]']);
      expect(webhook(objects, 'default.pullfix.dev').matchConditions).to.deep.equal([custom]);
      expect(webhook(objects, 'enforce.pullfix.dev').matchConditions).to.equal(undefined);
      // enforce takes everything its rules match: enforce-open keeps only Pod and Job UPDATE.
      expect(webhook(objects, 'enforce-open.pullfix.dev').matchConditions).to.deep.equal([custom, whatEnforceLeavesOut([])]);
      const two = [notControllerOwned, { name: 'not-dry-run', expression: '!request.dryRun' }];
      const split = render(['--set-json', `webhooks.enforce.matchConditions=${JSON.stringify(two)}`]);
      expect(webhook(split, 'enforce-open.pullfix.dev').matchConditions).to.deep.equal([whatEnforceLeavesOut(two)]);
      expect(whatEnforceLeavesOut(two).expression).to.include(`!((${notControllerOwned.expression}) && (!request.dryRun))`);
    });

    it('leaves out the release namespace and the listed ones', function () {
      const objects = render(['--set-json', 'webhooks.excludedNamespaces=["kube-system","monitoring"]'], 'guard', 'platform');
      for (const w of webhookConfiguration(objects).webhooks) {
        expect(w.namespaceSelector.matchExpressions?.[1], w.name).to.deep.equal({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'monitoring', 'platform'] });
      }
      expect(reached(objects, 'platform', {})).to.deep.equal([]);
      expect(reached(objects, 'monitoring', { 'pullfix.dev/mode': 'enforce' })).to.deep.equal([]);
      expect(reached(objects, 'kube-public', {})).to.deep.equal(['default.pullfix.dev']);
    });

    it('adds extraRules to every webhook, after the built-in ones', function () {
      const rule: Rule = { apiGroups: ['apps.kruise.io'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: ['clonesets'], scope: 'Namespaced' };
      const objects = render(['--set-json', `webhooks.extraRules=[${JSON.stringify(rule)}]`]);
      expect(webhook(objects, 'enforce.pullfix.dev').rules).to.deep.equal([...enforceRules, rule]);
      expect(webhook(objects, 'default.pullfix.dev').rules.at(-1)).to.deep.equal(rule);
      expect(webhook(objects, 'enforce-open.pullfix.dev').rules.at(-1)).to.deep.equal(rule);
    });

    it('names everything after the release, and the certificate after its Service', function () {
      const objects = render([], 'guard', 'platform');
      const cfg = webhookConfiguration(objects);
      expect(cfg.metadata.name).to.equal('guard-pullfix');
      for (const w of cfg.webhooks) expect(w.clientConfig.service).to.deep.equal({ namespace: 'platform', name: 'guard-pullfix', path: '/mutate', port: 443 });
      one(objects, 'Service', 'guard-pullfix');
      const secret = one(objects, 'Secret', 'guard-pullfix-tls');
      const cert = new X509Certificate(Buffer.from((secret['data'] as Record<string, string>)['tls.crt'] ?? '', 'base64'));
      expect(cert.checkHost('guard-pullfix.platform.svc')).to.equal('guard-pullfix.platform.svc');
      for (const o of objects) if (o.metadata.namespace !== undefined) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal('platform');
    });

    it('passes server.maxInflightBytes and server.maxConnections to pullfix serve, and refuses values it would refuse', function () {
      const args = deployment(render(['--set', 'server.maxInflightBytes=24Mi', '--set', 'server.maxConnections=256'])).spec.template.spec.containers[0]?.args ?? [];
      expect(serveBounds(args)).to.deep.equal({ budget: 24 * 2 ** 20, connections: 256 });
      expect(args.slice(-4)).to.deep.equal(['--max-inflight-bytes', '24Mi', '--max-connections', '256']);
      expect(renderError(['--set', 'server.maxInflightBytes=64MB'])).to.match(/server\.maxInflightBytes: must be bytes or a whole number of Ki, Mi or Gi .*got "64MB"/);
      expect(renderError(['--set', 'server.maxConnections=0'])).to.match(/server\.maxConnections: must be a whole number of at least 1, got 0/);
    });

    it('takes replicas, image, resources and the PDB/NetworkPolicy switches', function () {
      const objects = render([
        '--set', 'replicaCount=3',
        '--set', 'image.repository=registry.example.com/pullfix',
        '--set', 'image.digest=sha256:' + 'a'.repeat(64),
        '--set', 'resources.limits.memory=512Mi',
        '--set', 'podDisruptionBudget.enabled=false',
        '--set', 'networkPolicy.enabled=false',
      ]);
      const d = deployment(objects);
      expect(d.spec.replicas).to.equal(3);
      expect(d.spec.template.spec.containers[0]?.image).to.equal(`registry.example.com/pullfix@sha256:${'a'.repeat(64)}`);
      expect(d.spec.template.spec.containers[0]?.resources?.limits?.['memory']).to.equal('512Mi');
      expect(all(objects, 'PodDisruptionBudget')).to.have.length(0);
      expect(all(objects, 'NetworkPolicy')).to.have.length(0);
      expect(deployment(render(['--set', 'image.tag=0.2.0'])).spec.template.spec.containers[0]?.image).to.equal('ghcr.io/pullfix/pullfix:0.2.0');
    });
  });

  describe('monitoring', function () {
    const monitoringKinds = ['ServiceMonitor', 'PrometheusRule'];

    it('renders no ServiceMonitor, PrometheusRule or dashboard unless asked', function () {
      const objects = render();
      for (const kind of monitoringKinds) expect(all(objects, kind), kind).to.have.length(0);
      expect(objects.filter((o) => o.metadata.name.endsWith('grafana-dashboard'))).to.have.length(0);
    });

    it('renders manifests/monitoring: the same alert groups, the same dashboard, a ServiceMonitor on the metrics port', function () {
      const objects = render(['--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true', '--set', 'prometheusRule.labels.release=kube-prometheus']);
      const source = parse(readFileSync(path.join(root, 'manifests', 'monitoring', 'prometheusrule.yaml'), 'utf8')) as { spec: unknown };
      const rule = one(objects, 'PrometheusRule', 'pullfix');
      expect(rule['spec']).to.deep.equal(source.spec);
      expect(rule.metadata.labels?.['release']).to.equal('kube-prometheus');
      const dashboard = one(objects, 'ConfigMap', 'pullfix-grafana-dashboard');
      expect(dashboard.metadata.labels?.['grafana_dashboard']).to.equal('1');
      expect(JSON.parse((dashboard['data'] as Record<string, string>)['pullfix.json'] ?? '')).to.deep.equal(
        JSON.parse(readFileSync(path.join(root, 'manifests', 'monitoring', 'grafana-dashboard.json'), 'utf8')),
      );
      const monitor = one(objects, 'ServiceMonitor', 'pullfix');
      const spec = monitor['spec'] as { jobLabel: string; selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
      const svc = one(objects, 'Service', 'pullfix');
      for (const [k, v] of Object.entries(spec.selector.matchLabels)) expect(svc.metadata.labels?.[k], k).to.equal(v);
      // The alerts say job="pullfix": the job label comes from this Service label.
      expect(svc.metadata.labels?.[spec.jobLabel]).to.equal('pullfix');
      expect(spec.endpoints).to.deep.equal([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
      expect(((svc['spec'] as { ports: { name: string }[] }).ports).map((p) => p.name)).to.include('metrics');
    });
  });
});
