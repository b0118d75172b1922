// The RE2 patterns the policy hands to CEL, held to the engine's own decisions. JavaScript and
// RE2 agree on every construct these patterns use, so the JavaScript reading stands for RE2's.
import { expect } from 'chai';
import { parseImageReference } from '../../src/engine/image-reference.js';
import { celString, jsonPointer, optionalPath } from '../../src/policy/cel.js';
import { REFERENCE_PATTERN } from '../../src/policy/image-class-cel.js';

describe('pullfix policy: patterns and CEL text', () => {
  const references = [
    'nginx', 'nginx:1.25', 'library/nginx:latest', 'registry.example:5000/team/app:v1',
    'localhost/app', 'Registry.Example/app', '[::1]:5000/app:dev',
    `app@sha256:${'a'.repeat(64)}`, `app:1.0@sha256:${'b'.repeat(64)}`, 'a__b/c--d.e:1',
  ];
  for (const ref of references) {
    it(`takes ${ref} in normalised form, as the engine parses it`, () => {
      const parsed = parseImageReference(ref);
      expect(parsed.ok).to.equal(true);
      if (!parsed.ok) return;
      const { domain, path, tag, digest } = parsed.ref;
      const normalised = `${domain}/${path}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
      expect(new RegExp(REFERENCE_PATTERN).test(normalised)).to.equal(true);
    });
  }
  it('escapes CEL string literals and JSON pointers', () => {
    expect(celString("a'b\\c\nd")).to.equal("'a\\'b\\\\c\\nd'");
    expect(jsonPointer(['spec', 'a/b', 'c~d'])).to.equal('/spec/a~1b/c~0d');
    expect(optionalPath('object', ['spec', 'in', 'x-y'])).to.equal("object.?spec[?'in'][?'x-y']");
  });
});
