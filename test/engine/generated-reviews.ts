// Generated engine requests shaped like what the API server sends (SPEC §2): objects made by
// kubectl apply (last-applied), server-side apply (managedFields) or a plain create, decoded and
// defaulted (the stray field dropped from built-in kinds, kept in a schemaless custom resource);
// CREATE, and UPDATE with an old object that differs the ways real updates do; pullfix's own note
// on the object and on the old object; class policies from namespace labels and the config; both
// modes. Each case also carries what the test knows of it, for oracles.
import fc from 'fast-check';
import { compileConfig, DEFAULT_CONFIG, type CompiledConfig } from '../../src/engine/config.js';
import { defaultPullPolicy } from '../../src/engine/image-reference.js';
import { createEngine, type Engine, type MutationRequest } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';

export type ListName = 'containers' | 'initContainers' | 'volumes';
export type Client = 'apply' | 'ssa' | 'create';

export const POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const NOTE = 'pullfix.dev/changes';
const CLONESET = { group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' };

export interface KindCase {
  group: string;
  kind: string;
  path: readonly string[];
  /** Operations the engine patches (SPEC §5); the others only warn. */
  patched: readonly string[];
  /** A custom resource with a schemaless template: nothing decoded away, nothing defaulted. */
  schemaless: boolean;
}

export const KINDS: readonly KindCase[] = [
  { group: '', kind: 'Pod', path: ['spec'], patched: ['CREATE'], schemaless: false },
  { group: '', kind: 'PodTemplate', path: ['template', 'spec'], patched: ['CREATE', 'UPDATE'], schemaless: false },
  { group: 'apps', kind: 'Deployment', path: ['spec', 'template', 'spec'], patched: ['CREATE', 'UPDATE'], schemaless: false },
  { group: 'batch', kind: 'CronJob', path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'], patched: ['CREATE', 'UPDATE'], schemaless: false },
  { group: 'apps.kruise.io', kind: 'CloneSet', path: ['spec', 'template', 'spec'], patched: ['CREATE', 'UPDATE'], schemaless: true },
];

export const IMAGES = [
  'nginx', 'nginx:latest', 'nginx:1.0', 'app:dev', 'registry.example.com:5000/team/app:main', 'example.com/app:2.1',
  `app@sha256:${'a'.repeat(64)}`, `nginx:1.27@sha256:${'b'.repeat(64)}`, 'localhost:5000/tool:dev', 'Bad/UPPER',
];
/** Stray values as users write them: valid, another letter case (normalised), or nonsense (ignored). */
const STRAYS = ['Always', 'IfNotPresent', 'Never', 'always', 'NEVER', 'sometimes'] as const;
const WHY = ['pod-level value', 'policy mutable', 'policy tagged', 'policy digest', 'default for image'] as const;

/** Two configs: no class policy (labels alone decide), and FUZZ_CONFIG's `mutable: Always`. */
export const CONFIGS: readonly CompiledConfig[] = [
  compileConfig({ ...DEFAULT_CONFIG, exemptImages: ['localhost:5000/*'], podTemplates: [CLONESET] }),
  compileConfig({ ...DEFAULT_CONFIG, policies: { mutable: 'Always' }, exemptImages: ['localhost:5000/*'], podTemplates: [CLONESET] }),
];
export const ENGINES: readonly Engine[] = CONFIGS.map(createEngine);

export interface GeneratedEntry {
  list: ListName;
  name: string;
  image: string;
  /** The value the user wrote (manifest, create body); undefined: none, defaulting fills it. */
  written?: string;
}

/** What the test knows of one generated case, besides the request itself. */
export interface GeneratedCase {
  /** fast-check prints a counterexample with this. */
  [fc.toStringMethod]: () => string;
  request: MutationRequest;
  engine: Engine;
  config: CompiledConfig;
  kind: KindCase;
  client: Client;
  entries: GeneratedEntry[];
  /** The pod-level value the user wrote, as written. */
  stray?: string;
  /** The stray value the note on the object says pullfix removed earlier. */
  notedStray?: string;
  labels: Record<string, string>;
  /** Whether the old object differs from the object (UPDATE histories the oracle does not model). */
  history: boolean;
}

function plain(text: string): string {
  return /^[A-Za-z0-9._-]+$/.test(text) ? text : JSON.stringify(text);
}

/** A note in pullfix's format (docs/configuration.md, "The note"), written here from the format, not the code. */
export function noteText(parts: ReadonlyArray<{ list: ListName; name: string; from?: string; to: string; why: string }>, stray?: string): string {
  const out = parts.map((p) => `${p.list}[${plain(p.name)}]: ${p.from === undefined ? 'unset' : plain(p.from)}->${p.to} (${p.why})`);
  if (stray !== undefined) out.push(`removed pod-level imagePullPolicy ${stray}`);
  return out.join('; ');
}

function nest(path: readonly string[], leaf: unknown): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf as Record<string, unknown>);
}

