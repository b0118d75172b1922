import { expect } from 'chai';
import { compileTagPattern, parseConfig } from '../../src/engine/config.js';
import { ConfigError } from '../../src/engine/errors.js';

describe('engine: config validation', () => {
  const cases: Array<[string, unknown, string]> = [
    ['unknown field', { mdoe: 'enforce' }, 'c.yaml: mdoe: unknown field; expected one of mode, policies, mutableTags, exemptImages, workloads, podTemplates'],
    ['bad mode', { mode: 'strict' }, 'c.yaml: mode: must be one of off, default, enforce, got "strict"'],
    ['policy in the wrong case', { policies: { mutable: 'always' } }, 'c.yaml: policies.mutable: must be one of Always, IfNotPresent, Never (case-sensitive), got "always"'],
    ['unknown class', { policies: { latest: 'Always' } }, 'c.yaml: policies.latest: unknown image class; expected one of mutable, tagged, digest'],
    ['bad pattern', { mutableTags: '(' }, 'c.yaml: mutableTags: not a valid regular expression'],
    ['exponential pattern', { mutableTags: '(a+)+b' }, 'c.yaml: mutableTags: a pattern with a quantified group'],
    ['exempt not a list', { exemptImages: 'localhost:5000/*' }, 'c.yaml: exemptImages: must be a list of image globs'],
    ['workloads not boolean', { workloads: 'yes' }, 'c.yaml: workloads: must be true or false'],
    ['podTemplate path', { podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: 'spec.template' }] }, 'c.yaml: podTemplates[0].path: must be a JSON pointer'],
  ];
  for (const [name, raw, message] of cases) {
    it(`refuses ${name}, naming file and field`, () => {
      let caught: unknown;
      try {
        parseConfig(raw, 'c.yaml');
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ConfigError);
      expect((caught as Error).message.startsWith(message), (caught as Error).message).to.equal(true);
    });
  }

  it('accepts the documented example and fills defaults', () => {
    const config = parseConfig({ mode: 'enforce', policies: { mutable: 'Always' } }, 'c.yaml');
    expect(config).to.deep.equal({
      mode: 'enforce',
      policies: { mutable: 'Always' },
      mutableTags: '^(latest|main|master|dev|develop|edge|nightly|canary)$',
      exemptImages: [],
      workloads: true,
      podTemplates: [],
    });
  });

  it('anchors tag patterns and refuses nested quantifiers only', () => {
    const dev = compileTagPattern('dev') as RegExp;
    expect([dev.test('dev'), dev.test('devops')]).to.deep.equal([true, false]);
    expect(typeof compileTagPattern('(dev|main)+')).to.equal('object');
    expect(typeof compileTagPattern('pr-[0-9]+')).to.equal('object');
    for (const bad of ['(a+)+b', '(x*)*', '(ab{2,})*']) expect(typeof compileTagPattern(bad), bad).to.equal('string');
  });
});
