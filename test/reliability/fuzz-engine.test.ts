// The admission handler and engine, fuzzed with fast-check. Whatever
// review arrives, the handler answers it (allowed, same uid) or refuses it as a bad request
// (400, never a crash); every patch applies and keeps the engine's invariants; a second call
// on the patched object gives no patch; the input is never modified.
import { expect } from 'chai';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { createAdmissionHandler, type AdmissionOutcome } from '../../src/admission/handler.js';
import { HttpError } from '../../src/admission/errors.js';
import { namespaceInfoFrom } from '../../src/cluster/namespace-source.js';
import { compileConfig } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import type { NamespaceInfo, PullfixConfig } from '../../src/engine/types.js';
import { loadReview, repoPath } from '../helpers/fixtures.js';
import { checkProperty } from '../helpers/seeds.js';
import { type AnsweredReview, watchProcessErrors } from './helpers.js';
import {
  checkInvariants,
  corruptedArb,
  FUZZ_CONFIG,
  type FuzzCase,
  type GeneratedNamespace,
  KINDS,
  namespaceArb,
  nested,
  reinvocation,
  reviewArb,
} from './review-arbitraries.js';

const RUNS = 1000;
const NAMES = ['ns-0', 'ns-1', 'ns-2'];

const engine = createEngine(compileConfig(structuredClone(FUZZ_CONFIG) as unknown as PullfixConfig));
let infos = new Map<string, NamespaceInfo>();
let generated = new Map<string, GeneratedNamespace>();
// One handler for every run, as in the server: its per-namespace policy cache is exercised too.
const handler = createAdmissionHandler({ engine: () => engine, namespace: (name) => infos.get(name) });

function useNamespaces(list: readonly GeneratedNamespace[]): void {
  generated = new Map(list.map((ns, i) => [NAMES[i] ?? `ns-${i}`, ns]));
  infos = new Map([...generated].map(([name, ns]) => [name, namespaceInfoFrom({ name, ...ns })]));
}

/** What decodeReview must accept (SPEC §6: otherwise a 400). */
function wellFormed(body: unknown): boolean {
  const b = body as Record<string, any> | null;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return false;
  const r = b.request;
  return (
    b.kind === 'AdmissionReview' &&
    (b.apiVersion === 'admission.k8s.io/v1' || b.apiVersion === 'admission.k8s.io/v1beta1') &&
    r !== null &&
    typeof r === 'object' &&
    !Array.isArray(r) &&
    typeof r.uid === 'string' &&
    r.uid !== '' &&
    r.kind !== null &&
    typeof r.kind === 'object' &&
    !Array.isArray(r.kind) &&
    typeof r.kind.kind === 'string' &&
    ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'].includes(r.operation)
  );
}

interface Tally {
  runs: number;
  patched: number;
  allowed: number;
  badRequest: number;
  warned: number;
}
const tally = (): Tally => ({ runs: 0, patched: 0, allowed: 0, badRequest: 0, warned: 0 });

/** Handles a body as the server does and checks everything; counts what happened. */
function handleAndCheck(c: FuzzCase, t: Tally): void {
  t.runs++;
  const before = JSON.stringify(c.review);
  let outcome: AdmissionOutcome;
  try {
    outcome = handler.handle(c.review);
  } catch (err) {
    expect(err, String((err as Error).stack)).to.be.instanceOf(HttpError);
    expect((err as HttpError).status).to.equal(400);
    expect(wellFormed(c.review), `refused a well-formed review: ${(err as Error).message}`).to.equal(false);
    t.badRequest++;
    return;
  }
  expect(wellFormed(c.review), 'answered a malformed review').to.equal(true);
  expect(outcome.failure, outcome.failure?.stack).to.equal(undefined);
  expect(JSON.stringify(c.review), 'the handler modified its input').to.equal(before);
  // What goes over the wire.
  const answer = JSON.parse(JSON.stringify(outcome.review)) as AnsweredReview;
  const mutated = checkInvariants(c, answer, generated);
  if (answer.response.warnings) t.warned++;
  if (mutated === undefined) {
    t.allowed++;
    return;
  }
  t.patched++;
  const again = handler.handle(reinvocation(c, mutated).review);
  expect(again.failure).to.equal(undefined);
  expect(again.review.response.patch, `reinvocation patched again: ${JSON.stringify(again.result?.summary)}`).to.equal(undefined);
}

function report(name: string, t: Tally): void {
  console.log(`      ${name}: ${t.runs} reviews, ${t.patched} patched, ${t.allowed} allowed unchanged, ${t.badRequest} refused (400), ${t.warned} with warnings`);
}

