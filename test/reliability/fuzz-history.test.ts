// The admission handler over whole histories: a workload created the way a client creates it
// (kubectl apply, kubectl create, server-side apply; a schemaless custom resource), defaulted
// as the API server defaults it, then updated the ways users update it (kubectl set image,
// kubectl patch, a new container, a re-apply, a namespace label changed in between). Every
// answer keeps the invariants (the patch applies, only pull policies and the note change), a
// second call on pullfix's output gives no patch, and the stored value is the one SPEC §4 gives:
// a value nobody chose follows the class policy, the stray value or the current image's default.
import { expect } from 'chai';
import fc from 'fast-check';
import { createAdmissionHandler } from '../../src/admission/handler.js';
import { namespaceInfoFrom } from '../../src/cluster/namespace-source.js';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { defaultPullPolicy, classifyImage, parseImageReference } from '../../src/engine/image-reference.js';
import { createEngine } from '../../src/engine/mutate.js';
import type { NamespaceInfo } from '../../src/engine/types.js';
import { checkProperty } from '../helpers/seeds.js';
import type { AnsweredReview } from './helpers.js';
import { checkInvariants, type GeneratedNamespace, KINDS, reinvocation } from './review-arbitraries.js';

const RUNS = 1000;
const NS = 'hist';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const CLONESET = { group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' };
// No class policy in the config: the namespace labels alone decide, so the oracle below knows them.
const config = compileConfig({ ...DEFAULT_CONFIG, exemptImages: ['localhost:5000/*'], podTemplates: [CLONESET] });
const engine = createEngine(config);
let namespace: NamespaceInfo = { name: NS, labels: {}, annotations: {} };
const handler = createAdmissionHandler({ engine: () => engine, namespace: () => namespace });

const POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const IMAGES = ['nginx', 'nginx:latest', 'nginx:1.27', 'app:dev', 'registry.example.com:5000/team/app:2.1', `app@sha256:${'a'.repeat(64)}`, 'localhost:5000/tool:dev'];
const KIND_NAMES = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'ReplicationController', 'PodTemplate', 'CloneSet'] as const;
type Client = 'apply' | 'create' | 'ssa';
type ListName = 'containers' | 'initContainers' | 'volumes';

interface Entry {
  list: ListName;
  name: string;
  image: string;
  /** Written in the manifest (apply, server-side apply) or sent with the create. */
  written?: string;
}

type Action =
  | { type: 'set-image'; pick: number; image: string }
  | { type: 'patch-policy'; pick: number; policy: string }
  | { type: 'add-container'; image: string }
  | { type: 'labels'; labels: Record<string, string> }
  | { type: 'reapply'; pick: number; image: string };

const labelsArb = fc.record(
  {
    'pullfix.dev/mode': fc.constantFrom('default', 'enforce'),
    'pullfix.dev/mutable': fc.constantFrom(...POLICIES),
    'pullfix.dev/tagged': fc.constantFrom(...POLICIES),
    'pullfix.dev/digest': fc.constantFrom(...POLICIES),
  },
  { requiredKeys: [] },
);

const historyArb = fc.record({
  kind: fc.constantFrom(...KIND_NAMES),
  client: fc.constantFrom<Client>('apply', 'create', 'ssa'),
  entries: fc.array(fc.record({ list: fc.constantFrom<ListName>('containers', 'containers', 'initContainers', 'volumes'), image: fc.constantFrom(...IMAGES), written: fc.option(fc.constantFrom(...POLICIES), { nil: undefined, freq: 3 }) }), { minLength: 1, maxLength: 4 }),
  stray: fc.option(fc.constantFrom(...POLICIES), { nil: undefined, freq: 3 }),
  labels: labelsArb,
  actions: fc.array(
    fc.oneof(
      fc.record({ type: fc.constant('set-image' as const), pick: fc.nat(), image: fc.constantFrom(...IMAGES) }),
      fc.record({ type: fc.constant('patch-policy' as const), pick: fc.nat(), policy: fc.constantFrom(...POLICIES) }),
      fc.record({ type: fc.constant('add-container' as const), image: fc.constantFrom(...IMAGES) }),
      fc.record({ type: fc.constant('labels' as const), labels: labelsArb }),
      fc.record({ type: fc.constant('reapply' as const), pick: fc.nat(), image: fc.constantFrom(...IMAGES) }),
    ),
    { minLength: 1, maxLength: 5 },
  ),
});

