// manifests/: the kustomize base and overlays, rendered by the real `kubectl kustomize`
// and checked for what keeps a cluster safe with pullfix in it (the shared assertions of
// safety.ts: which namespaces and objects reach which webhook, how each fails,
// least-privilege RBAC, a hardened pod), plus what is particular to each overlay.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  clone,
  describeCertManager,
  describeSafety,
  one,
  parseObjects,
  webhookConfiguration,
  type KObject,
  type Rule,
} from './safety.js';

// Compiled to dist/test/manifests/, so the repository root is three levels up.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const kubectl = process.env['KUBECTL'] ?? 'kubectl';

// ---------------------------------------------------------------------------
// Rendering.

function hasKubectl(): boolean {
  return spawnSync(kubectl, ['version', '--client'], { stdio: 'ignore' }).status === 0;
}

function render(dir: string): KObject[] {
  const out = execFileSync(kubectl, ['kustomize', path.join(root, dir)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseObjects(out, dir);
}

// ---------------------------------------------------------------------------
// Expected values from SPEC sections 3 and 5.

const kruiseRule: Rule = {
  apiGroups: ['apps.kruise.io'],
  apiVersions: ['v1alpha1', 'v1beta1'],
  operations: ['CREATE', 'UPDATE'],
  resources: ['clonesets', 'statefulsets', 'daemonsets'],
  scope: 'Namespaced',
};

const defaultConfig = {
  mode: 'default',
  policies: { mutable: 'Always' },
  mutableTags: '^(latest|main|master|dev|develop|edge|nightly|canary)$',
  exemptImages: [],
  workloads: true,
  podTemplates: [],
};
const kruisePodTemplates = [
  { group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' },
  { group: 'apps.kruise.io', kind: 'StatefulSet', path: '/spec/template/spec' },
  { group: 'apps.kruise.io', kind: 'DaemonSet', path: '/spec/template/spec' },
];

const kustomizeKinds = [
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'Deployment',
  'MutatingWebhookConfiguration',
  'Namespace',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'Service',
  'ServiceAccount',
];

const renderings = [
  { dir: 'manifests', extraRules: [] as Rule[], podTemplates: [] as unknown[] },
  { dir: 'manifests/overlays/cert-manager', extraRules: [] as Rule[], podTemplates: [] as unknown[] },
  { dir: 'manifests/overlays/kruise', extraRules: [kruiseRule], podTemplates: kruisePodTemplates as unknown[] },
];

// ---------------------------------------------------------------------------

describe('manifests (kubectl kustomize)', function () {
  const rendered = new Map<string, KObject[]>();

  before(function () {
    if (!hasKubectl()) {
      // kubectl (with its built-in kustomize) renders the manifests; nothing else can.
      console.warn(`    skipped: ${kubectl} not found on PATH; install kubectl >= 1.27 to check manifests/`);
      this.skip();
    }
    for (const { dir } of renderings) rendered.set(dir, render(dir));
  });

  function objectsOf(dir: string): KObject[] {
    const objects = rendered.get(dir);
    if (!objects) throw new Error(`${dir} was not rendered`);
    return objects;
  }

  for (const { dir, extraRules, podTemplates } of renderings) {
    describe(dir, function () {
      it('renders exactly the expected kinds of built-in objects', function () {
        const kinds = [...new Set(objectsOf(dir).filter((o) => !o.apiVersion.startsWith('cert-manager.io/')).map((o) => o.kind))].sort();
        expect(kinds).to.deep.equal(kustomizeKinds);
        for (const o of objectsOf(dir)) {
          expect(o.metadata.name, `${o.kind} has a name`).to.be.a('string').and.not.equal('');
        }
      });

      describeSafety(() => objectsOf(dir), { ownsNamespace: true, caBundle: 'absent', extraRules, selectorTable: dir === 'manifests' });

      it(`holds config.yaml with the documented defaults${podTemplates.length ? ' and the OpenKruise pod templates' : ''}`, function () {
        const cm = one(objectsOf(dir), 'ConfigMap', 'pullfix-config');
        const text = (cm['data'] as Record<string, string>)['config.yaml'] ?? '';
        expect(text, 'the file is commented').to.match(/^# /m);
        expect(parse(text)).to.deep.equal({ ...defaultConfig, podTemplates });
      });
    });
  }

  describe('manifests/overlays/cert-manager', function () {
    describeCertManager(() => objectsOf('manifests/overlays/cert-manager'));
  });

  describe('overlays change only what they are for', function () {
    function withoutConfigAndWebhook(objects: KObject[]): KObject[] {
      return objects.filter((o) => o.kind !== 'ConfigMap' && o.kind !== 'MutatingWebhookConfiguration' && !o.apiVersion.startsWith('cert-manager.io/'));
    }

    it('kruise: the same objects as the base apart from the config and the webhook rules', function () {
      expect(withoutConfigAndWebhook(objectsOf('manifests/overlays/kruise'))).to.deep.equal(withoutConfigAndWebhook(objectsOf('manifests')));
    });

    it('cert-manager: the same objects as the base apart from the certificates and the webhook annotation', function () {
      const overlay = withoutConfigAndWebhook(objectsOf('manifests/overlays/cert-manager'));
      expect(overlay).to.deep.equal(withoutConfigAndWebhook(objectsOf('manifests')));
      const webhookBase = webhookConfiguration(objectsOf('manifests'));
      const webhookOverlay = clone(webhookConfiguration(objectsOf('manifests/overlays/cert-manager')));
      delete webhookOverlay.metadata.annotations;
      expect(webhookOverlay).to.deep.equal(webhookBase);
    });
  });
});
