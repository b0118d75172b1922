// The patch the engine builds from its plan (src/engine/patch.ts) against its oracle,
// fast-json-patch's `compare` of the object and the engine's result (STYLE §2), and the memo of
// parsed last-applied annotations (src/engine/last-applied.ts).
import { expect } from 'chai';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { LAST_APPLIED_BOUNDS, lastAppliedMemoSize, readLastApplied } from '../../src/engine/last-applied.js';
import { createEngine, type MutationRequest } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import { escapeSegment, pointer } from '../../src/engine/patch.js';
import { checkProperty } from '../helpers/seeds.js';
import { caseArb, type GeneratedCase } from './generated-reviews.js';

const { applyPatch, compare } = fjp;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Every call until the object stops changing, each checked against the oracle. */
function checkAgainstOracle(c: GeneratedCase): void {
  let request: MutationRequest = c.request;
  for (let call = 0; call < 3; call++) {
    const result = c.engine.mutate(request);
    expect(result.patch, `call ${call + 1}`).to.deep.equal(compare(request.object as object, result.mutated as object));
    const applied = applyPatch(structuredClone(request.object), structuredClone(result.patch), true, false).newDocument;
    expect(applied, `call ${call + 1}`).to.deep.equal(result.mutated);
    if (result.patch.length === 0) return;
    request = { ...request, object: result.mutated };
  }
}

describe('engine patch, built from the plan', () => {
  it('escapes pointer segments as RFC 6901 says: ~ first, then /', () => {
    expect(escapeSegment('pullfix.dev/changes')).to.equal('pullfix.dev~1changes');
    expect(escapeSegment('a~b')).to.equal('a~0b');
    // `~1` written by a user is two characters, `~` and `1`: escaping `/` first would leave `~01`'s meaning wrong.
    expect(escapeSegment('~1')).to.equal('~01');
    expect(escapeSegment('/~')).to.equal('~1~0');
    expect(escapeSegment('plain')).to.equal('plain');
    expect(pointer([])).to.equal('');
    expect(pointer(['metadata', 'annotations', 'a/b~c'])).to.equal('/metadata/annotations/a~1b~0c');
  });

  it('is compare(object, mutated), op for op, over generated histories (reinvocations included)', () => {
    checkProperty(fc.property(caseArb(), checkAgainstOracle), { numRuns: 500 });
  });

  it('is compare(object, mutated) for pods with hundreds of entries (notes cut at their bound)', () => {
    checkProperty(fc.property(caseArb({ size: 'many' }), checkAgainstOracle), { numRuns: 20 });
  });

  it('escapes a custom kind pod-template path holding ~ and /, as compare does', () => {
    const segment = fc.constantFrom('spec', 'a/b', 'c~d', '~1', '/~0/', 'x~1y');
    checkProperty(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.constantFrom(undefined, null, {}, { team: 'shop' }), (segments, stray, annotations) => {
        const path = segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
        const config = compileConfig({ ...DEFAULT_CONFIG, podTemplates: [{ group: 'example.com', kind: 'Odd', path }] });
        const engine = createEngine(config);
        const podSpec: Record<string, unknown> = { containers: [{ name: 'app', image: 'app:latest', imagePullPolicy: 'IfNotPresent' }, { name: 'side', image: 'side:1.0' }] };
        if (stray) podSpec.imagePullPolicy = 'Always';
        const object = segments.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), podSpec);
        const top = { apiVersion: 'example.com/v1', kind: 'Odd', ...object, metadata: { name: 'odd', namespace: 'ns', ...(annotations === undefined ? {} : { annotations }) } };
        const result = engine.mutate({
          group: 'example.com',
          kind: 'Odd',
          operation: 'CREATE',
          object: top,
          policy: resolveNamespacePolicy(config, { name: 'ns', labels: { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/mutable': 'Always' }, annotations: {} }),
          source: 'admission',
        });
        expect(result.patch.length).to.be.greaterThan(0);
        expect(result.patch).to.deep.equal(compare(top, result.mutated as object));
        expect(applyPatch(structuredClone(top), structuredClone(result.patch), true, false).newDocument).to.deep.equal(result.mutated);
      }),
      { numRuns: 300 },
    );
  });
});

const { entries: MEMO_ENTRIES, maxString: MEMO_MAX_STRING, maxTotal: MEMO_MAX_TOTAL } = LAST_APPLIED_BOUNDS;

describe('last-applied memo', () => {
  const withLastApplied = (raw: string): unknown => ({ metadata: { annotations: { [LAST_APPLIED]: raw } } });

  it('parses a string once and hands out the same frozen object, which nothing can change', () => {
    const raw = JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'memo-frozen', imagePullPolicy: 'Always' }] } } } });
    const first = readLastApplied(withLastApplied(raw));
    const second = readLastApplied(withLastApplied(`${raw} `.trimEnd()));
    expect(second).to.equal(first);
    expect(Object.isFrozen(first)).to.equal(true);
    const container = (first as any).spec.template.spec.containers[0];
    expect(Object.isFrozen(container)).to.equal(true);
    expect(() => {
      container.imagePullPolicy = 'Never';
    }).to.throw(TypeError);
    expect(container.imagePullPolicy).to.equal('Always');
  });

  it('answers undefined for a string that is not a JSON object, memoised or not', () => {
    for (let n = 0; n < 2; n++) {
      expect(readLastApplied(withLastApplied('[1,2]'))).to.equal(undefined);
      expect(readLastApplied(withLastApplied('{not json'))).to.equal(undefined);
    }
    expect(readLastApplied({ metadata: {} })).to.equal(undefined);
  });

  it('stays within its bounds in entries and characters, and skips large strings', () => {
    for (let n = 0; n < MEMO_ENTRIES + 50; n++) readLastApplied(withLastApplied(JSON.stringify({ n })));
    expect(lastAppliedMemoSize().entries).to.equal(MEMO_ENTRIES);
    const big = JSON.stringify({ pad: 'x'.repeat(MEMO_MAX_STRING) });
    const before = lastAppliedMemoSize();
    const parsed = readLastApplied(withLastApplied(big));
    expect((parsed as { pad: string }).pad.length).to.equal(MEMO_MAX_STRING);
    expect(lastAppliedMemoSize()).to.deep.equal(before);
    expect(readLastApplied(withLastApplied(big))).to.not.equal(parsed);
    for (let n = 0; n < 40; n++) readLastApplied(withLastApplied(JSON.stringify({ n, pad: 'y'.repeat(MEMO_MAX_STRING - 100) })));
    expect(lastAppliedMemoSize().chars).to.be.at.most(MEMO_MAX_TOTAL);
    expect(lastAppliedMemoSize().entries).to.be.lessThan(20);
  });
});
