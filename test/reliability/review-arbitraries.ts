// Generated AdmissionReviews for the fuzz tests, and the invariants every answer must keep.
// The reviews range from what the API server really sends (defaulted Pods and workloads,
// kubectl's last-applied annotation, server-side apply managedFields) to what it never sends:
// missing and wrongly typed fields, unknown kinds and operations, huge and deeply nested JSON.
import { expect } from 'chai';
import fc from 'fast-check';
import type { Operation as PatchOperation } from 'fast-json-patch';
import { applyTo, type AnsweredReview } from './helpers.js';

export interface KindCase {
  group: string;
  kind: string;
  /** Where this kind keeps its pod spec (for unknown kinds: where a generator puts one anyway). */
  path: string[];
  /** Operations pullfix may patch (SPEC §5); empty for kinds it does not handle. */
  patched: readonly string[];
}

const TEMPLATE = ['spec', 'template', 'spec'];
const CU = ['CREATE', 'UPDATE'] as const;

export const KINDS: readonly KindCase[] = [
  { group: '', kind: 'Pod', path: ['spec'], patched: ['CREATE'] },
  { group: '', kind: 'PodTemplate', path: ['template', 'spec'], patched: CU },
  { group: '', kind: 'ReplicationController', path: TEMPLATE, patched: CU },
  { group: 'apps', kind: 'Deployment', path: TEMPLATE, patched: CU },
  { group: 'apps', kind: 'ReplicaSet', path: TEMPLATE, patched: CU },
  { group: 'apps', kind: 'StatefulSet', path: TEMPLATE, patched: CU },
  { group: 'apps', kind: 'DaemonSet', path: TEMPLATE, patched: CU },
  { group: 'batch', kind: 'Job', path: TEMPLATE, patched: ['CREATE'] },
  { group: 'batch', kind: 'CronJob', path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'], patched: CU },
  { group: 'apps.kruise.io', kind: 'CloneSet', path: TEMPLATE, patched: CU },
  // Not handled: allowed with no patch.
  { group: '', kind: 'ConfigMap', path: ['data'], patched: [] },
  { group: 'apps', kind: 'Pod', path: ['spec'], patched: [] },
  { group: 'example.com', kind: 'Widget', path: TEMPLATE, patched: [] },
];

/** The config every fuzz target runs with (also written as YAML for the HTTP fuzz). */
export const FUZZ_CONFIG = {
  mode: 'default',
  policies: { mutable: 'Always' },
  mutableTags: '^(latest|main|master|dev|develop|edge|nightly|canary)$',
  exemptImages: ['localhost:5000/*'],
  workloads: true,
  podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }],
} as const;

export const FUZZ_CONFIG_YAML = `mode: default
policies: {mutable: Always}
mutableTags: '^(latest|main|master|dev|develop|edge|nightly|canary)$'
exemptImages: ['localhost:5000/*']
workloads: true
podTemplates:
  - {group: apps.kruise.io, kind: CloneSet, path: /spec/template/spec}
`;

const POLICIES = ['Always', 'IfNotPresent', 'Never'];
const IMAGES = [
  'nginx', 'nginx:latest', 'nginx:1.27', 'docker.io/library/nginx:1.27.3', 'example.com/app:dev', 'example.com:5000/team/app:main',
  `nginx@sha256:${'b'.repeat(64)}`, `registry.k8s.io/pause:3.10@sha256:${'c'.repeat(64)}`, 'localhost:5000/tool:dev', 'localhost:5000/tool',
  'Bad/UPPER', '', ':', 'nginx:', 'a'.repeat(300), `nginx@sha256:${'z'.repeat(64)}`, 'host:99999999/x', '[::1]:5000/app:v1', 'ünïcode/app:1',
];

function weighted<T>(...choices: Array<[T, number]>): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
}

/** Anything JSON can hold, small. */
const junk = fc.jsonValue({ maxDepth: 2 });
/** A value of the wrong type for a string field. */
const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));

