// The engine against an oracle: SPEC §4's tables written out again here, from what the test
// knows of how each generated object was made (who wrote which value, where the stray field is),
// and compared with every container's value after the engine ran. Cases are those the oracle can
// model: CREATE, and UPDATE whose old object is the object (no history); the history fuzzer
// (test/reliability/fuzz-history) covers updates.
import { expect } from 'chai';
import fc from 'fast-check';
import { classifyImage, defaultPullPolicy, parseImageReference } from '../../src/engine/image-reference.js';
import { checkProperty } from '../helpers/seeds.js';
import { caseArb, podSpecOf, POLICIES, type GeneratedCase, type GeneratedEntry } from './generated-reviews.js';

type Policy = (typeof POLICIES)[number];

/** A stray value as the engine reads it: any letter case of a pull policy, else nothing. */
function normalise(raw: string | undefined): Policy | undefined {
  return POLICIES.find((p) => p.toLowerCase() === raw?.toLowerCase());
}

interface Known {
  /** The value in the request's object. */
  sent: unknown;
  /** The value SPEC §4 gives. */
  expected: unknown;
  mode: string;
  explicit: boolean;
  stray?: Policy;
  classPolicy?: Policy;
  /** Whether the entry is one the tables decide (image parses, not exempt, patchable, mode on). */
  decided: boolean;
}

function valueOf(spec: Record<string, any>, e: GeneratedEntry): unknown {
  const x = (spec[e.list] as Array<Record<string, any>>).find((y) => y.name === e.name)!;
  return e.list === 'volumes' ? x.image.pullPolicy : x.imagePullPolicy;
}

/** The oracle: what SPEC §3 and §4 say this entry ends with. */
function oracle(c: GeneratedCase, e: GeneratedEntry): Known {
  const { request, kind } = c;
  const sent = valueOf(podSpecOf(request.object, kind.path), e);
  const modeLabel = c.labels['pullfix.dev/mode'];
  const mode = modeLabel ?? c.config.mode;
  const admission = request.source === 'admission';
  // Where the stray value is (SPEC §2): kubectl apply's record, or a schemaless object; else the
  // value pullfix's note on the object says it removed earlier.
  const visible = c.stray !== undefined && (request.source === 'manifest' || kind.schemaless || c.client === 'apply');
  const stray = visible ? normalise(c.stray) : admission ? normalise(c.notedStray) : undefined;
  const parsed = parseImageReference(e.image);
  const patchable = kind.patched.includes(request.operation) && mode !== 'off';
  const unchanged: Known = { sent, expected: sent, mode, explicit: false, decided: false };
  if (!patchable || e.image.startsWith('localhost:5000/')) return unchanged;
  if (!parsed.ok) {
    // A manifest entry with an image that does not parse still takes the pod-level value.
    const strayOnly = !admission && stray !== undefined && e.written === undefined;
    return { ...unchanged, expected: strayOnly ? stray : sent };
  }
  const imageClass = classifyImage(parsed.ref, request.policy.mutableTags);
  const label = c.labels[`pullfix.dev/${imageClass}`];
  const classPolicy = (label ?? c.config.policies[imageClass]) as Policy | undefined;
  const apiDefault = defaultPullPolicy(e.image);
  let explicit: boolean;
  if (!admission) explicit = e.written !== undefined;
  else if (typeof sent !== 'string') explicit = false;
  else if (c.client === 'apply') explicit = e.written !== undefined; // rule 1, else rule 5
  else if (c.client === 'ssa') explicit = e.written !== undefined || sent !== apiDefault; // rule 2, else 7
  else explicit = sent !== apiDefault; // rule 7
  // The precedence tables, first match wins; row 5 only where a value exists.
  const row5 = typeof sent === 'string' ? apiDefault : undefined;
  let target: unknown;
  if (mode === 'enforce') target = classPolicy ?? (explicit ? undefined : stray ?? row5);
  else target = explicit ? undefined : stray ?? classPolicy ?? row5;
  return { sent, expected: target ?? sent, mode, explicit, ...(stray ? { stray } : {}), ...(classPolicy ? { classPolicy } : {}), decided: true };
}

/** Runs the engine on a case; for every entry, what the oracle knows and the value it ended with. */
function outcomes(c: GeneratedCase): Array<{ e: GeneratedEntry; known: Known; after: unknown }> {
  const result = c.engine.mutate(c.request);
  const spec = podSpecOf(result.mutated, c.kind.path);
  return c.entries.map((e) => ({ e, known: oracle(c, e), after: valueOf(spec, e) }));
}

const where = (e: GeneratedEntry, k: Known): string => `${e.list}[${e.name}] ${e.image} written ${e.written ?? '-'} sent ${String(k.sent)} (${k.mode}, explicit ${k.explicit}, stray ${k.stray ?? '-'}, class ${k.classPolicy ?? '-'})`;

describe('engine: SPEC §4 against an oracle (fast-check)', () => {
  const cases = caseArb({ oracle: true });

  it('property: a valid stray pod-level value ends up in every container without an explicit policy (class policy first in enforce)', () => {
    let checked = 0;
    checkProperty(
      fc.property(cases, (c) => {
        for (const { e, known, after } of outcomes(c)) {
          if (!known.decided || known.stray === undefined || known.explicit) continue;
          if (known.mode === 'enforce' && known.classPolicy !== undefined) continue;
          checked++;
          expect(after, where(e, known)).to.equal(known.stray);
        }
      }),
      { numRuns: 1000 },
    );
    expect(checked, 'entries the stray value had to reach').to.be.greaterThan(200);
  });

  it('property: a class policy is applied where the mode says (enforce: every container; default: where nothing explicit or stray comes first)', () => {
    let enforced = 0;
    let filled = 0;
    checkProperty(
      fc.property(cases, (c) => {
        for (const { e, known, after } of outcomes(c)) {
          if (!known.decided || known.classPolicy === undefined) continue;
          if (known.mode === 'enforce') {
            enforced++;
            expect(after, where(e, known)).to.equal(known.classPolicy);
          } else if (known.explicit) {
            expect(after, `explicit kept: ${where(e, known)}`).to.equal(known.sent);
          } else if (known.stray === undefined) {
            filled++;
            expect(after, where(e, known)).to.equal(known.classPolicy);
          }
        }
      }),
      { numRuns: 1000 },
    );
    // Coverage guards over both runs (fixed and random seed, 2,000 cases): enough entries took
    // each path for the property to mean something. Measured over random seeds: enforced
    // 1,859–1,931, filled 293–358; a bound at the typical count (300) failed one random seed in
    // four (PULLFIX_SEED=-1388281987 gives 293), so the bounds sit well below it and far above
    // what a generator that stopped producing these cases would give (near 0).
    expect(enforced).to.be.greaterThan(1000);
    expect(filled).to.be.greaterThan(150);
  });

  it('property: every entry ends with the value the tables give, and nothing else changes it', () => {
    checkProperty(
      fc.property(cases, (c) => {
        for (const { e, known, after } of outcomes(c)) expect(after, where(e, known)).to.equal(known.expected);
      }),
      { numRuns: 1000 },
    );
  });
});
