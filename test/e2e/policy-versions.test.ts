// `pullfix policy --api-version` for each version the API server serves (v1 by default, v1beta1
// and v1alpha1 through --runtime-config): the YAML is accepted by a server-side dry run, which
// validates the schema and compiles every CEL expression; then each version is applied for real
// and changes a Pod.
import { expect } from 'chai';
import { parseAllDocuments, stringify } from 'yaml';
import { type TestCluster, shared } from './harness/cluster.js';
import { generatePolicy, installPolicy, uninstallPolicy, writeConfig } from './policy-support.js';

type Json = Record<string, any>;

const VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const;
const CONFIG = {
  policies: { mutable: 'Always', tagged: 'IfNotPresent' },
  exemptImages: ['localhost:5000/*'],
  podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }],
};

describe('e2e: pullfix policy --api-version', () => {
  let cluster: TestCluster;
  let configFile: string;

  before(async function () {
    this.timeout(120_000);
    cluster = shared();
    configFile = writeConfig(CONFIG);
    await cluster.unregisterWebhook();
    await uninstallPolicy(cluster);
  });

  after(async function () {
    this.timeout(180_000);
    await uninstallPolicy(cluster);
    await cluster.registerWebhook();
  });

  it('the API server serves MutatingAdmissionPolicy in all three versions', async () => {
    const result = await cluster.kubectlOk(['api-versions']);
    for (const v of VERSIONS) expect(result.stdout.split('\n')).to.include(`admissionregistration.k8s.io/${v}`);
  });

  for (const version of VERSIONS) {
    it(`${version}: accepted by a server-side dry run, which compiles its CEL`, async () => {
      const yaml = await generatePolicy(cluster, configFile, version);
      const result = await cluster.kubectlOk(['create', '--dry-run=server', '-o', 'name', '-f', '-'], { stdin: yaml });
      expect(result.stdout.trim().split('\n')).to.deep.equal([
        'mutatingadmissionpolicy.admissionregistration.k8s.io/pullfix.dev',
        'mutatingadmissionpolicybinding.admissionregistration.k8s.io/pullfix.dev',
      ]);
      // The same dry run refuses a policy whose CEL does not compile: the check above checks.
      const docs = parseAllDocuments(yaml).map((d) => d.toJS() as Json);
      (docs[0] as Json).spec.variables[0].expression += ' +';
      const broken = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { stdin: docs.map((d) => stringify(d, { version: '1.1' })).join('---\n') });
      expect(broken.status).to.not.equal(0);
      expect(broken.stderr).to.match(/compil|Syntax error/i);
    });

  }

  for (const version of VERSIONS) {
    it(`${version}: applied, the API server runs it`, async function () {
      this.timeout(180_000);
      await uninstallPolicy(cluster);
      await installPolicy(cluster, await generatePolicy(cluster, configFile, version));
      const stored = await cluster.kubectlOk(['get', 'mutatingadmissionpolicies.' + version + '.admissionregistration.k8s.io', 'pullfix.dev', '-o', 'json']);
      expect((JSON.parse(stored.stdout) as Json).apiVersion).to.equal(`admissionregistration.k8s.io/${version}`);
    });
  }
});