/** Maybe absent (undefined keys vanish in JSON), maybe the right kind of value, maybe junk. */
function field<T>(good: fc.Arbitrary<T>, weights = { good: 8, absent: 1, wrong: 1 }): fc.Arbitrary<T | undefined | unknown> {
  return fc.oneof(
    { arbitrary: good, weight: weights.good },
    { arbitrary: fc.constant(undefined), weight: weights.absent },
    { arbitrary: fc.oneof(notString, junk), weight: weights.wrong },
  );
}

const containerName = fc.oneof(
  { arbitrary: fc.constantFrom('app', 'sidecar', 'init', 'debugger', 'a/b', 'x~y', '', '__proto__', 'constructor'), weight: 6 },
  { arbitrary: fc.string({ maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 10 }), weight: 1 },
);
const image = fc.oneof(
  { arbitrary: fc.constantFrom(...IMAGES), weight: 8 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 15 }), weight: 1 },
);
const policyValue = fc.oneof(
  { arbitrary: fc.constantFrom(...POLICIES), weight: 8 },
  { arbitrary: fc.constantFrom('always', 'NEVER', 'ifnotpresent', '', 'sometimes', ' Always'), weight: 2 },
);

const container = fc
  .record(
    {
      name: field(containerName, { good: 9, absent: 2, wrong: 1 }),
      image: field(image, { good: 12, absent: 1, wrong: 1 }),
      imagePullPolicy: field(policyValue, { good: 8, absent: 3, wrong: 1 }),
      extra: junk,
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...c }) => (extra === undefined ? c : { ...c, ports: [{ containerPort: 8080, protocol: 'TCP' }], 'x-extra': extra }));

/** A volume: mostly an image volume (`image.reference`, `image.pullPolicy`), sometimes another kind. */
const volume = fc.oneof(
  {
    arbitrary: fc
      .record({ name: field(containerName, { good: 9, absent: 1, wrong: 1 }), reference: field(image, { good: 12, absent: 1, wrong: 1 }), pullPolicy: field(policyValue, { good: 8, absent: 3, wrong: 1 }) }, { requiredKeys: [] })
      .map(({ name, ...img }) => ({ ...(name === undefined ? {} : { name }), image: img })),
    weight: 6,
  },
  { arbitrary: fc.record({ name: containerName, emptyDir: fc.constant({}) }), weight: 2 },
  { arbitrary: fc.record({ name: containerName, image: fc.oneof(notString, fc.string()) }), weight: 1 },
);

/** A container list: usually an array of containers, sometimes not an array or with non-objects in it. */
const containerList = (max: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.array(container, { maxLength: max }), weight: 12 },
    { arbitrary: fc.array(fc.oneof(container, junk), { maxLength: max }), weight: 1 },
    { arbitrary: fc.oneof(notString, fc.string()), weight: 1 },
  );

const labelValue = (good: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 6 }, { arbitrary: fc.constantFrom('', 'bogus', good[0]!.toUpperCase()), weight: 1 });

/** A namespace's pullfix.dev labels and annotation. Patterns are ones that cannot backtrack badly. */
export const namespaceArb = fc.record(
  {
    labels: fc.record(
      {
        'pullfix.dev/mode': labelValue(['off', 'default', 'enforce']),
        'pullfix.dev/mutable': labelValue(POLICIES),
        'pullfix.dev/tagged': labelValue(POLICIES),
        'pullfix.dev/digest': labelValue(POLICIES),
        team: fc.constant('shop'),
      },
      { requiredKeys: [] },
    ),
    annotations: fc.record({ 'pullfix.dev/mutable-tags': fc.constantFrom('dev|main', '1\\..*', '.*', '(', '', 'v[0-9]+') }, { requiredKeys: [] }),
  },
  { requiredKeys: ['labels', 'annotations'] },
);
export type GeneratedNamespace = { labels: Record<string, string>; annotations: Record<string, string> };