export function podSpecOf(object: unknown, path: readonly string[]): Record<string, any> {
  return path.reduce<any>((node, key) => node?.[key], object);
}

function policyField(list: ListName): string {
  return list === 'volumes' ? 'pullPolicy' : 'imagePullPolicy';
}

/** The pod spec a manifest writes: no defaults, the stray field where the user put it. */
function manifestSpec(entries: readonly GeneratedEntry[], stray: string | undefined): Record<string, any> {
  const spec: Record<string, any> = {};
  if (stray !== undefined) spec.imagePullPolicy = stray;
  for (const e of entries) {
    spec[e.list] ??= [];
    const policy = e.written === undefined ? {} : { [policyField(e.list)]: e.written };
    if (e.list === 'volumes') spec.volumes.push({ name: e.name, image: { reference: e.image, ...policy } });
    else spec[e.list].push({ name: e.name, image: e.image, ...policy });
  }
  return spec;
}

/** Decoding and defaulting as the API server does them before admission. */
function admitted(spec: Record<string, any>, schemaless: boolean): Record<string, any> {
  const out = structuredClone(spec);
  if (schemaless) return out;
  delete out.imagePullPolicy;
  for (const list of ['containers', 'initContainers'] as const) for (const c of out[list] ?? []) c.imagePullPolicy ??= defaultPullPolicy(c.image);
  for (const v of out.volumes ?? []) v.image.pullPolicy ??= defaultPullPolicy(v.image.reference);
  return out;
}

function managedFields(path: readonly string[], entries: readonly GeneratedEntry[]): unknown[] {
  const lists: Record<string, Record<string, unknown>> = {};
  for (const e of entries) {
    const owned = e.list === 'volumes'
      ? { 'f:image': { 'f:reference': {}, ...(e.written === undefined ? {} : { 'f:pullPolicy': {} }) } }
      : { 'f:image': {}, ...(e.written === undefined ? {} : { 'f:imagePullPolicy': {} }) };
    (lists[`f:${e.list}`] ??= {})[`k:${JSON.stringify({ name: e.name })}`] = { '.': {}, 'f:name': {}, ...owned };
  }
  const fieldsV1 = path.reduceRight<Record<string, unknown>>((inner, key) => ({ [`f:${key}`]: inner }), lists);
  return [
    { manager: 'argocd-controller', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1 },
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } },
  ];
}

const notePart = fc.record({ pick: fc.nat(), to: fc.constantFrom(...POLICIES), from: fc.constantFrom(undefined, ...POLICIES), why: fc.constantFrom(...WHY) });
const noteArb = fc.record({ parts: fc.array(notePart, { maxLength: 6 }), stray: fc.option(fc.constantFrom(...POLICIES), { nil: undefined, freq: 3 }) });
type NoteSpec = { parts: Array<{ pick: number; to: string; from: string | undefined; why: string }>; stray: string | undefined };

function writeNote(note: NoteSpec, entries: readonly GeneratedEntry[], many: number): string {
  // With many entries, a note recording most of them (as an earlier call on a big object wrote it).
  const parts = note.parts.map((p) => ({ entry: entries[p.pick % entries.length]!, ...p }));
  if (many > 0) for (let i = 0; i < many; i++) parts.push({ entry: entries[i % entries.length]!, pick: i, to: POLICIES[i % 3]!, from: 'IfNotPresent', why: 'policy tagged' });
  return noteText(parts.map((p) => ({ list: p.entry.list, name: p.entry.name, ...(p.from === undefined ? {} : { from: p.from }), to: p.to, why: p.why })), note.stray);
}

export interface ArbOptions {
  /** `many`: 150 to 400 entries, so that notes pass their size bound. */
  size?: 'normal' | 'many';
  /** Only what the oracle can model: no UPDATE histories, unique names, no junk notes. */
  oracle?: boolean;
}

