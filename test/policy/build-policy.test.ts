// The generator's structure: kinds and operations from SPEC §5, selectors, versions, and config
// values reaching CEL only as escaped literals. What the CEL computes is checked against the
// real API server in test/e2e/policy*.test.ts.
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { parseConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import type { PullfixConfig } from '../../src/engine/types.js';
import { buildPolicy, POLICY_API_VERSIONS } from '../../src/policy/build-policy.js';
import { renderPolicy } from '../../src/policy/render-policy.js';

type Obj = Record<string, any>;

function config(raw: unknown): PullfixConfig {
  return parseConfig(raw, 'pullfix.yaml');
}

function policyOf(cfg: PullfixConfig = { ...DEFAULT_CONFIG }): Obj {
  return buildPolicy(cfg, { apiVersion: 'v1' })[0] as Obj;
}

/** Every (group, resource, operation) the policy's rules admit, as `group/resource OP` strings. */
function admitted(policy: Obj): string[] {
  const out: string[] = [];
  for (const rule of policy.spec.matchConstraints.resourceRules as Obj[]) {
    for (const g of rule.apiGroups) for (const r of rule.resources) for (const op of rule.operations) out.push(`${g}/${r} ${op}`);
  }
  return out.sort();
}

describe('pullfix policy: generator', () => {
  it('matches the kinds and operations of SPEC §5, ephemeral containers through the subresource', () => {
    expect(admitted(policyOf())).to.deep.equal(
      [
        '/pods CREATE',
        '/pods/ephemeralcontainers UPDATE',
        '/podtemplates CREATE',
        '/podtemplates UPDATE',
        '/replicationcontrollers CREATE',
        '/replicationcontrollers UPDATE',
        'apps/daemonsets CREATE',
        'apps/daemonsets UPDATE',
        'apps/deployments CREATE',
        'apps/deployments UPDATE',
        'apps/replicasets CREATE',
        'apps/replicasets UPDATE',
        'apps/statefulsets CREATE',
        'apps/statefulsets UPDATE',
        'batch/cronjobs CREATE',
        'batch/cronjobs UPDATE',
        'batch/jobs CREATE',
      ].sort(),
    );
  });

  it('with workloads: false keeps pods and the kinds the config names', () => {
    const cfg = config({ workloads: false, podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }] });
    expect(admitted(policyOf(cfg))).to.deep.equal(
      ['/pods CREATE', '/pods/ephemeralcontainers UPDATE', 'apps.kruise.io/* CREATE', 'apps.kruise.io/* UPDATE'].sort(),
    );
    const handled = (policyOf(cfg).spec.matchConditions as Obj[]).find((c) => c.name === 'handled-kind-and-operation');
    expect(handled?.expression).to.contain("'apps.kruise.io/CloneSet'").and.not.contain('apps/Deployment');
  });

  it('reads a configured kind at its path, escaping a key that is not a CEL identifier', () => {
    const cfg = config({ podTemplates: [{ group: 'example.com', kind: 'Odd', path: '/spec/pod-template/spec' }] });
    const spec = (policyOf(cfg).spec.variables as Obj[]).find((v) => v.name === 'spec')?.expression as string;
    expect(spec).to.contain("object.?spec[?'pod-template'].?spec");
    const specPath = (policyOf(cfg).spec.variables as Obj[]).find((v) => v.name === 'specPath')?.expression as string;
    expect(specPath).to.contain("['example.com/Odd'] ? '/spec/pod-template/spec'");
  });

  it('leaves out mode-off namespaces, system namespaces and ignored objects', () => {
    const { namespaceSelector, objectSelector } = policyOf().spec.matchConstraints;
    expect(namespaceSelector.matchExpressions).to.deep.equal([
      { key: 'pullfix.dev/mode', operator: 'NotIn', values: ['off'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', 'pullfix-system'] },
    ]);
    expect(objectSelector.matchExpressions).to.deep.equal([{ key: 'pullfix.dev/ignore', operator: 'NotIn', values: ['true'] }]);
  });

  it('with mode off in the config, acts only in namespaces labelled default or enforce', () => {
    const { namespaceSelector } = policyOf(config({ mode: 'off' })).spec.matchConstraints;
    expect(namespaceSelector.matchExpressions[0]).to.deep.equal({ key: 'pullfix.dev/mode', operator: 'In', values: ['default', 'enforce'] });
  });

  it('never denies and looks again after other mutations', () => {
    const { spec } = policyOf();
    expect(spec.failurePolicy).to.equal('Ignore');
    expect(spec.reinvocationPolicy).to.equal('IfNeeded');
    expect(spec.mutations).to.have.length(1);
    expect(spec.mutations[0].patchType).to.equal('JSONPatch');
  });

  it('puts config values into CEL as escaped string literals', () => {
    const cfg = config({ mutableTags: "^(it's|a\\d)$", policies: { tagged: 'IfNotPresent' } });
    const variables = policyOf(cfg).spec.variables as Obj[];
    const tagPattern = variables.find((v) => v.name === 'tagPattern')?.expression as string;
    expect(tagPattern).to.contain("'^(?:^(it\\'s|a\\\\d)$)$'");
    const policies = variables.find((v) => v.name === 'policies')?.expression as string;
    expect(policies).to.match(/'tagged': .* \? v : 'IfNotPresent'\)\[0\]/);
  });

  it('turns exempt globs into one anchored pattern', () => {
    const mutation = policyOf(config({ exemptImages: ['localhost:5000/*', 'registry.example/a?c'] })).spec.mutations[0].jsonPatch.expression as string;
    expect(mutation).to.contain(".matches('(?:^localhost:5000\\\\/.*$)|(?:^registry\\\\.example\\\\/a.c$)')");
    expect(policyOf().spec.mutations[0].jsonPatch.expression).to.not.contain('.matches(');
  });

  it('refuses a config pattern that RE2 cannot run, naming the file and field', () => {
    expect(() => buildPolicy(config({ mutableTags: '^(?!v\\d).*' }), { apiVersion: 'v1', configFile: 'pullfix.yaml' })).to.throw(
      /^pullfix\.yaml: mutableTags: not an RE2 \(linear-time\) regular expression: invalid or unsupported Perl syntax/,
    );
    expect(() => buildPolicy(config({ mutableTags: '^(a)\\1$' }), { apiVersion: 'v1' })).to.throw(/mutableTags: not an RE2 \(linear-time\) regular expression: invalid escape sequence/);
  });

  for (const version of POLICY_API_VERSIONS) {
    it(`renders ${version} as two YAML documents that read back as the objects built`, () => {
      const text = renderPolicy(config({ policies: { mutable: 'Always' } }), { apiVersion: version });
      const docs = parseAllDocuments(text).map((d) => d.toJS() as Obj);
      expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).to.deep.equal([
        `admissionregistration.k8s.io/${version} MutatingAdmissionPolicy`,
        `admissionregistration.k8s.io/${version} MutatingAdmissionPolicyBinding`,
      ]);
      expect(docs).to.deep.equal(buildPolicy(config({ policies: { mutable: 'Always' } }), { apiVersion: version }));
      expect(docs[1]?.spec.policyName).to.equal(docs[0]?.metadata.name);
      // YAML 1.1 readers (kubectl) take a bare off as false: the selector value must be quoted.
      expect(text).to.contain('- "off"');
    });
  }
});