/** The mode a namespace is in, given the config's `default` (an invalid label is ignored). */
export function modeOf(ns: GeneratedNamespace | undefined): string {
  const label = ns?.labels['pullfix.dev/mode'];
  return label === 'off' || label === 'default' || label === 'enforce' ? label : FUZZ_CONFIG.mode;
}

/** Nested objects `depth` levels deep, built without recursion. */
export function nested(depth: number, leaf: unknown = 1): unknown {
  let node: unknown = leaf;
  for (let i = 0; i < depth; i++) node = i % 2 === 0 ? { n: node } : [node];
  return node;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function nest(path: readonly string[], leaf: unknown): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf as Record<string, unknown>);
}

function containerNames(list: unknown): unknown[] {
  return Array.isArray(list) ? list.map((c) => (c !== null && typeof c === 'object' ? (c as { name?: unknown }).name : undefined)) : [];
}

type History = {
  imageChanged: Array<[number, string]>;
  policyChanged: Array<[number, string | undefined]>;
  noted: Array<[number, string, string]>;
  strayNoted?: string | undefined;
};

/**
 * Makes the old object of an UPDATE differ from the object the way real updates do: an image
 * changed in this request (kubectl set image), a policy changed in it (kubectl patch), and
 * pullfix's note on the old object recording values it set (matching the entry's value now or not).
 */
function applyHistory(old: unknown, path: readonly string[], h: History): void {
  const spec = path.reduce<any>((n, k) => (n !== null && typeof n === 'object' ? n[k] : undefined), old);
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return;
  const entries: Array<Record<string, any>> = [];
  for (const list of ['containers', 'initContainers', 'volumes']) {
    if (!Array.isArray(spec[list])) continue;
    for (const e of spec[list]) if (e !== null && typeof e === 'object' && !Array.isArray(e)) entries.push(e);
  }
  if (entries.length > 0) {
    for (const [i, image] of h.imageChanged) {
      const e = entries[i % entries.length]!;
      if (e.image !== null && typeof e.image === 'object' && !Array.isArray(e.image)) e.image.reference = image;
      else e.image = image;
    }
    for (const [i, policy] of h.policyChanged) {
      const e = entries[i % entries.length]!;
      const holder = e.image !== null && typeof e.image === 'object' && !Array.isArray(e.image) ? e.image : e;
      const key = holder === e ? 'imagePullPolicy' : 'pullPolicy';
      if (policy === undefined) delete holder[key];
      else holder[key] = policy;
    }
  }
  const parts: string[] = [];
  const names = ['containers', 'initContainers', 'volumes'].flatMap((list) => (Array.isArray(spec[list]) ? spec[list].map((e: any) => [list, e?.name]) : []));
  for (const [i, to, why] of h.noted) {
    const [list, name] = names.length > 0 ? names[i % names.length]! : ['containers', 'app'];
    if (typeof name !== 'string') continue;
    parts.push(`${list}[${/^[A-Za-z0-9._-]+$/.test(name) ? name : JSON.stringify(name)}]: IfNotPresent->${to} (${why})`);
  }
  if (h.strayNoted) parts.push(`removed pod-level imagePullPolicy ${h.strayNoted}`);
  const meta = (old as Record<string, any>).metadata;
  if (parts.length > 0 && meta !== null && typeof meta === 'object' && !Array.isArray(meta)) {
    if (meta.annotations === undefined || meta.annotations === null) meta.annotations = {};
    if (typeof meta.annotations === 'object' && !Array.isArray(meta.annotations)) meta.annotations['pullfix.dev/changes'] = parts.join('; ');
  }
}

/** One generated review: the JSON the server gets, and what the invariants need to know. */
export interface FuzzCase {
  review: Record<string, unknown>;
  kind: KindCase;
  namespace: string;
}