const kindCase = (kind: string) => KINDS.find((k) => k.kind === kind)!;

function podSpecOf(object: any, path: readonly string[]): any {
  return path.reduce((n, k) => n[k], object);
}

function nest(path: readonly string[], leaf: unknown): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf as Record<string, unknown>);
}

/** The pod spec a manifest writes (no defaults), with the stray field where the user put it. */
function manifestSpec(entries: readonly Entry[], stray: string | undefined): Record<string, unknown> {
  const spec: Record<string, any> = {};
  if (stray) spec.imagePullPolicy = stray;
  for (const e of entries) {
    spec[e.list] ??= [];
    if (e.list === 'volumes') spec.volumes.push({ name: e.name, image: { reference: e.image, ...(e.written ? { pullPolicy: e.written } : {}) } });
    else spec[e.list].push({ name: e.name, image: e.image, ...(e.written ? { imagePullPolicy: e.written } : {}) });
  }
  return spec;
}

/** The API server's decoding and defaulting: the stray field dropped for built-in kinds, policies filled. */
function admitted(spec: Record<string, any>, schemaless: boolean): Record<string, any> {
  const out = structuredClone(spec);
  if (schemaless) return out;
  delete out.imagePullPolicy;
  for (const list of ['containers', 'initContainers']) for (const c of out[list] ?? []) c.imagePullPolicy ??= defaultPullPolicy(c.image);
  for (const v of out.volumes ?? []) v.image.pullPolicy ??= defaultPullPolicy(v.image.reference);
  return out;
}

function managedFieldsFor(path: readonly string[], entries: readonly Entry[]): unknown[] {
  const lists: Record<string, Record<string, unknown>> = {};
  for (const e of entries) {
    const owned = e.list === 'volumes' ? { 'f:image': { 'f:reference': {}, ...(e.written ? { 'f:pullPolicy': {} } : {}) } } : { 'f:image': {}, ...(e.written ? { 'f:imagePullPolicy': {} } : {}) };
    (lists[`f:${e.list}`] ??= {})[`k:${JSON.stringify({ name: e.name })}`] = { '.': {}, 'f:name': {}, ...owned };
  }
  const fieldsV1 = path.reduceRight<Record<string, unknown>>((inner, key) => ({ [`f:${key}`]: inner }), lists);
  return [{ manager: 'argocd-controller', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1 }];
}

