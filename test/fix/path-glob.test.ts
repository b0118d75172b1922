// The --exclude glob matcher (src/fix/path-glob.ts), table by table.
import { expect } from 'chai';
import { compileExcludes, compilePathGlob, matchSegment } from '../../src/fix/path-glob.js';

describe('fix --exclude globs', () => {
  const segments: [string, string, boolean][] = [
    ['*', 'a.yaml', true],
    ['*', '', true],
    ['*.yaml', 'a.yaml', true],
    ['*.yaml', 'a.yml', false],
    ['a?.yaml', 'ab.yaml', true],
    ['a?.yaml', 'a.yaml', false],
    ['*a*b', 'xaxxb', true],
    ['*a*b', 'xaxxbc', false],
    ['values*', 'values.yaml', true],
    ['[ab]', '[ab]', true], // no character classes: literal
    ['[ab]', 'a', false],
  ];
  for (const [glob, name, want] of segments) {
    it(`segment ${JSON.stringify(glob)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => {
      expect(matchSegment(glob, name)).to.equal(want);
    });
  }

  const paths: [string, string, boolean][] = [
    // No slash: a name at any depth.
    ['templates', 'templates', true],
    ['templates', 'charts/app/templates', true],
    ['templates', 'charts/app/templates/a.yaml', false], // the directory matches, and is not descended into
    ['*.json', 'a/b/c.json', true],
    ['*.json', 'a/b/c.yaml', false],
    // A slash: from the directory given.
    ['charts/*/templates', 'charts/app/templates', true],
    ['charts/*/templates', 'x/charts/app/templates', false],
    ['charts/*/templates', 'charts/a/b/templates', false],
    ['charts/**/templates', 'charts/templates', true],
    ['charts/**/templates', 'charts/a/b/templates', true],
    ['**/values.yaml', 'values.yaml', true],
    ['**/values.yaml', 'a/b/values.yaml', true],
    ['a/**', 'a/b', true],
    ['a/**', 'a', true],
    ['./a/b.yaml', 'a/b.yaml', true],
    ['a/', 'a', true],
    ['*', 'a/b', true], // every name matches, the first one first
    ['a/*', 'a/b/c', false],
  ];
  for (const [glob, rel, want] of paths) {
    it(`${JSON.stringify(glob)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(rel)}`, () => {
      expect(compilePathGlob(glob)(rel)).to.equal(want);
    });
  }

  it('takes time linear in the path for many stars and double stars', () => {
    const glob = `${'**/*a*/'.repeat(20)}b`;
    const rel = `${'xaxaxaxa/'.repeat(200)}c`;
    const start = process.hrtime.bigint();
    expect(compilePathGlob(glob)(rel)).to.equal(false);
    expect(Number(process.hrtime.bigint() - start) / 1e6).to.be.below(500);
  });

  it('several globs: any one matching excludes, none excludes nothing', () => {
    expect(compileExcludes(['*.json', 'tmp'])('a/tmp')).to.equal(true);
    expect(compileExcludes(['*.json', 'tmp'])('a/b.yaml')).to.equal(false);
    expect(compileExcludes([])('a')).to.equal(false);
  });
});