/** Sizes: `normal` stays small; `huge` allows many containers, big strings and deep nesting. */
export function reviewArb(namespaces: readonly string[], size: 'normal' | 'huge' = 'normal'): fc.Arbitrary<FuzzCase> {
  const huge = size === 'huge';
  return fc
    .record({
      kind: fc.constantFrom(...KINDS),
      operation: fc.oneof({ arbitrary: fc.constantFrom('CREATE', 'CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'CONNECT'), weight: 40 }, { arbitrary: fc.constantFrom('PATCH', 'create'), weight: 1 }),
      subResource: fc.oneof({ arbitrary: fc.constant(undefined), weight: 12 }, { arbitrary: fc.constantFrom('ephemeralcontainers', 'status', ''), weight: 3 }),
      namespace: fc.constantFrom(...namespaces, 'unknown-ns'),
      containers: containerList(huge ? 300 : 5),
      initContainers: fc.option(containerList(huge ? 50 : 2), { nil: undefined }),
      ephemeral: fc.option(fc.array(container, { maxLength: 3 }), { nil: undefined }),
      volumes: fc.option(fc.array(volume, { maxLength: huge ? 40 : 3 }), { nil: undefined }),
      stray: fc.option(field(policyValue, { good: 8, absent: 0, wrong: 1 }), { nil: undefined, freq: 2 }),
      lastApplied: fc.option(
        fc.oneof(
          { arbitrary: fc.record({ stray: fc.option(policyValue, { nil: undefined }), written: fc.array(fc.tuple(containerName, fc.option(policyValue, { nil: undefined })), { maxLength: 4 }) }), weight: 6 },
          { arbitrary: fc.oneof(fc.string(), notString), weight: 1 },
        ),
        { nil: undefined },
      ),
      applyOwns: fc.option(fc.dictionary(containerName, fc.boolean(), { maxKeys: 3 }), { nil: undefined }),
      ignore: weighted<unknown>([undefined, 12], ['true', 1], ['false', 1], [true, 1]),
      owned: weighted<unknown>([undefined, 12], [true, 1], [false, 1], ['yes', 1]),
      metadataShape: weighted(['object', 30], ['missing', 1], ['string', 1], ['array', 1]),
      annotationsShape: weighted(['object', 12], ['missing', 6], ['null', 1], ['string', 1]),
      changesNote: fc.option(fc.constantFrom('containers[app]: unset->Always (pod-level value); removed pod-level imagePullPolicy Always', 'junk'), { nil: undefined }),
      oldObject: fc.constantFrom('same', 'none', 'null', 'junk'),
      // How the old object differs from the object on UPDATE (SPEC §4 rules 3, 4 and 6).
      history: fc.record({
        imageChanged: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...IMAGES)), { maxLength: 2 }),
        policyChanged: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...POLICIES, undefined)), { maxLength: 2 }),
        noted: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...POLICIES), fc.constantFrom('pod-level value', 'policy mutable', 'policy tagged', 'default for image')), { maxLength: 3 }),
        strayNoted: fc.option(fc.constantFrom(...POLICIES), { nil: undefined, freq: 4 }),
      }),
      envelope: fc.record({
        apiVersion: fc.oneof({ arbitrary: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'), weight: 40 }, { arbitrary: fc.oneof(fc.constant('v1'), notString), weight: 1 }),
        kind: fc.oneof({ arbitrary: fc.constant('AdmissionReview'), weight: 40 }, { arbitrary: fc.oneof(fc.constant('Pod'), notString), weight: 1 }),
        // Mostly uuids; sometimes any non-empty string (the uid is echoed, never interpreted).
        uid: fc.oneof({ arbitrary: fc.uuid(), weight: 30 }, { arbitrary: fc.string({ minLength: 1, maxLength: 80 }), weight: 3 }, { arbitrary: fc.oneof(fc.constant(''), notString), weight: 1 }),
        requestKindShape: weighted(['object', 40], ['string', 1], ['missing', 1]),
        dryRun: fc.constantFrom(undefined, true, false, 'yes'),
      }),
      big: huge ? fc.option(fc.record({ where: fc.constantFrom('annotation', 'container', 'spec', 'object'), bytes: fc.integer({ min: 1000, max: 400_000 }), depth: fc.integer({ min: 10, max: 800 }) }), { nil: undefined }) : fc.constant(undefined),
    })
    .map((g) => {
      const kind = g.kind;
      const podSpec: Record<string, unknown> = { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' };
      if (g.containers !== undefined) podSpec.containers = g.containers;
      if (g.initContainers !== undefined) podSpec.initContainers = g.initContainers;
      if (g.ephemeral !== undefined) podSpec.ephemeralContainers = g.ephemeral;
      if (g.volumes !== undefined) podSpec.volumes = g.volumes;
      if (g.stray !== undefined) podSpec.imagePullPolicy = g.stray;

      let annotations: unknown = {};
      if (g.changesNote !== undefined) (annotations as Record<string, unknown>)['pullfix.dev/changes'] = g.changesNote;
      if (g.lastApplied !== undefined) {
        let text: unknown = g.lastApplied;
        if (typeof g.lastApplied === 'object' && g.lastApplied !== null && 'written' in g.lastApplied) {
          const la = g.lastApplied as { stray?: string; written: Array<[string, string | undefined]> };
          const laSpec: Record<string, unknown> = {
            containers: la.written.map(([name, policy]) => ({ name, image: 'nginx', ...(policy === undefined ? {} : { imagePullPolicy: policy }) })),
          };
          if (la.stray !== undefined) laSpec.imagePullPolicy = la.stray;
          text = `${JSON.stringify({ apiVersion: 'v1', kind: kind.kind, metadata: { name: 'obj' }, ...nest(kind.path, laSpec) })}\n`;
        }
        (annotations as Record<string, unknown>)[LAST_APPLIED] = text;
      }
      if (g.annotationsShape === 'missing' && Object.keys(annotations as object).length === 0) annotations = undefined;
      if (g.annotationsShape === 'null') annotations = null;
      if (g.annotationsShape === 'string') annotations = 'not-a-map';

      const metadata: Record<string, unknown> = { name: 'obj', namespace: g.namespace, uid: '00000000-0000-4000-8000-000000000001' };
      if (annotations !== undefined) metadata.annotations = annotations;
      if (g.ignore !== undefined) metadata.labels = { 'pullfix.dev/ignore': g.ignore, app: 'web' };
      if (g.owned !== undefined) metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Thing', name: 'owner', uid: 'u', controller: g.owned }];
      if (g.applyOwns) {
        const owned = Object.fromEntries(Object.entries(g.applyOwns).map(([name, owns]) => [`k:${JSON.stringify({ name })}`, owns ? { '.': {}, 'f:imagePullPolicy': {} } : { 'f:image': {} }]));
        const fields = kind.path.reduceRight<Record<string, unknown>>((inner, key) => ({ [`f:${key}`]: inner }), { 'f:containers': owned });
        metadata.managedFields = [
          { manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: fields },
          { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } },
        ];
      }
      const meta: unknown = { object: metadata, missing: undefined, string: 'metadata', array: [metadata] }[g.metadataShape];

      const object: Record<string, unknown> = { apiVersion: kind.group ? `${kind.group}/v1` : 'v1', kind: kind.kind, ...(meta === undefined ? {} : { metadata: meta }), ...nest(kind.path, podSpec) };

      if (g.big) {
        const filler = 'x'.repeat(g.big.bytes);
        const deep = nested(g.big.depth, filler.slice(0, 100));
        if (g.big.where === 'annotation' && typeof annotations === 'object' && annotations !== null) (annotations as Record<string, unknown>).big = filler;
        else if (g.big.where === 'container' && Array.isArray(podSpec.containers)) podSpec.containers.push({ name: 'big', image: 'nginx', imagePullPolicy: 'IfNotPresent', deep });
        else if (g.big.where === 'spec') podSpec.deep = deep;
        else object.deep = [deep, filler];
      }

      let oldObject: unknown;
      if (g.oldObject === 'same') {
        oldObject = structuredClone(object);
        // For ephemeral containers, the old object holds all but the last one (the one the request adds).
        const oldSpec = (oldObject as Record<string, any>).spec;
        if (g.subResource === 'ephemeralcontainers' && oldSpec && typeof oldSpec === 'object' && Array.isArray(oldSpec.ephemeralContainers)) {
          oldSpec.ephemeralContainers = oldSpec.ephemeralContainers.slice(0, -1);
        }
        applyHistory(oldObject, kind.path, g.history);
      } else if (g.oldObject === 'null') oldObject = null;
      else if (g.oldObject === 'junk') oldObject = 'junk';

      const env = g.envelope;
      const requestKind: unknown = { object: { group: kind.group, version: 'v1', kind: kind.kind }, string: kind.kind, missing: undefined }[env.requestKindShape];
      const request: Record<string, unknown> = {
        uid: env.uid,
        kind: requestKind,
        resource: { group: kind.group, version: 'v1', resource: `${kind.kind.toLowerCase()}s` },
        name: 'obj',
        namespace: g.namespace,
        operation: g.operation,
        userInfo: { username: 'fuzz', groups: ['system:authenticated'] },
        object,
        oldObject,
        dryRun: env.dryRun,
        options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      };
      if (g.subResource !== undefined) request.subResource = g.subResource;
      // Through JSON, as the server sees it: undefined keys vanish.
      const review = JSON.parse(JSON.stringify({ kind: env.kind, apiVersion: env.apiVersion, request })) as Record<string, unknown>;
      return { review, kind, namespace: g.namespace };
    });
}

