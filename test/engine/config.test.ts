import { expect } from 'chai';
import { compileTagPattern, parseConfig } from '../../src/engine/config.js';
import { ConfigError } from '../../src/engine/errors.js';
import type { TagPattern } from '../../src/engine/tag-pattern.js';

describe('engine: config validation', () => {
  const cases: Array<[string, unknown, string]> = [
    ['unknown field', { mdoe: 'enforce' }, 'c.yaml: mdoe: unknown field; expected one of mode, policies, mutableTags, exemptImages, workloads, podTemplates'],
    ['bad mode', { mode: 'strict' }, 'c.yaml: mode: must be one of off, default, enforce, got "strict"'],
    ['policy in the wrong case', { policies: { mutable: 'always' } }, 'c.yaml: policies.mutable: must be one of Always, IfNotPresent, Never (case-sensitive), got "always"'],
    ['unknown class', { policies: { latest: 'Always' } }, 'c.yaml: policies.latest: unknown image class; expected one of mutable, tagged, digest'],
    ['bad pattern', { mutableTags: '(' }, 'c.yaml: mutableTags: not an RE2 (linear-time) regular expression: missing closing )'],
    ['back-reference', { mutableTags: '(a)\\1' }, 'c.yaml: mutableTags: not an RE2 (linear-time) regular expression: invalid escape sequence'],
    ['look-ahead', { mutableTags: 'v(?=1)' }, 'c.yaml: mutableTags: not an RE2 (linear-time) regular expression: invalid or unsupported Perl syntax'],
    // The reviewer's 1.7 KB pattern (a hundred `(?:[a-z]?){1000}`): before the size bounds it was
    // accepted after 0.49 s of compiling and took 0.9–2.6 s per tag (tag-pattern.test.ts).
    ['the reported 1.7 KB pattern', { mutableTags: Array.from({ length: 100 }, () => '(?:[a-z]?){1000}').join('|') }, 'c.yaml: mutableTags: too long (1699 characters, at most 1024)'],
    ['a pattern that expands past 192 instructions', { mutableTags: '(?:[a-z]?){1000}' }, 'c.yaml: mutableTags: too large (~2002 RE2 instructions, at most 192)'],
    ['a pattern of 193 instructions', { mutableTags: '[\\w][\\w.-]{0,95}' }, 'c.yaml: mutableTags: too large (193 RE2 instructions, at most 192)'],
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

  it('accepts patterns just under the size bounds', () => {
    for (const mutableTags of ['(?:[a-z]?){95}', '[\\w][\\w.-]{0,94}', `x${'(?:)'.repeat(255)}abc`]) {
      expect(parseConfig({ mutableTags }, 'c.yaml').mutableTags).to.equal(mutableTags);
    }
  });

  it('matches the whole tag, whatever the pattern says', () => {
    const cases: Array<[string, string, boolean]> = [
      ['dev', 'dev', true],
      ['dev', 'devops', false],
      ['dev|main', 'main', true],
      ['dev|main', 'xmain', false],
      ['^(latest|main)$', 'latest', true],
      ['pr-[0-9]+', 'pr-42', true],
      ['pr-[0-9]+', 'pr-42a', false],
      ['(dev|main)+', 'devmaindev', true],
    ];
    for (const [pattern, tag, expected] of cases) {
      const compiled = compileTagPattern(pattern);
      expect(typeof compiled, pattern).to.equal('object');
      expect((compiled as TagPattern).test(tag), `${pattern} on ${tag}`).to.equal(expected);
      expect((compiled as TagPattern).test(tag), `${pattern} on ${tag}, remembered`).to.equal(expected);
    }
  });

  // A backtracking engine takes exponential time on these (18 s at 27 characters for the first):
  // with one, this test would run past mocha's timeout. The linear-time engine answers at once.
  it('takes patterns that backtracking engines cannot, and answers on hostile tags', () => {
    const tag = `${'a'.repeat(5000)}!`;
    for (const pattern of ['((a)+)+', '(a|a)*', '(a+)+b', '(x*)*', '(ab{2,})*', '(a|aa)+$']) {
      const compiled = compileTagPattern(pattern);
      expect(typeof compiled, pattern).to.equal('object');
      expect((compiled as TagPattern).test(tag), pattern).to.equal(false);
    }
  });
});
