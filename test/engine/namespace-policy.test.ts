// A namespace's `pullfix.dev/mutable-tags` annotation is bounded like the config's pattern: one
// namespace's pattern must not stall admission for every namespace. Over the bounds it is
// refused as other bad annotations are: a warning, and the config's pattern applies. Before
// the bounds, the reviewer's 1.7 KB value was accepted here after 0.49 s of compiling, and
// each new 128-character tag then took 0.9–2.6 s to match (0.9–4.7 s in the report): the
// tests below that expect a refusal failed on that code.
import { expect } from 'chai';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { compileNamespacePattern, MUTABLE_TAGS_ANNOTATION, resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import { tagPatternFor } from '../../src/engine/tag-pattern.js';
import type { NamespaceInfo } from '../../src/engine/types.js';
import { podReview } from '../helpers/objects.js';
import { runEngine } from '../helpers/engine.js';

const REPORTED = Array.from({ length: 100 }, () => '(?:[a-z]?){1000}').join('|');

function namespace(pattern: string, name = 'shop'): NamespaceInfo {
  return { name, labels: {}, annotations: { [MUTABLE_TAGS_ANNOTATION]: pattern } };
}

describe('engine: namespace policy, mutable-tags annotation', () => {
  const config = compileConfig({ ...DEFAULT_CONFIG, policies: { mutable: 'Always' } });

  it('refuses the reported 1.7 KB pattern with a warning; the config pattern applies', () => {
    const policy = resolveNamespacePolicy(config, namespace(REPORTED));
    expect(policy.problems).to.deep.equal([
      'namespace shop annotation pullfix.dev/mutable-tags is too long (1699 characters, at most 1024); ignored',
    ]);
    expect(policy.mutableTags).to.equal(config.mutableTagsPattern);
    expect(policy.mutableTags.test('latest')).to.equal(true);
    expect(policy.mutableTags.test('a'.repeat(128))).to.equal(false);
  });

  it('refuses a short pattern that expands past the instruction bound', () => {
    const policy = resolveNamespacePolicy(config, namespace('(?:[a-z]?){1000}'));
    expect(policy.problems).to.deep.equal([
      'namespace shop annotation pullfix.dev/mutable-tags is too large (~2002 RE2 instructions, at most 192); ignored',
    ]);
    expect(policy.mutableTags).to.equal(config.mutableTagsPattern);
  });

  it('takes a pattern just under the bounds', () => {
    const policy = resolveNamespacePolicy(config, namespace('(?:[a-z]?){95}'));
    expect(policy.problems).to.deep.equal([]);
    expect(policy.mutableTags.source).to.equal('(?:[a-z]?){95}');
    expect(policy.mutableTags.test('a'.repeat(95))).to.equal(true);
    expect(policy.mutableTags.test('latest1')).to.equal(false);
  });

  it('the warning reaches the admission response, and tags are classed by the config pattern', () => {
    // `build` would be mutable under the refused pattern; under the config's it is tagged.
    const containers = [
      { name: 'dev', image: 'example.com/app:dev', imagePullPolicy: 'IfNotPresent' },
      { name: 'build', image: 'example.com/app:build', imagePullPolicy: 'IfNotPresent' },
    ];
    const result = runEngine(podReview(containers, { namespace: 'shop' }), {
      config: { policies: { mutable: 'Always' } },
      annotations: { [MUTABLE_TAGS_ANNOTATION]: REPORTED },
    });
    expect(result.warnings[0]).to.equal('pullfix: namespace shop annotation pullfix.dev/mutable-tags is too long (1699 characters, at most 1024); ignored');
    expect(result.changes.map((c) => [c.name, c.imageClass, c.to])).to.deep.equal([['dev', 'mutable', 'Always']]);
  });

  it('compiles each distinct value once, shared by namespaces, ahead of the request when asked', () => {
    const source = '^(?:edge|pr-[0-9]+|sha-[0-9a-f]{7})$';
    compileNamespacePattern(namespace(source, 'a'));
    const ahead = tagPatternFor(source);
    const first = resolveNamespacePolicy(config, namespace(source, 'a'));
    const second = resolveNamespacePolicy(config, namespace(source, 'b'));
    expect(first.mutableTags).to.equal(ahead);
    expect(second.mutableTags).to.equal(ahead);
    compileNamespacePattern(undefined);
    compileNamespacePattern({ name: 'plain', labels: {}, annotations: {} });
  });

  it('still refuses back-references, with the same warning as before', () => {
    const policy = resolveNamespacePolicy(config, namespace('(a)\\1'));
    expect(policy.problems[0]).to.match(/^namespace shop annotation pullfix.dev\/mutable-tags is not an RE2 \(linear-time\) regular expression: /);
    expect(policy.mutableTags).to.equal(config.mutableTagsPattern);
  });
});