/** Replaces or deletes values at random places of a generated review (the envelope included). */
export function corruptedArb(base: fc.Arbitrary<FuzzCase>): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(base, fc.array(fc.tuple(fc.nat(), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined })), { minLength: 1, maxLength: 3 }))
    .map(([c, edits]) => {
      const review = structuredClone(c.review);
      for (const [pick, value] of edits) {
        const spots = containers(review);
        const spot = spots[pick % spots.length];
        if (!spot) continue;
        const [parent, key] = spot;
        if (value === undefined) {
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
        } else {
          // A fresh copy: fast-check may hand the same instance to two edits (a cycle otherwise).
          (parent as Record<string, unknown>)[key] = structuredClone(value);
        }
      }
      return { ...c, review: JSON.parse(JSON.stringify(review)) as Record<string, unknown> };
    });
}

/** Every (parent, key) in a JSON document, depth first, up to a bound. */
function containers(root: unknown): Array<[Record<string, unknown> & unknown[], string]> {
  const out: Array<[Record<string, unknown> & unknown[], string]> = [];
  const stack: unknown[] = [root];
  while (stack.length > 0 && out.length < 5000) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    for (const key of Object.keys(node)) {
      out.push([node as Record<string, unknown> & unknown[], key]);
      stack.push((node as Record<string, unknown>)[key]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The invariants

/** Every leaf of a JSON document by path (segments joined with '/', unescaped). Iterative. */
export function leaves(value: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const stack: Array<[string, unknown]> = [['', value]];
  while (stack.length > 0) {
    const [prefix, node] = stack.pop()!;
    if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node);
      if (entries.length === 0) out.set(prefix, JSON.stringify(node));
      for (const [k, v] of entries) stack.push([`${prefix}/${k}`, v]);
    } else {
      out.set(prefix, JSON.stringify(node));
    }
  }
  return out;
}

/** pullfix's note and its audit annotation stay within 4 KiB (of the 256 KiB all annotations may take). */
const NOTE_BUDGET = 4096;
/** The part a note or summary cut at its bound ends its entries with. */
const MORE = /^… and \d+ more$/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Checks one answer against the request it answers; returns the patched object when there
 * was a patch (for the reinvocation check), else undefined. Throws (chai) on a violation.
 */
export function checkInvariants(c: FuzzCase, answer: AnsweredReview, namespaces: ReadonlyMap<string, GeneratedNamespace>): unknown {
  const request = c.review.request as Record<string, any>;
  const r = answer.response;
  expect(answer.kind).to.equal('AdmissionReview');
  expect(answer.apiVersion).to.equal(c.review.apiVersion);
  expect(r.uid).to.equal(request.uid);
  expect(r.allowed).to.equal(true);
  for (const w of r.warnings ?? []) {
    expect(w.startsWith('pullfix: '), w).to.equal(true);
    expect(w.length, w).to.be.at.most(120);
  }
  // Bounded whatever the request's size: 20 warnings and a count of the rest; 4 KiB of summary.
  expect((r.warnings ?? []).length, 'warnings').to.be.at.most(21);
  expect(Buffer.byteLength(r.auditAnnotations?.changes ?? ''), 'audit annotation bytes').to.be.at.most(NOTE_BUDGET);
  expect(r.patch === undefined, 'patch and patchType together').to.equal(r.patchType === undefined);
  if (r.patch === undefined) {
    expect(r.auditAnnotations, 'audit annotation without a patch').to.equal(undefined);
    return undefined;
  }
  expect(r.patchType).to.equal('JSONPatch');
  expect(r.auditAnnotations?.changes, 'changes audit annotation').to.be.a('string').and.not.equal('');

  // Only what SPEC §5 allows to be patched is, by what the request says (a corrupted review
  // may have lost its group, making a Pod of group apps a core Pod).
  const kind = requestKind(c);
  const sub = typeof request.subResource === 'string' && request.subResource !== '' ? request.subResource : undefined;
  const ephemeral = sub === 'ephemeralcontainers';
  const kindOk = ephemeral ? kind.group === '' && kind.kind === 'Pod' && request.operation === 'UPDATE' : sub === undefined && kind.patched.includes(request.operation);
  expect(kindOk, `patched ${kind.group}/${kind.kind} ${request.operation} ${sub ?? ''}`).to.equal(true);
  const object = request.object as Record<string, any>;
  expect(object?.metadata?.labels?.['pullfix.dev/ignore'], 'patched an ignored object').not.to.equal('true');
  // The handler looks the namespace up by request.namespace, whatever the object says.
  const namespace = typeof request.namespace === 'string' ? namespaces.get(request.namespace) : undefined;
  expect(modeOf(namespace), 'patched in mode off').not.to.equal('off');
  if (kind.kind !== 'Pod' && Array.isArray(object?.metadata?.ownerReferences)) {
    expect(object.metadata.ownerReferences.some((o: any) => o?.controller === true), 'patched a controller-owned workload').to.equal(false);
  }

  // The patch applies, validated, and changes only pull policies, the stray field and the note.
  const ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as PatchOperation[];
  expect(ops).to.be.an('array').that.is.not.empty;
  for (const op of ops) expect(['add', 'replace', 'remove']).to.include(op.op);
  const mutated = applyTo(object, ops) as Record<string, any>;
  const spec = `/${(ephemeral ? ['spec'] : kind.path).map(escapeRe).join('/')}`;
  const lists = ephemeral ? 'ephemeralContainers' : '(?:containers|initContainers)';
  const allowed = [
    new RegExp(`^${spec}/(?:${lists}/(\\d+)/imagePullPolicy|volumes/(\\d+)/image/pullPolicy)(?:/.*)?$`),
    ...(ephemeral ? [] : [new RegExp(`^${spec}/imagePullPolicy(?:/.*)?$`)]),
    /^\/metadata$/, // an empty metadata map, given annotations
    /^\/metadata\/annotations$/,
    // Its own note, replaced whatever it held (annotation values are strings in a real object).
    /^\/metadata\/annotations\/pullfix\.dev\/changes(?:\/.*)?$/,
  ];
  const before = leaves(object);
  const after = leaves(mutated);
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(path) === after.get(path)) continue;
    expect(allowed.some((re) => re.test(path)), `changed ${path}`).to.equal(true);
    const m = allowed[0]!.exec(path);
    if (m && after.has(path)) expect(JSON.parse(after.get(path)!)).to.be.oneOf(POLICIES);
  }
  // Exempt images are never touched; ephemeral containers already there are immutable.
  const mSpec = (ephemeral ? mutated.spec : kind.path.reduce<any>((n, k) => n?.[k], mutated)) as Record<string, any>;
  const oSpec = (ephemeral ? object.spec : kind.path.reduce<any>((n, k) => n?.[k], object)) as Record<string, any>;
  for (const list of ephemeral ? ['ephemeralContainers'] : ['containers', 'initContainers', 'volumes']) {
    const was = oSpec?.[list];
    if (!Array.isArray(was)) continue;
    was.forEach((ctr: any, i: number) => {
      const ref = list === 'volumes' ? ctr?.image?.reference : ctr?.image;
      const exempt = typeof ref === 'string' && ref.startsWith('localhost:5000/');
      const existing = ephemeral && containerNames(request.oldObject?.spec?.ephemeralContainers).includes(ctr?.name);
      if (exempt || existing) expect(mSpec[list][i], `${list}[${i}] ${ctr?.image}`).to.deep.equal(ctr);
    });
  }
  // The note holds this request's changes (the audit annotation), and may carry earlier ones;
  // a note cut at its bound ("… and N more") may have left some of them out.
  if (canAnnotate(object)) {
    const note = String(mutated.metadata.annotations['pullfix.dev/changes']);
    expect(Buffer.byteLength(note), 'note bytes').to.be.at.most(NOTE_BUDGET);
    const noteParts = note.split('; ');
    const noteCut = noteParts.some((part) => MORE.test(part));
    for (const part of String(r.auditAnnotations?.changes).split('; ')) {
      if (!noteCut && !MORE.test(part)) expect(noteParts, 'the note records the change').to.include(part);
    }
  } else {
    expect(r.auditAnnotations?.changes ?? '', 'removed a stray field without a note to record it').not.to.include('removed pod-level');
  }
  return mutated;
}