function review(kind: string, operation: 'CREATE' | 'UPDATE', object: unknown, oldObject: unknown): Record<string, unknown> {
  const k = kindCase(kind);
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-4000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`,
      kind: { group: k.group, version: 'v1', kind },
      resource: { group: k.group, version: 'v1', resource: `${kind.toLowerCase()}s` },
      name: 'web',
      namespace: NS,
      operation,
      userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: oldObject ?? null,
      dryRun: false,
      options: { kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

/** Sends one request through the handler, checks it and its reinvocation; returns what is stored. */
function admit(kind: string, operation: 'CREATE' | 'UPDATE', object: any, oldObject: any): any {
  const c = { review: review(kind, operation, object, oldObject), kind: kindCase(kind), namespace: NS };
  const generated = new Map<string, GeneratedNamespace>([[NS, { labels: namespace.labels, annotations: {} }]]);
  const outcome = handler.handle(c.review);
  expect(outcome.failure, outcome.failure?.stack).to.equal(undefined);
  const answer = JSON.parse(JSON.stringify(outcome.review)) as AnsweredReview;
  const mutated = checkInvariants(c, answer, generated);
  if (mutated === undefined) return object;
  const again = handler.handle(reinvocation(c, mutated).review);
  expect(again.review.response.patch, `reinvocation patched again: ${again.result?.summary}`).to.equal(undefined);
  return mutated;
}

/**
 * What the test knows of each entry. `pure`: nobody ever wrote or patched its value, so it is
 * never explicit. `pinned`: written in a kubectl apply manifest or a server-side apply
 * configuration, explicit by rule 1 or 2 whatever happens to it. `unsure`: a value sent with
 * kubectl create or patched by hand, whose explicitness the rules judge from history; the
 * invariants still hold for it, the expected value is not modelled.
 */
type Knowledge = 'pure' | 'pinned' | 'unsure';

/** The value SPEC §4 gives an entry, or undefined where the test does not know it. */
function expectedValue(knowledge: Knowledge, stray: string | undefined, image: string, sent: unknown, schemaless: boolean): string | undefined {
  const labels = namespace.labels;
  const parsed = parseImageReference(image);
  if (!parsed.ok || knowledge === 'unsure') return undefined;
  const cls = labels[`pullfix.dev/${classifyImage(parsed.ref, config.mutableTagsPattern)}`];
  if (labels['pullfix.dev/mode'] === 'enforce' && cls) return cls;
  // Explicit (rows 2 and 3): kept as the request sent it.
  if (knowledge === 'pinned') return typeof sent === 'string' ? sent : undefined;
  if (stray) return stray;
  if (cls) return cls;
  // Row 5 puts back the default only where a value exists (nothing defaults a custom resource).
  return schemaless && sent === undefined ? undefined : defaultPullPolicy(image);
}

describe('reliability: admission over UPDATE histories (fast-check)', function () {
  this.timeout(180_000);

  it(`${RUNS} histories: invariants, no patch on reinvocation, and SPEC §4's value after every step`, () => {
    let histories = 0;
    let steps = 0;
    let patchedUpdates = 0;
    checkProperty(
      fc.property(historyArb, (h) => {
        histories++;
        const k = kindCase(h.kind);
        const schemaless = h.kind === 'CloneSet';
        // The API server drops a stray field from built-in kinds: only kubectl apply's record keeps it.
        const strayVisible = h.stray !== undefined && (schemaless || h.client === 'apply');
        const entries: Entry[] = h.entries.map((e, i) => ({ ...e, name: `${e.list === 'volumes' ? 'vol' : e.list === 'initContainers' ? 'init' : 'c'}${i}`, ...(e.written ? { written: e.written } : {}) }));
        const stray = strayVisible ? h.stray : undefined;
        const keyOf = (e: Entry): string => `${e.list}/${e.name}`;
        const knowledge = new Map<string, Knowledge>(entries.map((e) => [keyOf(e), !e.written ? 'pure' : h.client === 'create' ? 'unsure' : 'pinned']));
        namespace = namespaceInfoFrom({ name: NS, labels: h.labels, annotations: {} });

        const manifest = (): Record<string, unknown> => ({
          apiVersion: k.group ? `${k.group}/v1` : 'v1',
          kind: h.kind,
          metadata: { name: 'web', namespace: NS },
          ...nest(k.path, manifestSpec(entries, h.stray)),
        });
        const build = (base?: any): any => {
          const object: any = { ...manifest(), ...nest(k.path, admitted(manifestSpec(entries, h.stray), schemaless)) };
          object.metadata = { ...(base?.metadata ?? { name: 'web', namespace: NS }) };
          if (h.client === 'apply') object.metadata.annotations = { ...object.metadata.annotations, [LAST_APPLIED]: `${JSON.stringify(manifest())}\n` };
          if (h.client === 'ssa') object.metadata.managedFields = managedFieldsFor(k.path, entries);
          return object;
        };

        let stored: any;
        const send = (operation: 'CREATE' | 'UPDATE', object: any, where: string): void => {
          const result = admit(h.kind, operation, object, stored === undefined ? null : structuredClone(stored));
          const sentSpec = podSpecOf(object, k.path);
          const spec = podSpecOf(result, k.path);
          for (const e of entries) {
            const find = (s: any): any => (s[e.list] as any[]).find((x) => x.name === e.name);
            const live = find(spec);
            const image = e.list === 'volumes' ? live.image.reference : live.image;
            const policyOf = (x: any): unknown => (e.list === 'volumes' ? x.image.pullPolicy : x.imagePullPolicy);
            if (image.startsWith('localhost:5000/')) continue;
            const expected = expectedValue(knowledge.get(keyOf(e))!, stray, image, policyOf(find(sentSpec)), schemaless);
            if (expected !== undefined) expect(policyOf(live), `${where}: ${keyOf(e)} ${image} (${knowledge.get(keyOf(e))}), labels ${JSON.stringify(namespace.labels)}`).to.equal(expected);
          }
          stored = result;
        };
        send('CREATE', build(), 'CREATE');

        for (const action of h.actions as Action[]) {
          steps++;
          let object = structuredClone(stored);
          const spec = podSpecOf(object, k.path);
          const pick = (n: number): [Entry, any] => {
            const e = entries[n % entries.length]!;
            return [e, (spec[e.list] as any[]).find((x) => x.name === e.name)];
          };
          if (action.type === 'set-image') {
            // kubectl set image: the image changes, the value is carried over (SPEC §4 rule 6).
            const [e, live] = pick(action.pick);
            e.image = action.image;
            if (e.list === 'volumes') live.image.reference = action.image;
            else live.image = action.image;
            // An exempt image keeps whatever it had, which then reads as chosen under the next image (rule 6).
            if (action.image.startsWith('localhost:5000/') && knowledge.get(keyOf(e)) === 'pure') knowledge.set(keyOf(e), 'unsure');
          } else if (action.type === 'patch-policy') {
            // kubectl patch: the user chooses the value now (rule 3). A pinned entry stays explicit
            // (rules 1 and 2); any other becomes one whose later fate the rules judge from history.
            const [e, live] = pick(action.pick);
            if (e.list === 'volumes') live.image.pullPolicy = action.policy;
            else live.imagePullPolicy = action.policy;
            if (knowledge.get(keyOf(e)) === 'pure') knowledge.set(keyOf(e), 'unsure');
          } else if (action.type === 'add-container') {
            const e: Entry = { list: 'containers', name: `c${entries.length}`, image: action.image };
            entries.push(e);
            knowledge.set(keyOf(e), 'pure');
            spec.containers ??= [];
            spec.containers.push(schemaless ? { name: e.name, image: e.image } : { name: e.name, image: e.image, imagePullPolicy: defaultPullPolicy(e.image) });
            if (h.client === 'apply') object.metadata.annotations[LAST_APPLIED] = `${JSON.stringify(manifest())}\n`;
            if (h.client === 'ssa') object.metadata.managedFields = managedFieldsFor(k.path, entries);
          } else if (action.type === 'labels') {
            namespace = namespaceInfoFrom({ name: NS, labels: action.labels, annotations: {} });
            // Any update after the label change: a label on the workload itself.
            object.metadata.labels = { ...object.metadata.labels, touched: String(steps) };
          } else {
            // A re-apply of the manifest with a new image: the live value is kept where the
            // manifest leaves it out (three-way merge), set where it writes it.
            if (h.client !== 'apply') continue;
            const [e, live] = pick(action.pick);
            e.image = action.image;
            if (e.list === 'volumes') live.image.reference = action.image;
            else live.image = action.image;
            object.metadata.annotations[LAST_APPLIED] = `${JSON.stringify(manifest())}\n`;
          }
          send('UPDATE', object, `after ${action.type}`);
          if (JSON.stringify(stored) !== JSON.stringify(object)) patchedUpdates++;
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`      ${histories} histories (${RUNS} for each of two seeds), ${steps} updates, ${patchedUpdates} of them patched`);
    expect(patchedUpdates).to.be.greaterThan(RUNS / 10);
  });
});
