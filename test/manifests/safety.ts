// The safety assertions every way of installing pullfix must pass: which namespaces and
// objects reach which webhook, how each fails, least-privilege RBAC, a hardened pod, a
// disruption budget, narrow network access, objects the API server accepts as written.
// manifests.test.ts runs them on the kustomize render, charts/pullfix.test.ts on `helm
// template` for each certificate mode: one copy, so the two installs cannot drift apart.
import { expect } from 'chai';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { parseAllDocuments } from 'yaml';

// ---------------------------------------------------------------------------
// Shapes of the objects asserted on (only the fields the tests read).

export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [field: string]: unknown;
}
export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
}
export interface Rule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
  scope?: string;
}
export interface MatchCondition {
  name: string;
  expression: string;
}
export interface Webhook {
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
  matchConditions?: MatchCondition[];
}
export interface WebhookConfiguration extends KObject {
  webhooks: Webhook[];
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
export interface Probe {
  httpGet?: { path: string; port: string | number; scheme?: string };
}
export interface Container {
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
export interface PodSpec {
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
export interface Deployment extends KObject {
  spec: {
    replicas: number;
    selector: Selector;
    strategy?: { rollingUpdate?: { maxUnavailable?: number | string } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

// ---------------------------------------------------------------------------
// Rendering output and lookups.

/** The objects of a multi-document YAML stream, as `kubectl kustomize` or `helm template` print it. */
export function parseObjects(text: string, origin: string): KObject[] {
  const objects: KObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors[0]?.message ?? 'YAML error'}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as KObject);
  }
  return objects;
}

export function all(objects: KObject[], kind: string): KObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function one<T extends KObject = KObject>(objects: KObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind} ${name}`).to.have.length(1);
  return found[0] as T;
}

export function deployment(objects: KObject[]): Deployment {
  return one<Deployment>(objects, 'Deployment', 'pullfix');
}

/** The one MutatingWebhookConfiguration (named after the release in a chart install). */
export function webhookConfiguration(objects: KObject[]): WebhookConfiguration {
  const found = all(objects, 'MutatingWebhookConfiguration');
  expect(found, 'MutatingWebhookConfiguration').to.have.length(1);
  return found[0] as WebhookConfiguration;
}

export function webhook(objects: KObject[], name: string): Webhook {
  const found = webhookConfiguration(objects).webhooks.find((w) => w.name === name);
  if (!found) throw new Error(`no webhook ${name}`);
  return found;
}

/** A label selector as the API server evaluates it (all requirements must hold). */
export function selects(selector: Selector, labels: Record<string, string>): boolean {
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

/** The webhooks whose selectors take a namespace (by name and labels) and an object (by labels); rules and matchConditions decide further. */
export function reached(objects: KObject[], namespace: string, nsLabels: Record<string, string>, objLabels: Record<string, string> = {}): string[] {
  // The API server sets kubernetes.io/metadata.name on every namespace (1.21+).
  const labels = { ...nsLabels, 'kubernetes.io/metadata.name': namespace };
  return webhookConfiguration(objects)
    .webhooks.filter((w) => selects(w.namespaceSelector, labels) && selects(w.objectSelector, objLabels))
    .map((w) => w.name);
}

export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// ---------------------------------------------------------------------------
// Expected values from SPEC sections 3, 5 and 8.

export const systemNamespaces = ['kube-system', 'kube-public', 'kube-node-lease', 'pullfix-system'];
const excludeSystem: Requirement = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: systemNamespaces };

/** default.pullfix.dev: every kind and operation of SPEC section 5. */
export const defaultRules: Rule[] = [
  { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'podtemplates', 'replicationcontrollers'], scope: 'Namespaced' },
  { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' },
  { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], scope: 'Namespaced' },
  { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
];

/** enforce.pullfix.dev: the same less Pod and Job UPDATE, where pullfix only warns. */
export const enforceRules: Rule[] = [
  { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' },
  { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['podtemplates', 'replicationcontrollers'], scope: 'Namespaced' },
  { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' },
  { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], scope: 'Namespaced' },
  { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'], scope: 'Namespaced' },
  { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['cronjobs'], scope: 'Namespaced' },
];

/** The CEL condition that keeps controller-owned objects away from the fail-closed webhook. */
export const notControllerOwned: MatchCondition = {
  name: 'not-controller-owned',
  expression:
    "(has(request.subResource) && request.subResource == 'ephemeralcontainers') || !has(object.metadata.ownerReferences) || " +
    '!object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller)',
};

/** CEL: a Pod or Job UPDATE (no subresource), which the fail-closed webhook's rules leave out. */
export const podOrJobUpdate =
  "(request.operation == 'UPDATE' && (!has(request.subResource) || request.subResource == '') && " +
  "((has(request.resource.group) ? request.resource.group : '') + '/' + request.resource.resource) in ['/pods', 'batch/jobs'])";

/** enforce-open.pullfix.dev's condition: what enforce.pullfix.dev leaves out, given its matchConditions (all must hold). */
export function whatEnforceLeavesOut(enforceConditions: MatchCondition[]): MatchCondition {
  const all = enforceConditions.map((c) => c.expression);
  const expression =
    all.length === 0 ? podOrJobUpdate : all.length === 1 ? `${podOrJobUpdate} || !(${all[0]})` : `${podOrJobUpdate} || !((${all.join(') && (')}))`;
  return { name: 'what-enforce-leaves-out', expression };
}

/** `GROUP/RESOURCE OPERATION` for everything a list of rules matches. */
export function ruleTuples(rules: Rule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const op of r.operations) out.add(`${g}/${res} ${op}`);
  return [...out].sort();
}

const MI = 2 ** 20;

/** A Kubernetes quantity with a binary suffix (or none), in bytes: `256Mi`. */
export function bytesOf(quantity: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!m) throw new Error(`not a binary quantity: ${JSON.stringify(quantity)}`);
  return Number(m[1]) * ({ '': 1, Ki: 2 ** 10, Mi: MI, Gi: 2 ** 30 }[m[2] ?? ''] as number);
}

/** The two bounds `pullfix serve` runs with (its defaults where a flag is absent). */
export function serveBounds(args: string[]): { budget: number; connections: number } {
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  return { budget: bytesOf(flag('--max-inflight-bytes') ?? '32Mi'), connections: Number(flag('--max-connections') ?? '512') };
}

/**
 * The peak resident set the bounds allow, from what test/reliability/memory-bounds.test.ts
 * measured on the server process: about 70 MiB at rest, about 3.5 bytes per byte of body budget
 * at its peak (a 32 MiB budget peaked at 163-186 MiB under forty 7 MB reviews; 64 MiB at 221-245
 * MiB), and about 35 KiB per idle TLS connection (512 cost 17 MiB).
 */
export function expectedPeak(budget: number, connections: number): number {
  return 70 * MI + 3.5 * budget + 35 * 1024 * connections;
}

/** Kinds whose schema the Kubernetes models know; others (cert-manager, Prometheus) are CRDs. */
export const builtInKinds = [
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'CronJob',
  'Deployment',
  'MutatingWebhookConfiguration',
  'Namespace',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'Role',
  'RoleBinding',
  'Secret',
  'Service',
  'ServiceAccount',
];

export interface SafetyOptions {
  /** Whether the install creates Namespace pullfix-system itself (kustomize does, helm does not). */
  ownsNamespace: boolean;
  /** `absent`: filled in later (make deploy, cert-manager); `present`: in the rendered objects. */
  caBundle: 'absent' | 'present';
  /** Rules for configured custom kinds, after the built-in ones in every webhook. */
  extraRules?: Rule[];
  /** Run the table of namespace and object labels against the selectors (once is enough per suite). */
  selectorTable?: boolean;
}

/**
 * Every built-in object survives a decode/encode round trip through client-node's generated
 * models, which know every field of the Kubernetes API: one that does not carries a field the
 * API server would drop (or reject with strict validation).
 */
export function expectKnownFields(objects: KObject[]): void {
  for (const o of objects.filter((x) => builtInKinds.includes(x.kind))) {
    const version = o.apiVersion.split('/').pop() ?? '';
    const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${o.kind}`;
    // clone() drops the keys the encoder leaves undefined.
    const roundTripped = clone<unknown>(ObjectSerializer.serialize(ObjectSerializer.deserialize(clone(o), type, ''), type, ''));
    expect(roundTripped, `${o.kind} ${o.metadata.name}`).to.deep.equal(o);
  }
}

/** Every built-in object validates against the Kubernetes OpenAPI schema (kubernetes-models); skips `test` without it. */
export async function validateWithModels(test: Mocha.Context, objects: KObject[]): Promise<void> {
  let validated = 0;
  for (const o of objects.filter((x) => builtInKinds.includes(x.kind))) {
    // kubernetes-models/<apiVersion>/<Kind>, e.g. kubernetes-models/apps/v1/Deployment.
    const specifier = `kubernetes-models/${o.apiVersion}/${o.kind}`;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(specifier)) as Record<string, unknown>;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        console.warn(`    skipped: ${specifier} not installed (devDependency kubernetes-models)`);
        test.skip();
      }
      throw err;
    }
    const Model = mod[o.kind] as new (data: unknown) => { validate(): void };
    expect(Model, specifier).to.be.a('function');
    expect(() => new Model(clone(o)).validate(), `${o.kind} ${o.metadata.name}`).to.not.throw();
    validated++;
  }
  expect(validated).to.equal(objects.filter((x) => builtInKinds.includes(x.kind)).length);
}