/** The kind the handler sees: request.kind, group '' when missing (as decodeReview reads it). */
export function requestKind(c: FuzzCase): KindCase {
  const k = (c.review.request as { kind?: { group?: unknown; kind?: unknown } }).kind;
  const group = typeof k?.group === 'string' ? k.group : '';
  const found = KINDS.find((x) => x.group === group && x.kind === k?.kind);
  return found ?? { group, kind: String(k?.kind), path: c.kind.path, patched: [] };
}

/**
 * Whether pullfix can leave its `pullfix.dev/changes` note on the object: metadata is a map
 * and annotations absent or a map, as the API server always sends them (ObjectMeta is typed,
 * even for custom resources). Without the note, a reinvocation cannot tell the value it moved
 * from the pod level from a defaulted one.
 */
export function canAnnotate(object: unknown): boolean {
  const isMap = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);
  const metadata = (object as { metadata?: unknown } | null)?.metadata;
  if (!isMap(metadata)) return false;
  const annotations = (metadata as { annotations?: unknown }).annotations;
  return annotations === undefined || annotations === null || isMap(annotations);
}

/** The same request again on its own output (reinvocation, SPEC §2). */
export function reinvocation(c: FuzzCase, mutated: unknown): FuzzCase {
  const request = c.review.request as Record<string, unknown>;
  return { ...c, review: { ...c.review, request: { ...request, object: mutated } } };
}
