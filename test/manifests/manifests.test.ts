// manifests/: the kustomize base and overlays, rendered by the real `kubectl kustomize`
// and checked for what keeps a cluster safe with pullfix in it: which namespaces and
// objects reach which webhook, how each fails, least-privilege RBAC, a hardened pod.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { parse, parseAllDocuments } from 'yaml';

// Compiled to dist/test/manifests/, so the repository root is three levels up.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const kubectl = process.env['KUBECTL'] ?? 'kubectl';

// ---------------------------------------------------------------------------
// Shapes of the objects asserted on (only the fields the tests read).

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface KObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [field: string]: unknown;
}
interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
}
interface Rule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
  scope?: string;
}
interface Webhook {
  name: string;
  failurePolicy: string;
  namespaceSelector: Selector;
  objectSelector: Selector;
  sideEffects: string;
  timeoutSeconds: number;
  reinvocationPolicy: string;
  admissionReviewVersions: string[];
  matchPolicy: string;
  clientConfig: { service?: Record<string, unknown>; url?: string; caBundle?: string };
  rules: Rule[];
}
interface WebhookConfiguration extends KObject {
  webhooks: Webhook[];
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface Probe {
  httpGet?: { path: string; port: string | number; scheme?: string };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext & { fsGroup?: number };
  topologySpreadConstraints?: { topologyKey: string; maxSkew: number; labelSelector?: Selector; whenUnsatisfiable: string }[];
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string }; emptyDir?: unknown }[];
}
interface Deployment extends KObject {
  spec: {
    replicas: number;
    selector: Selector;
    strategy?: { rollingUpdate?: { maxUnavailable?: number | string } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

// ---------------------------------------------------------------------------
// Rendering and lookups.

function hasKubectl(): boolean {
  return spawnSync(kubectl, ['version', '--client'], { stdio: 'ignore' }).status === 0;
}

function render(dir: string): KObject[] {
  const out = execFileSync(kubectl, ['kustomize', path.join(root, dir)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const objects: KObject[] = [];
  for (const doc of parseAllDocuments(out)) {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]?.message ?? 'YAML error'}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as KObject);
  }
  return objects;
}

function all(objects: KObject[], kind: string): KObject[] {
  return objects.filter((o) => o.kind === kind);
}

function one<T extends KObject = KObject>(objects: KObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind} ${name}`).to.have.length(1);
  return found[0] as T;
}

function deployment(objects: KObject[]): Deployment {
  return one<Deployment>(objects, 'Deployment', 'pullfix');
}

function webhookConfiguration(objects: KObject[]): WebhookConfiguration {
  return one<WebhookConfiguration>(objects, 'MutatingWebhookConfiguration', 'pullfix');
}

function webhook(objects: KObject[], name: string): Webhook {
  const found = webhookConfiguration(objects).webhooks.find((w) => w.name === name);
  if (!found) throw new Error(`no webhook ${name}`);
  return found;
}

/** A label selector as the API server evaluates it (all requirements must hold). */
function selects(selector: Selector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** The webhooks that a namespace (by name and labels) and an object (by labels) reach. */
function reached(objects: KObject[], namespace: string, nsLabels: Record<string, string>, objLabels: Record<string, string> = {}): string[] {
  // The API server sets kubernetes.io/metadata.name on every namespace (1.21+).
  const labels = { ...nsLabels, 'kubernetes.io/metadata.name': namespace };
  return webhookConfiguration(objects)
    .webhooks.filter((w) => selects(w.namespaceSelector, labels) && selects(w.objectSelector, objLabels))
    .map((w) => w.name);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// ---------------------------------------------------------------------------
// Expected values from SPEC sections 3, 5 and 8.

const systemNamespaces = ['kube-system', 'kube-public', 'kube-node-lease', 'pullfix-system'];
const excludeSystem: Requirement = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: systemNamespaces };

const baseRules: Rule[] = [
  { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'podtemplates', 'replicationcontrollers'], scope: 'Namespaced' },
  { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' },
  { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], scope: 'Namespaced' },
  { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
];
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

const builtInKinds = [
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
  { dir: 'manifests', rules: baseRules, podTemplates: [] as unknown[] },
  { dir: 'manifests/overlays/cert-manager', rules: baseRules, podTemplates: [] as unknown[] },
  { dir: 'manifests/overlays/kruise', rules: [...baseRules, kruiseRule], podTemplates: kruisePodTemplates as unknown[] },
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

  for (const { dir, rules, podTemplates } of renderings) {
    describe(dir, function () {
      it('renders exactly the expected kinds of built-in objects', function () {
        const kinds = [...new Set(objectsOf(dir).filter((o) => !o.apiVersion.startsWith('cert-manager.io/')).map((o) => o.kind))].sort();
        expect(kinds).to.deep.equal(builtInKinds);
        for (const o of objectsOf(dir)) {
          expect(o.metadata.name, `${o.kind} has a name`).to.be.a('string').and.not.equal('');
        }
      });

      it('has no unknown or misspelled fields in built-in objects (client-node models)', function () {
        // client-node's generated models know every field of the Kubernetes API: an
        // object that does not survive a decode/encode round trip unchanged carries
        // a field the API server would drop (or reject with strict validation).
        for (const o of objectsOf(dir).filter((x) => builtInKinds.includes(x.kind))) {
          const version = o.apiVersion.split('/').pop() ?? '';
          const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${o.kind}`;
          // clone() drops the keys the encoder leaves undefined.
          const roundTripped = clone<unknown>(ObjectSerializer.serialize(ObjectSerializer.deserialize(clone(o), type, ''), type, ''));
          expect(roundTripped, `${o.kind} ${o.metadata.name}`).to.deep.equal(o);
        }
      });

      it('validates built-in objects against the Kubernetes OpenAPI schema (kubernetes-models)', async function () {
        let validated = 0;
        for (const o of objectsOf(dir).filter((x) => builtInKinds.includes(x.kind))) {
          // kubernetes-models/<apiVersion>/<Kind>, e.g. kubernetes-models/apps/v1/Deployment.
          const specifier = `kubernetes-models/${o.apiVersion}/${o.kind}`;
          let mod: Record<string, unknown>;
          try {
            mod = (await import(specifier)) as Record<string, unknown>;
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
              console.warn(`    skipped: ${specifier} not installed (devDependency kubernetes-models)`);
              this.skip();
            }
            throw err;
          }
          const Model = mod[o.kind] as new (data: unknown) => { validate(): void };
          expect(Model, specifier).to.be.a('function');
          expect(() => new Model(clone(o)).validate(), `${o.kind} ${o.metadata.name}`).to.not.throw();
          validated++;
        }
        expect(validated).to.equal(objectsOf(dir).filter((x) => builtInKinds.includes(x.kind)).length);
      });

      it('puts every namespaced object in pullfix-system', function () {
        const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'];
        for (const o of objectsOf(dir)) {
          if (clusterScoped.includes(o.kind)) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal(undefined);
          else expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal('pullfix-system');
        }
        one(objectsOf(dir), 'Namespace', 'pullfix-system');
      });

      describe('MutatingWebhookConfiguration pullfix', function () {
        it('has the two webhooks of SPEC section 8, in order', function () {
          expect(webhookConfiguration(objectsOf(dir)).webhooks.map((w) => w.name)).to.deep.equal([
            'default.pullfix.dev',
            'enforce.pullfix.dev',
          ]);
        });

        it('fails open for default.pullfix.dev and closed for enforce.pullfix.dev', function () {
          expect(webhook(objectsOf(dir), 'default.pullfix.dev').failurePolicy).to.equal('Ignore');
          expect(webhook(objectsOf(dir), 'enforce.pullfix.dev').failurePolicy).to.equal('Fail');
        });

        it('selects namespaces by pullfix.dev/mode and leaves out the system namespaces', function () {
          expect(webhook(objectsOf(dir), 'default.pullfix.dev').namespaceSelector).to.deep.equal({
            matchExpressions: [{ key: 'pullfix.dev/mode', operator: 'NotIn', values: ['off', 'enforce'] }, excludeSystem],
          });
          expect(webhook(objectsOf(dir), 'enforce.pullfix.dev').namespaceSelector).to.deep.equal({
            matchExpressions: [{ key: 'pullfix.dev/mode', operator: 'In', values: ['enforce'] }, excludeSystem],
          });
        });

        it('leaves out objects labelled pullfix.dev/ignore=true', function () {
          for (const w of webhookConfiguration(objectsOf(dir)).webhooks) {
            expect(w.objectSelector, w.name).to.deep.equal({
              matchExpressions: [{ key: 'pullfix.dev/ignore', operator: 'NotIn', values: ['true'] }],
            });
          }
        });

        // What the selectors mean, evaluated as the API server does.
        type Case = { ns: string; labels: Record<string, string>; obj?: Record<string, string>; want: string[] };
        const cases: Case[] = [
          { ns: 'default', labels: {}, want: ['default.pullfix.dev'] },
          { ns: 'team-a', labels: { 'pullfix.dev/mode': 'default' }, want: ['default.pullfix.dev'] },
          { ns: 'team-a', labels: { 'pullfix.dev/mode': 'enforce' }, want: ['enforce.pullfix.dev'] },
          { ns: 'team-a', labels: { 'pullfix.dev/mode': 'off' }, want: [] },
          // Label values are case-sensitive: an invalid mode falls back to the default webhook.
          { ns: 'team-a', labels: { 'pullfix.dev/mode': 'Enforce' }, want: ['default.pullfix.dev'] },
          { ns: 'team-a', labels: {}, obj: { 'pullfix.dev/ignore': 'true' }, want: [] },
          { ns: 'team-a', labels: { 'pullfix.dev/mode': 'enforce' }, obj: { 'pullfix.dev/ignore': 'true' }, want: [] },
          { ns: 'team-a', labels: {}, obj: { 'pullfix.dev/ignore': 'false' }, want: ['default.pullfix.dev'] },
          ...systemNamespaces.flatMap((ns): Case[] => [
            { ns, labels: {}, want: [] },
            { ns, labels: { 'pullfix.dev/mode': 'enforce' }, want: [] },
            { ns, labels: { 'pullfix.dev/mode': 'default' }, want: [] },
          ]),
        ];
        // The overlays' selectors are asserted equal to these above; the table runs once.
        for (const c of dir === 'manifests' ? cases : []) {
          it(`namespace ${c.ns} ${JSON.stringify(c.labels)}, object ${JSON.stringify(c.obj ?? {})} -> [${c.want.join(', ')}]`, function () {
            expect(reached(objectsOf(dir), c.ns, c.labels, c.obj)).to.deep.equal(c.want);
          });
        }

        it('never sends one request to both webhooks', function () {
          for (const mode of [undefined, 'off', 'default', 'enforce', 'ENFORCE', '']) {
            const labels: Record<string, string> = mode === undefined ? {} : { 'pullfix.dev/mode': mode };
            expect(reached(objectsOf(dir), 'team-a', labels).length, `mode ${String(mode)}`).to.be.at.most(1);
          }
        });

        it('declares no side effects, a short timeout, reinvocation, v1 and v1beta1, Equivalent matching', function () {
          for (const w of webhookConfiguration(objectsOf(dir)).webhooks) {
            expect(w.sideEffects, w.name).to.equal('None');
            expect(w.timeoutSeconds, w.name).to.be.within(1, 5);
            expect(w.reinvocationPolicy, w.name).to.equal('IfNeeded');
            expect(w.admissionReviewVersions, w.name).to.deep.equal(['v1', 'v1beta1']);
            expect(w.matchPolicy, w.name).to.equal('Equivalent');
          }
        });

        it('calls the pullfix Service at /mutate on 443', function () {
          for (const w of webhookConfiguration(objectsOf(dir)).webhooks) {
            expect(w.clientConfig.url, w.name).to.equal(undefined);
            expect(w.clientConfig.service, w.name).to.deep.equal({
              namespace: 'pullfix-system',
              name: 'pullfix',
              path: '/mutate',
              port: 443,
            });
          }
          // ... and that Service exists and listens on 443.
          const svc = one(objectsOf(dir), 'Service', 'pullfix');
          const ports = (svc['spec'] as { ports: { port: number }[] }).ports.map((p) => p.port);
          expect(ports).to.include(443);
        });

        it('carries no caBundle (filled at deploy time or by cert-manager)', function () {
          for (const w of webhookConfiguration(objectsOf(dir)).webhooks) {
            expect(w.clientConfig.caBundle, w.name).to.equal(undefined);
          }
        });

        it(`has exactly the rules of SPEC section 5${rules.length > baseRules.length ? ' plus OpenKruise' : ''}`, function () {
          for (const w of webhookConfiguration(objectsOf(dir)).webhooks) {
            expect(w.rules, w.name).to.deep.equal(rules);
          }
        });
      });

      describe('RBAC', function () {
        it('grants get/list/watch on namespaces and nothing else', function () {
          const roles = objectsOf(dir).filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
          expect(roles.map((r) => `${r.kind}/${r.metadata.name}`)).to.deep.equal(['ClusterRole/pullfix']);
          expect(roles[0]?.['rules']).to.deep.equal([{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }]);
          expect(roles[0]?.['aggregationRule']).to.equal(undefined);
        });

        it('binds that role to the pullfix ServiceAccount only', function () {
          expect(all(objectsOf(dir), 'RoleBinding')).to.have.length(0);
          const bindings = all(objectsOf(dir), 'ClusterRoleBinding');
          expect(bindings).to.have.length(1);
          expect(bindings[0]?.['roleRef']).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pullfix' });
          expect(bindings[0]?.['subjects']).to.deep.equal([{ kind: 'ServiceAccount', name: 'pullfix', namespace: 'pullfix-system' }]);
          const sa = one(objectsOf(dir), 'ServiceAccount', 'pullfix');
          expect(sa['automountServiceAccountToken']).to.not.equal(false);
        });
      });

      describe('Deployment pullfix', function () {
        it('runs two replicas spread across nodes, never below two ready in a rollout', function () {
          const d = deployment(objectsOf(dir));
          expect(d.spec.replicas).to.equal(2);
          expect(selects(d.spec.selector, d.spec.template.metadata.labels)).to.equal(true);
          const spread = d.spec.template.spec.topologySpreadConstraints?.find((t) => t.topologyKey === 'kubernetes.io/hostname');
          expect(spread, 'topologySpreadConstraint on kubernetes.io/hostname').to.not.equal(undefined);
          expect(spread?.maxSkew).to.equal(1);
          expect(selects(spread?.labelSelector ?? { matchLabels: { none: 'none' } }, d.spec.template.metadata.labels)).to.equal(true);
          expect(d.spec.strategy?.rollingUpdate?.maxUnavailable).to.equal(0);
        });

        it('runs the image with the serve arguments of SPEC section 6', function () {
          const [c, ...others] = deployment(objectsOf(dir)).spec.template.spec.containers;
          expect(others).to.have.length(0);
          expect(c?.image).to.equal('ghcr.io/pullfix/pullfix:0.1.0');
          expect(c?.command, 'the image entrypoint is used').to.equal(undefined);
          expect(c?.args).to.deep.equal([
            'serve',
            '--config',
            '/etc/pullfix/config.yaml',
            '--tls-cert',
            '/etc/pullfix/tls/tls.crt',
            '--tls-key',
            '/etc/pullfix/tls/tls.key',
            '--port',
            '8443',
            '--health-port',
            '8080',
          ]);
          expect(c?.ports).to.deep.include({ name: 'https', containerPort: 8443, protocol: 'TCP' });
          expect(c?.ports).to.deep.include({ name: 'health', containerPort: 8080, protocol: 'TCP' });
        });

        it('probes /healthz (liveness) and /readyz (readiness) on the health port', function () {
          const c = deployment(objectsOf(dir)).spec.template.spec.containers[0];
          expect(c?.livenessProbe?.httpGet).to.deep.equal({ path: '/healthz', port: 'health' });
          expect(c?.readinessProbe?.httpGet).to.deep.equal({ path: '/readyz', port: 'health' });
        });

        it('mounts the config and the TLS Secret read-only where the arguments point, without subPath', function () {
          const spec = deployment(objectsOf(dir)).spec.template.spec;
          const c = spec.containers[0];
          const mounts = c?.volumeMounts ?? [];
          const configMount = mounts.find((m) => m.mountPath === '/etc/pullfix');
          const tlsMount = mounts.find((m) => m.mountPath === '/etc/pullfix/tls');
          expect(configMount?.readOnly).to.equal(true);
          expect(tlsMount?.readOnly).to.equal(true);
          // subPath mounts never see ConfigMap or Secret updates: no reload, no rotation.
          expect(mounts.filter((m) => m.subPath !== undefined)).to.have.length(0);
          const volume = (name: string | undefined): NonNullable<PodSpec['volumes']>[number] | undefined =>
            spec.volumes?.find((v) => v.name === name);
          expect(volume(configMount?.name)?.configMap?.name).to.equal('pullfix-config');
          expect(volume(tlsMount?.name)?.secret?.secretName).to.equal('pullfix-tls');
          // The config file the arguments name is a key of that ConfigMap.
          const cm = one(objectsOf(dir), 'ConfigMap', 'pullfix-config');
          expect(Object.keys(cm['data'] as Record<string, string>)).to.include('config.yaml');
        });

        it('sets requests and limits for CPU and memory', function () {
          const r = deployment(objectsOf(dir)).spec.template.spec.containers[0]?.resources;
          expect(r?.requests).to.have.all.keys('cpu', 'memory');
          expect(r?.limits).to.have.all.keys('cpu', 'memory');
        });

        it('hardens every container: non-root 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', function () {
          const spec = deployment(objectsOf(dir)).spec.template.spec;
          expect(spec.hostNetwork ?? false).to.equal(false);
          expect(spec.hostPID ?? false).to.equal(false);
          expect(spec.hostIPC ?? false).to.equal(false);
          expect(spec.securityContext?.runAsNonRoot).to.equal(true);
          for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
            const sc = c.securityContext ?? {};
            expect(sc.runAsNonRoot, c.name).to.equal(true);
            expect(sc.runAsUser, c.name).to.equal(65532);
            expect(sc.runAsGroup, c.name).to.equal(65532);
            expect(sc.readOnlyRootFilesystem, c.name).to.equal(true);
            expect(sc.allowPrivilegeEscalation, c.name).to.equal(false);
            expect(sc.privileged ?? false, c.name).to.equal(false);
            expect(sc.capabilities?.drop, c.name).to.deep.equal(['ALL']);
            expect(sc.capabilities?.add ?? [], c.name).to.deep.equal([]);
            expect((sc.seccompProfile ?? spec.securityContext?.seccompProfile)?.type, c.name).to.equal('RuntimeDefault');
          }
        });

        it('gets a service account token for the namespace watch', function () {
          const spec = deployment(objectsOf(dir)).spec.template.spec;
          expect(spec.serviceAccountName).to.equal('pullfix');
          expect(spec.automountServiceAccountToken).to.equal(true);
        });

        it('drains gracefully: a preStop sleep (no shell in the image) within the grace period', function () {
          const spec = deployment(objectsOf(dir)).spec.template.spec;
          expect(spec.terminationGracePeriodSeconds).to.equal(30);
          const preStop = spec.containers[0]?.lifecycle?.preStop;
          expect(preStop?.exec, 'the distroless image has no shell or sleep binary').to.equal(undefined);
          expect(preStop?.sleep?.seconds).to.be.within(3, 10);
        });
      });

      it('keeps one replica through voluntary disruptions (PodDisruptionBudget)', function () {
        const pdb = one(objectsOf(dir), 'PodDisruptionBudget', 'pullfix');
        const spec = pdb['spec'] as { minAvailable?: number; maxUnavailable?: number; selector: Selector };
        expect(spec.minAvailable).to.equal(1);
        expect(spec.maxUnavailable).to.equal(undefined);
        expect(selects(spec.selector, deployment(objectsOf(dir)).spec.template.metadata.labels)).to.equal(true);
      });

      it('exposes 443 -> 8443 on Service pullfix, selecting the pods', function () {
        const svc = one(objectsOf(dir), 'Service', 'pullfix');
        const spec = svc['spec'] as { selector: Record<string, string>; ports: { name?: string; port: number; targetPort: string | number }[] };
        const d = deployment(objectsOf(dir));
        expect(selects({ matchLabels: spec.selector }, d.spec.template.metadata.labels)).to.equal(true);
        const https = spec.ports.find((p) => p.port === 443);
        const containerPorts = d.spec.template.spec.containers[0]?.ports ?? [];
        const target = typeof https?.targetPort === 'string' ? containerPorts.find((p) => p.name === https.targetPort)?.containerPort : https?.targetPort;
        expect(target).to.equal(8443);
        // No other Service port reaches the webhook listener.
        for (const p of spec.ports.filter((x) => x.port !== 443)) {
          const t = typeof p.targetPort === 'string' ? containerPorts.find((c) => c.name === p.targetPort)?.containerPort : p.targetPort;
          expect(t, `Service port ${p.port}`).to.not.equal(8443);
        }
      });

      it('limits traffic: in on 8443 and 8080, out to the API server and DNS (NetworkPolicy)', function () {
        const np = one(objectsOf(dir), 'NetworkPolicy', 'pullfix');
        type Port = { protocol?: string; port: number };
        const spec = np['spec'] as {
          podSelector: Selector;
          policyTypes: string[];
          ingress: { ports?: Port[] }[];
          egress: { ports?: Port[] }[];
        };
        expect(selects(spec.podSelector, deployment(objectsOf(dir)).spec.template.metadata.labels)).to.equal(true);
        expect(spec.policyTypes).to.have.members(['Ingress', 'Egress']);
        const ports = (rules: { ports?: Port[] }[]): string[] => rules.flatMap((r) => (r.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`));
        expect(ports(spec.ingress)).to.have.members(['TCP/8443', 'TCP/8080']);
        expect(ports(spec.egress)).to.have.members(['TCP/443', 'TCP/6443', 'UDP/53', 'TCP/53']);
        // Every rule names its ports: nothing else is open.
        for (const r of [...spec.ingress, ...spec.egress]) expect(r.ports ?? []).to.not.have.length(0);
      });

      it(`holds config.yaml with the documented defaults${podTemplates.length ? ' and the OpenKruise pod templates' : ''}`, function () {
        const cm = one(objectsOf(dir), 'ConfigMap', 'pullfix-config');
        const text = (cm['data'] as Record<string, string>)['config.yaml'] ?? '';
        expect(text, 'the file is commented').to.match(/^# /m);
        expect(parse(text)).to.deep.equal({ ...defaultConfig, podTemplates });
      });
    });
  }

  describe('manifests/overlays/cert-manager', function () {
    const dir = 'manifests/overlays/cert-manager';
    type Cert = KObject & {
      spec: { secretName: string; isCA?: boolean; dnsNames?: string[]; usages?: string[]; issuerRef: { name: string; kind: string; group?: string } };
    };

    it('chains a self-signed Issuer, a CA Certificate and a CA Issuer', function () {
      const objects = objectsOf(dir);
      for (const o of objects.filter((x) => x.apiVersion.startsWith('cert-manager.io/'))) {
        expect(o.apiVersion, `${o.kind} ${o.metadata.name}`).to.equal('cert-manager.io/v1');
        expect(['Issuer', 'Certificate'], `${o.kind} ${o.metadata.name}`).to.include(o.kind);
      }
      const selfSigned = one(objects, 'Issuer', 'pullfix-selfsigned');
      expect(selfSigned['spec']).to.deep.equal({ selfSigned: {} });
      const ca = one<Cert>(objects, 'Certificate', 'pullfix-ca');
      expect(ca.spec.isCA).to.equal(true);
      expect(ca.spec.issuerRef).to.deep.include({ kind: 'Issuer', name: 'pullfix-selfsigned' });
      const caIssuer = one(objects, 'Issuer', 'pullfix-ca');
      expect(caIssuer['spec']).to.deep.equal({ ca: { secretName: ca.spec.secretName } });
    });

    it('issues the serving certificate into Secret pullfix-tls with the Service names, for server auth', function () {
      const objects = objectsOf(dir);
      const cert = one<Cert>(objects, 'Certificate', 'pullfix-serving-cert');
      expect(cert.spec.issuerRef).to.deep.include({ kind: 'Issuer', name: 'pullfix-ca' });
      expect(cert.spec.isCA ?? false).to.equal(false);
      expect(cert.spec.secretName).to.equal('pullfix-tls');
      expect(cert.spec.dnsNames).to.have.members([
        'pullfix',
        'pullfix.pullfix-system',
        'pullfix.pullfix-system.svc',
        'pullfix.pullfix-system.svc.cluster.local',
      ]);
      expect(cert.spec.usages).to.include('server auth');
      expect(cert.spec.usages).to.not.include('client auth');
      // The pods mount the Secret this Certificate writes.
      const volumes = deployment(objects).spec.template.spec.volumes ?? [];
      expect(volumes.map((v) => v.secret?.secretName)).to.include(cert.spec.secretName);
    });

    it('has cert-manager inject the CA into the webhook configuration', function () {
      const objects = objectsOf(dir);
      const cert = one<Cert>(objects, 'Certificate', 'pullfix-serving-cert');
      expect(webhookConfiguration(objects).metadata.annotations?.['cert-manager.io/inject-ca-from']).to.equal(
        `${cert.metadata.namespace ?? ''}/${cert.metadata.name}`,
      );
      expect(webhookConfiguration(objects).metadata.annotations?.['cert-manager.io/inject-ca-from']).to.equal(
        'pullfix-system/pullfix-serving-cert',
      );
    });
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
