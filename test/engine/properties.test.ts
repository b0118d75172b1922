// Invariants of the engine, stated over generated reviews (SPEC §2, §4; STYLE §6).
import { expect } from 'chai';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { createEngine, type MutationRequest } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import { checkProperty } from '../helpers/seeds.js';

const { applyPatch, compare } = fjp;
const RUNS = 1000;

const config = compileConfig({
  ...DEFAULT_CONFIG,
  exemptImages: ['localhost:5000/*'],
  podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }],
});
const engine = createEngine(config);

const KINDS: Array<{ group: string; kind: string; path: string[] }> = [
  { group: '', kind: 'Pod', path: ['spec'] },
  { group: '', kind: 'PodTemplate', path: ['template', 'spec'] },
  { group: 'apps', kind: 'Deployment', path: ['spec', 'template', 'spec'] },
  { group: 'batch', kind: 'Job', path: ['spec', 'template', 'spec'] },
  { group: 'batch', kind: 'CronJob', path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
  { group: 'apps.kruise.io', kind: 'CloneSet', path: ['spec', 'template', 'spec'] },
  { group: '', kind: 'ConfigMap', path: ['data'] },
];
const IMAGES = [
  'nginx', 'nginx:latest', 'nginx:1.27', 'example.com/app:dev', 'example.com:5000/team/app:main',
  `nginx@sha256:${'b'.repeat(64)}`, `nginx:1.0@sha256:${'c'.repeat(64)}`, 'localhost:5000/tool:dev', 'Bad/UPPER', '',
];
const POLICY_VALUES = ['Always', 'IfNotPresent', 'Never', 'always', 'NEVER', 'sometimes'];
const policyValue = fc.constantFrom(...POLICY_VALUES);
const namespaceLabel = fc.constantFrom('Always', 'IfNotPresent', 'Never', 'never', 'bogus');

const containerArb = fc.record(
  {
    name: fc.constantFrom('app', 'sidecar', 'init', 'a/b', 'x~y'),
    image: fc.constantFrom(...IMAGES),
    imagePullPolicy: policyValue,
    ports: fc.constant([{ containerPort: 8080, protocol: 'TCP' }]),
  },
  { requiredKeys: ['name', 'image'] },
);

const reviewArb = fc
  .record({
    kind: fc.constantFrom(...KINDS),
    operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'),
    containers: fc.array(containerArb, { maxLength: 4 }),
    initContainers: fc.option(fc.array(containerArb, { maxLength: 2 }), { nil: undefined }),
    stray: fc.option(policyValue, { nil: undefined }),
    lastApplied: fc.option(
      fc.record({ stray: fc.option(policyValue, { nil: undefined }), containers: fc.array(containerArb, { maxLength: 4 }) }),
      { nil: undefined },
    ),
    applyOwns: fc.option(fc.dictionary(fc.constantFrom('app', 'sidecar', 'init'), fc.boolean()), { nil: undefined }),
    labels: fc.record(
      {
        'pullfix.dev/mode': fc.constantFrom('off', 'default', 'enforce', 'Enforce'),
        'pullfix.dev/mutable': namespaceLabel,
        'pullfix.dev/tagged': namespaceLabel,
        'pullfix.dev/digest': namespaceLabel,
      },
      { requiredKeys: [] },
    ),
    mutableTags: fc.option(fc.constantFrom('dev|main', '1\\..*', '('), { nil: undefined }),
    ignore: fc.boolean(),
    source: fc.constantFrom('admission', 'manifest'),
    annotations: fc.option(fc.constant({ team: 'shop' }), { nil: undefined }),
  })
  .map((g) => {
    const podSpec: Record<string, unknown> = { containers: g.containers, restartPolicy: 'Always' };
    if (g.initContainers) podSpec.initContainers = g.initContainers;
    if (g.stray !== undefined) podSpec.imagePullPolicy = g.stray;
    const nest = (leaf: unknown): Record<string, unknown> =>
      g.kind.path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf as Record<string, unknown>);
    const metadata: Record<string, any> = { name: 'obj', namespace: 'ns' };
    if (g.annotations) metadata.annotations = { ...g.annotations };
    if (g.ignore) metadata.labels = { 'pullfix.dev/ignore': 'true' };
    if (g.lastApplied) {
      const laSpec: Record<string, unknown> = { containers: g.lastApplied.containers };
      if (g.lastApplied.stray !== undefined) laSpec.imagePullPolicy = g.lastApplied.stray;
      metadata.annotations = { ...metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(nest(laSpec)) };
    }
    if (g.applyOwns) {
      const owned = Object.fromEntries(
        Object.entries(g.applyOwns).map(([name, owns]) => [`k:${JSON.stringify({ name })}`, owns ? { 'f:imagePullPolicy': {} } : { 'f:image': {} }]),
      );
      const fields = g.kind.path.reduceRight<Record<string, unknown>>((inner, key) => ({ [`f:${key}`]: inner }), { 'f:containers': owned });
      metadata.managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: fields }];
    }
    const object = { apiVersion: 'v1', kind: g.kind.kind, metadata, ...nest(podSpec) };
    const nsAnnotations: Record<string, string> = g.mutableTags ? { 'pullfix.dev/mutable-tags': g.mutableTags } : {};
    const request: MutationRequest = {
      group: g.kind.group,
      kind: g.kind.kind,
      operation: g.operation as MutationRequest['operation'],
      object,
      policy: resolveNamespacePolicy(config, { name: 'ns', labels: g.labels as Record<string, string>, annotations: nsAnnotations }),
      source: g.source as 'admission' | 'manifest',
    };
    return request;
  });