/** A hardened pod: non-root 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, no host namespaces. */
export function expectHardenedPod(spec: PodSpec): void {
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
}

/**
 * Registers the safety assertions (mocha `it`s) on the objects `objects()` returns once the
 * caller's `before` hook has rendered them.
 */
export function describeSafety(objects: () => KObject[], options: SafetyOptions): void {
  it('has no unknown or misspelled fields in built-in objects (client-node models)', function () {
    expectKnownFields(objects());
  });

  it('validates built-in objects against the Kubernetes OpenAPI schema (kubernetes-models)', async function () {
    await validateWithModels(this, objects());
  });

  it('puts every namespaced object in pullfix-system', function () {
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'];
    for (const o of objects()) {
      if (clusterScoped.includes(o.kind)) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal(undefined);
      else expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal('pullfix-system');
    }
    if (options.ownsNamespace) one(objects(), 'Namespace', 'pullfix-system');
  });

  describe('MutatingWebhookConfiguration pullfix', function () {
    it('has the webhooks of SPEC section 8, in order: default, enforce, and the fail-open share of enforce namespaces', function () {
      expect(webhookConfiguration(objects()).metadata.name).to.equal('pullfix');
      expect(webhookConfiguration(objects()).webhooks.map((w) => w.name)).to.deep.equal([
        'default.pullfix.dev',
        'enforce.pullfix.dev',
        'enforce-open.pullfix.dev',
      ]);
    });

    it('fails open for default.pullfix.dev and enforce-open.pullfix.dev, closed for enforce.pullfix.dev', function () {
      expect(webhook(objects(), 'default.pullfix.dev').failurePolicy).to.equal('Ignore');
      expect(webhook(objects(), 'enforce.pullfix.dev').failurePolicy).to.equal('Fail');
      expect(webhook(objects(), 'enforce-open.pullfix.dev').failurePolicy).to.equal('Ignore');
    });

    it('selects namespaces by pullfix.dev/mode and leaves out the system namespaces', function () {
      expect(webhook(objects(), 'default.pullfix.dev').namespaceSelector).to.deep.equal({
        matchExpressions: [{ key: 'pullfix.dev/mode', operator: 'NotIn', values: ['off', 'enforce'] }, excludeSystem],
      });
      for (const name of ['enforce.pullfix.dev', 'enforce-open.pullfix.dev']) {
        expect(webhook(objects(), name).namespaceSelector, name).to.deep.equal({
          matchExpressions: [{ key: 'pullfix.dev/mode', operator: 'In', values: ['enforce'] }, excludeSystem],
        });
      }
    });

    it('leaves out objects labelled pullfix.dev/ignore=true', function () {
      for (const w of webhookConfiguration(objects()).webhooks) {
        expect(w.objectSelector, w.name).to.deep.equal({
          matchExpressions: [{ key: 'pullfix.dev/ignore', operator: 'NotIn', values: ['true'] }],
        });
      }
    });

    // What the selectors mean, evaluated as the API server does. In enforce namespaces the two
    // enforce webhooks split each request between them (rules and matchConditions, below).
    type Case = { ns: string; labels: Record<string, string>; obj?: Record<string, string>; want: string[] };
    const enforced = ['enforce.pullfix.dev', 'enforce-open.pullfix.dev'];
    const cases: Case[] = [
      { ns: 'default', labels: {}, want: ['default.pullfix.dev'] },
      { ns: 'team-a', labels: { 'pullfix.dev/mode': 'default' }, want: ['default.pullfix.dev'] },
      { ns: 'team-a', labels: { 'pullfix.dev/mode': 'enforce' }, want: enforced },
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
    for (const c of options.selectorTable ? cases : []) {
      it(`namespace ${c.ns} ${JSON.stringify(c.labels)}, object ${JSON.stringify(c.obj ?? {})} -> [${c.want.join(', ')}]`, function () {
        expect(reached(objects(), c.ns, c.labels, c.obj)).to.deep.equal(c.want);
      });
    }

    it('never sends a namespace to both default.pullfix.dev and the enforce webhooks', function () {
      for (const mode of [undefined, 'off', 'default', 'enforce', 'ENFORCE', '']) {
        const labels: Record<string, string> = mode === undefined ? {} : { 'pullfix.dev/mode': mode };
        const got = reached(objects(), 'team-a', labels);
        expect(got.length === 0 || got.includes('default.pullfix.dev') !== got.includes('enforce.pullfix.dev'), `mode ${String(mode)}: ${got.join(', ')}`).to.equal(true);
        expect(got.includes('enforce.pullfix.dev'), `mode ${String(mode)}`).to.equal(got.includes('enforce-open.pullfix.dev'));
      }
    });

    // SPEC section 8: in an enforce namespace each request reaches exactly one of the two enforce
    // webhooks. Without a CEL evaluator here, this holds by construction, asserted piece by piece
    // (test/e2e/webhook-routing.test.ts shows the real API server routing each kind of request):
    // same selectors; enforce-open's rules are default's, which are enforce's plus Pod and Job
    // UPDATE exactly; its condition is Pod or Job UPDATE, or the negation of all of enforce's
    // conditions; and every read in those conditions is guarded by has(), so none can error.
    it('enforce-open.pullfix.dev takes exactly what enforce.pullfix.dev leaves out in enforce namespaces', function () {
      const dflt = webhook(objects(), 'default.pullfix.dev');
      const enforce = webhook(objects(), 'enforce.pullfix.dev');
      const open = webhook(objects(), 'enforce-open.pullfix.dev');
      expect(open.namespaceSelector).to.deep.equal(enforce.namespaceSelector);
      expect(open.objectSelector).to.deep.equal(enforce.objectSelector);
      expect(open.rules).to.deep.equal(dflt.rules);
      const enforced = ruleTuples(enforce.rules);
      expect(enforced.filter((t) => !ruleTuples(dflt.rules).includes(t)), 'enforce matches nothing default does not').to.deep.equal([]);
      expect(ruleTuples(dflt.rules).filter((t) => !enforced.includes(t))).to.deep.equal(['/pods UPDATE', 'batch/jobs UPDATE']);
      expect(open.matchConditions).to.deep.equal([...(dflt.matchConditions ?? []), whatEnforceLeavesOut(enforce.matchConditions ?? [])]);
      for (const c of [...(enforce.matchConditions ?? []), ...(open.matchConditions ?? [])]) {
        // Every optional field read sits behind has(): subResource, ownerReferences, controller, group.
        for (const field of ['request.subResource', 'object.metadata.ownerReferences', 'r.controller', 'request.resource.group']) {
          const reads = c.expression.split(field).length - 1;
          const guarded = c.expression.split(`has(${field})`).length - 1;
          if (reads > 0) expect(guarded, `${c.name}: has(${field})`).to.be.at.least(1);
        }
        expect(c.expression, c.name).to.not.include('namespaceObject');
      }
    });

    it('declares no side effects, a short timeout, reinvocation, v1 and v1beta1, Equivalent matching', function () {
      for (const w of webhookConfiguration(objects()).webhooks) {
        expect(w.sideEffects, w.name).to.equal('None');
        expect(w.timeoutSeconds, w.name).to.be.within(1, 5);
        expect(w.reinvocationPolicy, w.name).to.equal('IfNeeded');
        expect(w.admissionReviewVersions, w.name).to.deep.equal(['v1', 'v1beta1']);
        expect(w.matchPolicy, w.name).to.equal('Equivalent');
      }
    });

    it('calls the pullfix Service at /mutate on 443', function () {
      for (const w of webhookConfiguration(objects()).webhooks) {
        expect(w.clientConfig.url, w.name).to.equal(undefined);
        expect(w.clientConfig.service, w.name).to.deep.equal({
          namespace: 'pullfix-system',
          name: 'pullfix',
          path: '/mutate',
          port: 443,
        });
      }
      // ... and that Service exists and listens on 443.
      const svc = one(objects(), 'Service', 'pullfix');
      const ports = (svc['spec'] as { ports: { port: number }[] }).ports.map((p) => p.port);
      expect(ports).to.include(443);
    });

    if (options.caBundle === 'absent') {
      it('carries no caBundle (filled at deploy time or by cert-manager)', function () {
        for (const w of webhookConfiguration(objects()).webhooks) {
          expect(w.clientConfig.caBundle, w.name).to.equal(undefined);
        }
      });
    } else {
      it('carries the same PEM CA bundle in every webhook', function () {
        const bundles = webhookConfiguration(objects()).webhooks.map((w) => w.clientConfig.caBundle ?? '');
        expect(new Set(bundles).size, 'one bundle').to.equal(1);
        expect(Buffer.from(bundles[0] ?? '', 'base64').toString('utf8')).to.match(/^-----BEGIN CERTIFICATE-----\n/);
      });
    }

    const extra = options.extraRules ?? [];
    it(`default.pullfix.dev and enforce-open.pullfix.dev have exactly the rules of SPEC section 5${extra.length ? ' plus the configured kinds' : ''}`, function () {
      expect(webhook(objects(), 'default.pullfix.dev').rules).to.deep.equal([...defaultRules, ...extra]);
      expect(webhook(objects(), 'default.pullfix.dev').matchConditions ?? []).to.deep.equal([]);
      expect(webhook(objects(), 'enforce-open.pullfix.dev').rules).to.deep.equal([...defaultRules, ...extra]);
    });

    // SPEC section 8: the fail-closed webhook is called only where pullfix may change
    // something, so an outage never blocks a rollout's ReplicaSet updates, a scale, or a
    // label on a Pod.
    it('enforce.pullfix.dev leaves out Pod and Job UPDATE (warnings only; both immutable)', function () {
      const rules = webhook(objects(), 'enforce.pullfix.dev').rules;
      expect(rules).to.deep.equal([...enforceRules, ...extra]);
      const operations = (group: string, resource: string): string[] =>
        rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.operations);
      expect(operations('', 'pods')).to.deep.equal(['CREATE']);
      expect(operations('batch', 'jobs')).to.deep.equal(['CREATE']);
      expect(operations('', 'pods/ephemeralcontainers')).to.deep.equal(['UPDATE']);
    });

    it('enforce.pullfix.dev skips controller-owned objects (matchConditions), except kubectl debug; enforce-open.pullfix.dev takes them', function () {
      expect(webhook(objects(), 'enforce.pullfix.dev').matchConditions).to.deep.equal([notControllerOwned]);
      expect(webhook(objects(), 'enforce-open.pullfix.dev').matchConditions).to.deep.equal([
        { name: 'what-enforce-leaves-out', expression: `${podOrJobUpdate} || !(${notControllerOwned.expression})` },
      ]);
    });
  });

  describe('RBAC', function () {
    it('grants get/list/watch on namespaces and nothing else', function () {
      const roles = objects().filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
      expect(roles.map((r) => `${r.kind}/${r.metadata.name}`)).to.deep.equal(['ClusterRole/pullfix']);
      expect(roles[0]?.['rules']).to.deep.equal([{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }]);
      expect(roles[0]?.['aggregationRule']).to.equal(undefined);
    });

    it('binds that role to the pullfix ServiceAccount only', function () {
      expect(all(objects(), 'RoleBinding')).to.have.length(0);
      const bindings = all(objects(), 'ClusterRoleBinding');
      expect(bindings).to.have.length(1);
      expect(bindings[0]?.['roleRef']).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pullfix' });
      expect(bindings[0]?.['subjects']).to.deep.equal([{ kind: 'ServiceAccount', name: 'pullfix', namespace: 'pullfix-system' }]);
      const sa = one(objects(), 'ServiceAccount', 'pullfix');
      expect(sa['automountServiceAccountToken']).to.not.equal(false);
    });
  });

  describe('Deployment pullfix', function () {
    it('runs two replicas spread across nodes, never below two ready in a rollout', function () {
      const d = deployment(objects());
      expect(d.spec.replicas).to.equal(2);
      expect(selects(d.spec.selector, d.spec.template.metadata.labels)).to.equal(true);
      const spread = d.spec.template.spec.topologySpreadConstraints?.find((t) => t.topologyKey === 'kubernetes.io/hostname');
      expect(spread, 'topologySpreadConstraint on kubernetes.io/hostname').to.not.equal(undefined);
      expect(spread?.maxSkew).to.equal(1);
      expect(selects(spread?.labelSelector ?? { matchLabels: { none: 'none' } }, d.spec.template.metadata.labels)).to.equal(true);
      expect(d.spec.strategy?.rollingUpdate?.maxUnavailable).to.equal(0);
    });

    it('runs the image with the serve arguments of SPEC section 6', function () {
      const [c, ...others] = deployment(objects()).spec.template.spec.containers;
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
        '--max-inflight-bytes',
        '32Mi',
        '--max-connections',
        '512',
      ]);
      expect(c?.ports).to.deep.include({ name: 'https', containerPort: 8443, protocol: 'TCP' });
      expect(c?.ports).to.deep.include({ name: 'health', containerPort: 8080, protocol: 'TCP' });
    });

    it('probes /healthz (liveness) and /readyz (readiness) on the health port', function () {
      const c = deployment(objects()).spec.template.spec.containers[0];
      expect(c?.livenessProbe?.httpGet).to.deep.equal({ path: '/healthz', port: 'health' });
      expect(c?.readinessProbe?.httpGet).to.deep.equal({ path: '/readyz', port: 'health' });
    });

    it('mounts the config and the TLS Secret read-only where the arguments point, without subPath', function () {
      const spec = deployment(objects()).spec.template.spec;
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
      const cm = one(objects(), 'ConfigMap', 'pullfix-config');
      expect(Object.keys(cm['data'] as Record<string, string>)).to.include('config.yaml');
    });

    it('sets requests and limits for CPU and memory', function () {
      const r = deployment(objects()).spec.template.spec.containers[0]?.resources;
      expect(r?.requests).to.have.all.keys('cpu', 'memory');
      expect(r?.limits).to.have.all.keys('cpu', 'memory');
    });

    it('bounds bodies in flight and connections so that the server fits its memory limit', function () {
      const c = deployment(objects()).spec.template.spec.containers[0];
      const limit = bytesOf(c?.resources?.limits?.['memory'] ?? '');
      const { budget, connections } = serveBounds(c?.args ?? []);
      expect(budget, '--max-inflight-bytes').to.be.at.least(7 * MI);
      expect(expectedPeak(budget, connections), `the measured model of memory-bounds.test.ts against the ${limit}-byte limit`).to.be.below(limit);
    });

    it('hardens every container: non-root 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', function () {
      expectHardenedPod(deployment(objects()).spec.template.spec);
    });

    it('gets a service account token for the namespace watch', function () {
      const spec = deployment(objects()).spec.template.spec;
      expect(spec.serviceAccountName).to.equal('pullfix');
      expect(spec.automountServiceAccountToken).to.equal(true);
    });

    it('drains gracefully: a preStop sleep (no shell in the image) within the grace period', function () {
      const spec = deployment(objects()).spec.template.spec;
      expect(spec.terminationGracePeriodSeconds).to.equal(30);
      const preStop = spec.containers[0]?.lifecycle?.preStop;
      expect(preStop?.exec, 'the distroless image has no shell or sleep binary').to.equal(undefined);
      expect(preStop?.sleep?.seconds).to.be.within(3, 10);
    });
  });

  it('keeps one replica through voluntary disruptions (PodDisruptionBudget)', function () {
    const pdb = one(objects(), 'PodDisruptionBudget', 'pullfix');
    const spec = pdb['spec'] as { minAvailable?: number; maxUnavailable?: number; selector: Selector };
    expect(spec.minAvailable).to.equal(1);
    expect(spec.maxUnavailable).to.equal(undefined);
    expect(selects(spec.selector, deployment(objects()).spec.template.metadata.labels)).to.equal(true);
  });

  it('exposes 443 -> 8443 on Service pullfix, selecting the pods', function () {
    const svc = one(objects(), 'Service', 'pullfix');
    const spec = svc['spec'] as { selector: Record<string, string>; ports: { name?: string; port: number; targetPort: string | number }[] };
    const d = deployment(objects());
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
    const np = one(objects(), 'NetworkPolicy', 'pullfix');
    type Port = { protocol?: string; port: number };
    const spec = np['spec'] as {
      podSelector: Selector;
      policyTypes: string[];
      ingress: { ports?: Port[] }[];
      egress: { ports?: Port[] }[];
    };
    expect(selects(spec.podSelector, deployment(objects()).spec.template.metadata.labels)).to.equal(true);
    expect(spec.policyTypes).to.have.members(['Ingress', 'Egress']);
    const ports = (rules: { ports?: Port[] }[]): string[] => rules.flatMap((r) => (r.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`));
    expect(ports(spec.ingress)).to.have.members(['TCP/8443', 'TCP/8080']);
    expect(ports(spec.egress)).to.have.members(['TCP/443', 'TCP/6443', 'UDP/53', 'TCP/53']);
    // Every rule names its ports: nothing else is open.
    for (const r of [...spec.ingress, ...spec.egress]) expect(r.ports ?? []).to.not.have.length(0);
  });
}

/**
 * The certificate chain of a cert-manager install: a self-signed Issuer, a CA, a CA Issuer
 * and the serving certificate in Secret pullfix-tls, whose CA the injector copies into the
 * webhooks (the kustomize overlay and the chart's certificates.mode=cert-manager).
 */
export function describeCertManager(rendered: () => KObject[]): void {
  type Cert = KObject & {
    spec: { secretName: string; isCA?: boolean; dnsNames?: string[]; usages?: string[]; issuerRef: { name: string; kind: string; group?: string } };
  };

  it('chains a self-signed Issuer, a CA Certificate and a CA Issuer', function () {
    const objects = rendered();
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
    const objects = rendered();
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
    const objects = rendered();
    const cert = one<Cert>(objects, 'Certificate', 'pullfix-serving-cert');
    expect(webhookConfiguration(objects).metadata.annotations?.['cert-manager.io/inject-ca-from']).to.equal(
      `${cert.metadata.namespace ?? ''}/${cert.metadata.name}`,
    );
    expect(webhookConfiguration(objects).metadata.annotations?.['cert-manager.io/inject-ca-from']).to.equal(
      'pullfix-system/pullfix-serving-cert',
    );
  });
}