export function caseArb(options: ArbOptions = {}): fc.Arbitrary<GeneratedCase> {
  const many = options.size === 'many';
  const oracle = options.oracle === true;
  const names = oracle ? fc.constant('') : fc.constantFrom('app', 'side', 'init', 'data', 'web', 'a b', '');
  const entry = fc.record({
    list: fc.constantFrom<ListName>('containers', 'containers', 'containers', 'initContainers', 'volumes'),
    name: names,
    image: fc.constantFrom(...IMAGES),
    written: fc.option(fc.constantFrom(...POLICIES), { nil: undefined, freq: 3 }),
  });
  return fc
    .record({
      kind: fc.constantFrom(...KINDS),
      operation: fc.constantFrom('CREATE', 'UPDATE'),
      client: fc.constantFrom<Client>('apply', 'ssa', 'create'),
      entries: fc.array(entry, many ? { minLength: 150, maxLength: 400 } : { minLength: 1, maxLength: 6 }),
      stray: fc.option(fc.constantFrom(...STRAYS), { nil: undefined, freq: 2 }),
      config: fc.nat({ max: CONFIGS.length - 1 }),
      labels: fc.record(
        {
          'pullfix.dev/mode': fc.constantFrom('default', 'enforce', 'enforce', 'off'),
          'pullfix.dev/mutable': fc.constantFrom(...POLICIES),
          'pullfix.dev/tagged': fc.constantFrom(...POLICIES),
          'pullfix.dev/digest': fc.constantFrom(...POLICIES),
        },
        { requiredKeys: [] },
      ),
      // pullfix's note on the object as sent: none, one pullfix wrote (on an object copied from
      // another, or carried over on an update), the old object's note itself, or junk.
      sentNote: oracle
        ? fc.oneof(fc.constant<'none'>('none'), noteArb)
        : fc.oneof(fc.constantFrom<'none' | 'old' | 'junk'>('none', 'old', 'junk'), noteArb),
      manyNoted: many ? fc.nat({ max: 300 }) : fc.constant(0),
      // Values in the object that its manifest does not give: set by pullfix (or anyone) on an
      // object that was then exported and created again, or carried over on an update.
      drift: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...POLICIES)), { maxLength: many ? 60 : 2 }),
      // UPDATE: how the old object differs (SPEC §4 rules 3, 4 and 6).
      old: fc.record({
        imageChanged: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...IMAGES)), { maxLength: oracle ? 0 : 2 }),
        policyChanged: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...POLICIES)), { maxLength: oracle ? 0 : 2 }),
        note: oracle ? fc.constant(undefined) : fc.option(noteArb, { nil: undefined }),
      }),
      source: fc.constantFrom('admission', 'admission', 'admission', 'manifest'),
    })
    .map((g): GeneratedCase => {
      const kind = g.kind;
      // Unique names where the oracle needs them; otherwise names repeat now and then, as
      // invalid objects do before validation (which runs after admission).
      const entries: GeneratedEntry[] = g.entries.map((e, i) => ({
        ...e,
        name: e.name === '' || many ? `${e.list === 'volumes' ? 'v' : e.list === 'initContainers' ? 'i' : 'c'}${i}` : e.name,
        ...(e.written === undefined ? {} : { written: e.written }),
      }));
      for (const e of entries) if (e.written === undefined) delete e.written;
      const manifest = { apiVersion: kind.group ? `${kind.group}/v1` : 'v1', kind: kind.kind, metadata: { name: 'web', namespace: 'ns' }, ...nest(kind.path, manifestSpec(entries, g.stray)) };
      const source = g.source as 'admission' | 'manifest';
      const spec = source === 'manifest' ? manifestSpec(entries, g.stray) : admitted(manifestSpec(entries, g.stray), kind.schemaless);
      if (source === 'admission') {
        for (const [n, policy] of g.drift) {
          const e = entries[n % entries.length]!;
          const x = (spec[e.list] as Array<Record<string, any>>).find((y) => y.name === e.name)!;
          if (e.list === 'volumes') x.image.pullPolicy = policy;
          else x.imagePullPolicy = policy;
        }
      }
      const annotations: Record<string, string> = {};
      if (source === 'admission' && g.client === 'apply') annotations[LAST_APPLIED] = `${JSON.stringify(manifest)}\n`;
      const metadata: Record<string, unknown> = { name: 'web', namespace: 'ns', annotations };
      if (source === 'admission' && g.client === 'ssa') metadata.managedFields = managedFields(kind.path, entries);
      const object = { apiVersion: manifest.apiVersion, kind: kind.kind, metadata, ...nest(kind.path, spec) };

      let oldObject: Record<string, any> | undefined;
      let oldNote: string | undefined;
      if (g.operation === 'UPDATE') {
        oldObject = structuredClone(object);
        const oldSpec = podSpecOf(oldObject, kind.path);
        const at = (n: number): Record<string, any> => {
          const e = entries[n % entries.length]!;
          return (oldSpec[e.list] as Array<Record<string, any>>).find((x) => x.name === e.name)!;
        };
        for (const [n, image] of g.old.imageChanged) {
          const x = at(n);
          if (x.image !== null && typeof x.image === 'object') x.image.reference = image;
          else x.image = image;
        }
        for (const [n, policy] of g.old.policyChanged) {
          const x = at(n);
          if (x.image !== null && typeof x.image === 'object') x.image.pullPolicy = policy;
          else x.imagePullPolicy = policy;
        }
        if (g.old.note) {
          oldNote = writeNote(g.old.note as NoteSpec, entries, g.manyNoted);
          oldObject.metadata.annotations[NOTE] = oldNote;
        }
      }
      let notedStray: string | undefined;
      if (g.sentNote === 'old') {
        if (oldNote !== undefined) annotations[NOTE] = oldNote;
        notedStray = (g.old.note as NoteSpec | undefined)?.stray;
      } else if (g.sentNote === 'junk') {
        annotations[NOTE] = 'containers[app: junk; removed pod-level imagePullPolicy always';
      } else if (g.sentNote !== 'none') {
        annotations[NOTE] = writeNote(g.sentNote as NoteSpec, entries, g.manyNoted);
        notedStray = (g.sentNote as NoteSpec).stray;
      }
      if (source === 'manifest') notedStray = undefined;

      const config = CONFIGS[g.config]!;
      const labels = g.labels as Record<string, string>;
      const request: MutationRequest = {
        group: kind.group,
        kind: kind.kind,
        operation: g.operation as 'CREATE' | 'UPDATE',
        object,
        ...(oldObject ? { oldObject } : {}),
        policy: resolveNamespacePolicy(config, { name: 'ns', labels, annotations: {} }),
        source,
      };
      return {
        [fc.toStringMethod]: () => describeCase(request, g.config),
        request,
        engine: ENGINES[g.config]!,
        config,
        kind,
        client: g.client,
        entries,
        ...(g.stray === undefined ? {} : { stray: g.stray }),
        ...(notedStray === undefined ? {} : { notedStray }),
        labels,
        history: g.old.imageChanged.length + g.old.policyChanged.length > 0 || oldNote !== undefined,
      };
    });
}