describe('reliability: engine and admission handler fuzz (fast-check)', function () {
  this.timeout(120_000);
  let processErrors: ReturnType<typeof watchProcessErrors>;
  before(() => (processErrors = watchProcessErrors()));
  after(() => {
    processErrors.stop();
    expect(processErrors.errors).to.deep.equal([]);
  });

  const withNamespaces = (arb: fc.Arbitrary<FuzzCase>) => fc.tuple(arb, fc.array(namespaceArb, { minLength: 3, maxLength: 3 }));

  it(`answers ${RUNS} generated reviews within the invariants`, () => {
    const t = tally();
    checkProperty(
      fc.property(withNamespaces(reviewArb(NAMES)), ([c, namespaces]) => {
        useNamespaces(namespaces);
        handleAndCheck(c, t);
      }),
      { numRuns: RUNS },
    );
    report('generated', t);
    // The generator must reach every branch that matters, not only the refusals.
    expect(t.patched).to.be.greaterThan(RUNS * 0.1);
    expect(t.allowed).to.be.greaterThan(RUNS * 0.3);
    expect(t.badRequest).to.be.greaterThan(0);
  });

  it(`answers ${RUNS} reviews with values replaced or deleted at random places`, () => {
    const t = tally();
    checkProperty(
      fc.property(withNamespaces(corruptedArb(reviewArb(NAMES))), ([c, namespaces]) => {
        useNamespaces(namespaces);
        handleAndCheck(c, t);
      }),
      { numRuns: RUNS },
    );
    report('corrupted', t);
    expect(t.patched).to.be.greaterThan(0);
    expect(t.badRequest).to.be.greaterThan(0);
  });

  it('answers huge reviews: hundreds of containers, 400 kB strings, nesting 800 deep', () => {
    const t = tally();
    checkProperty(
      fc.property(withNamespaces(reviewArb(NAMES, 'huge')), ([c, namespaces]) => {
        useNamespaces(namespaces);
        handleAndCheck(c, t);
      }),
      { numRuns: 150 },
    );
    report('huge', t);
    expect(t.patched).to.be.greaterThan(0);
  });

  it('every recorded fixture, under generated namespace labels', () => {
    const fixtures = readdirSync(repoPath('test', 'fixtures', 'reviews')).filter((f) => f.endsWith('.json'));
    const t = tally();
    checkProperty(
      fc.property(fc.constantFrom(...fixtures), fc.array(namespaceArb, { minLength: 3, maxLength: 3 }), fc.constantFrom(...NAMES), (file, namespaces, ns) => {
        useNamespaces(namespaces);
        const review = loadReview(file) as unknown as Record<string, any>;
        review.request.namespace = ns;
        const k = review.request.kind;
        const kind = KINDS.find((x) => x.group === k.group && x.kind === k.kind) ?? { ...k, path: ['spec'], patched: [] };
        handleAndCheck({ review, kind, namespace: ns }, t);
      }),
      { numRuns: 300 },
    );
    report('fixtures', t);
    expect(t.patched).to.be.greaterThan(0);
  });

  it('any JSON at all is answered or refused with a 400, never thrown otherwise', () => {
    const envelope = (request: unknown) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
    checkProperty(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.constantFrom(...KINDS), (a, b, kind) => {
        const candidates: unknown[] = [
          a,
          envelope(a),
          envelope({ uid: 'u', kind: { group: kind.group, version: 'v1', kind: kind.kind }, operation: 'CREATE', object: a, oldObject: b }),
          envelope({ uid: 'u', kind: { group: kind.group, version: 'v1', kind: kind.kind }, operation: 'UPDATE', subResource: 'ephemeralcontainers', object: { spec: a }, oldObject: { spec: b } }),
        ];
        for (const body of candidates) {
          const parsed: unknown = JSON.parse(JSON.stringify(body) ?? 'null');
          try {
            const outcome = handler.handle(parsed);
            expect(outcome.failure, outcome.failure?.stack).to.equal(undefined);
            expect(outcome.review.response.allowed).to.equal(true);
          } catch (err) {
            expect(err, String((err as Error).stack)).to.be.instanceOf(HttpError);
            expect((err as HttpError).status).to.equal(400);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a review nested 100,000 deep is answered, not crashed on', () => {
    // Deeper than structuredClone and fast-json-patch's compare usually recurse (about 1,500
    // levels): the handler must catch the RangeError, admit the object unchanged and say so.
    useNamespaces([]);
    const object = { metadata: { name: 'deep' }, spec: { imagePullPolicy: 'Always', containers: [{ name: 'a', image: 'nginx:1', imagePullPolicy: 'IfNotPresent', deep: nested(100_000) }] } };
    const outcome = handler.handle({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'deep', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'ns-0', object },
    });
    expect(outcome.review.response).to.deep.include({ uid: 'deep', allowed: true });
    if (outcome.failure) {
      expect(outcome.review.response.patch).to.equal(undefined);
      expect(outcome.failure).to.be.instanceOf(RangeError);
      expect(outcome.review.response.warnings).to.deep.equal(['pullfix: internal error; object admitted unchanged']);
    }
  });
});