/** Every path a JSON document holds a leaf at, with the leaf. */
function leaves(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) out.set(prefix, JSON.stringify(value));
    for (const [k, v] of entries) for (const [p, l] of leaves(v, `${prefix}/${k}`)) out.set(p, l);
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

const ALLOWED_TO_DIFFER = [/\/(containers|initContainers|ephemeralContainers)\/\d+\/imagePullPolicy$/, /^(\/[^/]+)*\/spec\/imagePullPolicy$/, /^\/template\/spec\/imagePullPolicy$/, /^\/metadata\/annotations(\/pullfix\.dev\/changes)?$/];

describe('engine properties (fast-check)', () => {
  it('applying the returned patch to the original gives the engine result', () => {
    checkProperty(
      fc.property(reviewArb, (request) => {
        const result = engine.mutate(request);
        const applied = applyPatch(structuredClone(request.object), structuredClone(result.patch), true, false).newDocument;
        expect(applied).to.deep.equal(result.mutated);
      }),
      { numRuns: RUNS },
    );
  });

  it('the patch built from the plan is the one compare(object, mutated) gives, op for op (STYLE §2)', () => {
    checkProperty(
      fc.property(reviewArb, (request) => {
        const result = engine.mutate(request);
        const oracle = compare(request.object as object, result.mutated as object);
        expect(result.patch).to.deep.equal(oracle);
        const viaOracle = applyPatch(structuredClone(request.object), oracle, true, false).newDocument;
        const viaBuilt = applyPatch(structuredClone(request.object), structuredClone(result.patch), true, false).newDocument;
        expect(viaBuilt).to.deep.equal(viaOracle);
      }),
      { numRuns: RUNS },
    );
  });

  it('a second call on its own output gives no patch (reinvocation)', () => {
    checkProperty(
      fc.property(reviewArb, (request) => {
        const first = engine.mutate(request);
        const second = engine.mutate({ ...request, object: first.mutated });
        expect(second.patch).to.deep.equal([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('only pull policies, the stray field and the changes annotation ever differ', () => {
    checkProperty(
      fc.property(reviewArb, (request) => {
        const result = engine.mutate(request);
        const before = leaves(request.object);
        const after = leaves(result.mutated);
        for (const path of new Set([...before.keys(), ...after.keys()])) {
          if (before.get(path) === after.get(path)) continue;
          expect(ALLOWED_TO_DIFFER.some((re) => re.test(path)), `changed ${path}`).to.equal(true);
        }
        for (const op of result.patch) expect(['add', 'replace', 'remove']).to.include(op.op);
        for (const w of result.warnings) expect(w.length).to.be.at.most(120);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws, whatever JSON arrives', () => {
    const kind = fc.constantFrom(...KINDS);
    checkProperty(
      fc.property(
        kind,
        fc.jsonValue(),
        fc.jsonValue(),
        fc.constantFrom('CREATE', 'UPDATE'),
        fc.constantFrom('admission', 'manifest'),
        (k, object, spec, operation, source) => {
          const shaped = k.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), spec);
          for (const candidate of [object, shaped, { metadata: object, ...(shaped as object) }]) {
            engine.mutate({
              group: k.group,
              kind: k.kind,
              operation: operation as 'CREATE',
              object: candidate,
              oldObject: object,
              policy: resolveNamespacePolicy(config, undefined),
              source: source as 'admission',
            });
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