/** What fast-check prints for a counterexample: the request as JSON (cut when huge), not the engine. */
function describeCase(request: MutationRequest, config: number): string {
  const { policy, ...rest } = request;
  const text = JSON.stringify({ config, mode: policy.mode, policies: policy.policies, ...rest });
  return text.length > 20_000 ? `${text.slice(0, 20_000)}… (${text.length} characters)` : text;
}

export interface Rounds {
  /** How many calls in a row patched before one did not (`limit` when none stopped). */
  patched: number;
  /** The note after each patching call. */
  notes: string[];
  /** The object after the last call. */
  final: unknown;
}

/**
 * Calls the engine on its own output, as the API server does when it reinvokes the webhook
 * (the same request, the same old object, the object as pullfix left it), until a call gives
 * no patch or `limit` calls have patched.
 */
export function callsUntilStable(engine: Engine, request: MutationRequest, limit = 10): Rounds {
  let object = request.object;
  const notes: string[] = [];
  for (let call = 0; call < limit; call++) {
    const result = engine.mutate({ ...request, object });
    if (result.patch.length === 0) return { patched: call, notes, final: object };
    object = result.mutated;
    notes.push(String((object as { metadata?: { annotations?: Record<string, unknown> } }).metadata?.annotations?.[NOTE]));
  }
  return { patched: limit, notes, final: object };
}
