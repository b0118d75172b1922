import { expect } from 'chai';
import {
  classifyImage,
  defaultPullPolicy,
  parseImageReference,
  type ImageReference,
} from '../../src/engine/image-reference.js';
import { DEFAULT_MUTABLE_TAGS } from '../../src/engine/types.js';

// Vectors come from github.com/distribution/reference (reference_test.go, normalize_test.go),
// run through ParseNormalizedNamed: the expectations are the normalised domain and path that
// Kubernetes sees, so e.g. reference_test.go's "test_com" (domain "", name "test_com" under plain
// Parse) is docker.io/library/test_com here.

const F64 = 'f'.repeat(64);
const SHA256_F = `sha256:${F64}`;
const SHA512_F = `sha512:${'f'.repeat(128)}`;
const REDIS_DIGEST = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const BUSYBOX_DIGEST = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

const ERR = {
  format: 'invalid reference format',
  upper: 'repository name must be lowercase',
  tooLong: 'repository name must not be more than 255 characters',
  identifier: 'invalid repository name, cannot specify 64-byte hexadecimal strings',
  digestFormat: 'invalid checksum digest format',
  digestUnsupported: 'unsupported digest algorithm',
  notString: 'image reference must be a string',
} as const;

type Valid = [input: string, domain: string, path: string, tag?: string, digest?: string];

function ref(domain: string, path: string, tag?: string, digest?: string): ImageReference {
  const r: ImageReference = { domain, path };
  if (tag !== undefined) r.tag = tag;
  if (digest !== undefined) r.digest = digest;
  return r;
}

function expectValid([input, domain, path, tag, digest]: Valid): void {
  expect(parseImageReference(input), input).to.deep.equal({ ok: true, ref: ref(domain, path, tag, digest) });
}

function expectInvalid(input: string, error: string): void {
  expect(parseImageReference(input), input).to.deep.equal({ ok: false, error });
}

describe('image-reference', () => {
  describe('parseImageReference: reference_test.go TestReferenceParse (normalised)', () => {
    const valid: Valid[] = [
      ['test_com', 'docker.io', 'library/test_com'],
      ['test.com:tag', 'docker.io', 'library/test.com', 'tag'],
      ['test.com:5000', 'docker.io', 'library/test.com', '5000'],
      ['test.com/repo:tag', 'test.com', 'repo', 'tag'],
      ['test:5000/repo', 'test:5000', 'repo'],
      ['test:5000/repo:tag', 'test:5000', 'repo', 'tag'],
      [`test:5000/repo@${SHA256_F}`, 'test:5000', 'repo', undefined, SHA256_F],
      [`test:5000/repo:tag@${SHA256_F}`, 'test:5000', 'repo', 'tag', SHA256_F],
      ['lowercase:Uppercase', 'docker.io', 'library/lowercase', 'Uppercase'],
      // Normalised, the whole 255-character name is the path on docker.io: still within the limit.
      [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, 'docker.io', `${'a/'.repeat(127)}a`, 'tag-puts-this-over-max'],
      [`example.com/${'a'.repeat(255)}:tag`, 'example.com', 'a'.repeat(255), 'tag'],
      ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com', 'bar/baz/quux'],
      ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag'],
      ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io', 'test.example.com/my-app', 'test.example.com'],
      ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com', 'myimage', 'xn--n3h.com'],
      [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA512_F}`, 'xn--7o8h.com', 'myimage', 'xn--7o8h.com', SHA512_F],
      ['foo_bar.com:8080', 'docker.io', 'library/foo_bar.com', '8080'],
      ['foo/foo_bar.com:8080', 'docker.io', 'foo/foo_bar.com', '8080'],
      ['192.168.1.1', 'docker.io', 'library/192.168.1.1'],
      ['192.168.1.1:tag', 'docker.io', 'library/192.168.1.1', 'tag'],
      ['192.168.1.1:5000', 'docker.io', 'library/192.168.1.1', '5000'],
      ['192.168.1.1/repo', '192.168.1.1', 'repo'],
      ['192.168.1.1:5000/repo', '192.168.1.1:5000', 'repo'],
      ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000', 'repo', '5050'],
      ['[2001:db8::1]/repo', '[2001:db8::1]', 'repo'],
      ['[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]', 'repo', 'tag'],
      ['[2001:db8::1]:5000/repo', '[2001:db8::1]:5000', 'repo'],
      ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000', 'repo', 'tag'],
      [`[2001:db8::1]:5000/repo@${SHA256_F}`, '[2001:db8::1]:5000', 'repo', undefined, SHA256_F],
      [`[2001:db8::1]:5000/repo:tag@${SHA256_F}`, '[2001:db8::1]:5000', 'repo', 'tag', SHA256_F],
      ['[2001:db8::]:5000/repo', '[2001:db8::]:5000', 'repo'],
      ['[::1]:5000/repo', '[::1]:5000', 'repo'],
    ];
    for (const v of valid) it(`accepts ${v[0].slice(0, 70)}`, () => expectValid(v));

    const invalid: [string, string][] = [
      ['', ERR.format],
      [':justtag', ERR.format],
      [`@${SHA256_F}`, ERR.format],
      [`repo@sha256:${'f'.repeat(34)}`, ERR.digestFormat],
      [`validname@invaliddigest:${F64}`, ERR.digestUnsupported],
      ['Uppercase:tag', ERR.upper],
      ['test:5000/Uppercase/lowercase:tag', ERR.upper],
      [`domain/${'a'.repeat(256)}:tag`, ERR.tooLong],
      // reference_test.go's older vector: the path is 257 characters once normalised.
      [`${'a/'.repeat(128)}a:tag`, ERR.tooLong],
      ['aa/asdf$$^/aa', ERR.format],
      ['[2001:db8::1]', ERR.format],
      ['[2001:db8::1]:5000', ERR.format],
      ['[2001:db8::1]:tag', ERR.format],
      ['[fe80::1%eth0]:5000/repo', ERR.format],
      ['[fe80::1%@invalidzone]:5000/repo', ERR.format],
    ];
    for (const [input, error] of invalid) {
      it(`rejects ${JSON.stringify(input.slice(0, 60))} (${error})`, () => expectInvalid(input, error));
    }
  });

  describe('parseImageReference: normalize_test.go TestValidateReferenceName', () => {
    const valid: Valid[] = [
      ['docker/docker', 'docker.io', 'docker/docker'],
      ['library/debian', 'docker.io', 'library/debian'],
      ['debian', 'docker.io', 'library/debian'],
      ['docker.io/docker/docker', 'docker.io', 'docker/docker'],
      ['docker.io/library/debian', 'docker.io', 'library/debian'],
      ['docker.io/debian', 'docker.io', 'library/debian'],
      ['index.docker.io/docker/docker', 'docker.io', 'docker/docker'],
      ['index.docker.io/library/debian', 'docker.io', 'library/debian'],
      ['index.docker.io/debian', 'docker.io', 'library/debian'],
      ['127.0.0.1:5000/docker/docker', '127.0.0.1:5000', 'docker/docker'],
      ['127.0.0.1:5000/library/debian', '127.0.0.1:5000', 'library/debian'],
      ['127.0.0.1:5000/debian', '127.0.0.1:5000', 'debian'],
      ['192.168.0.1', 'docker.io', 'library/192.168.0.1'],
      ['192.168.0.1:80', 'docker.io', 'library/192.168.0.1', '80'],
      ['192.168.0.1:8/debian', '192.168.0.1:8', 'debian'],
      ['192.168.0.2:25000/debian', '192.168.0.2:25000', 'debian'],
      [
        'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
        'docker.io',
        'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      ],
      ['[fc00::1]:5000/docker', '[fc00::1]:5000', 'docker'],
      ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000', 'docker/docker'],
      ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000', 'library/debian'],
      [`docker.io/${HEX64}`, 'docker.io', `library/${HEX64}`],
      // An uppercase first element is taken as a registry host (splitDockerDomain).
      ['Docker/docker', 'Docker', 'docker'],
      ['DOCKER/docker', 'DOCKER', 'docker'],
    ];
    for (const v of valid) it(`accepts ${v[0]}`, () => expectValid(v));

    const invalid: [string, string][] = [
      ['https://github.com/docker/docker', ERR.format],
      ['docker/Docker', ERR.upper],
      ['-docker', ERR.format],
      ['-docker/docker', ERR.format],
      ['-docker.io/docker/docker', ERR.format],
      ['docker///docker', ERR.format],
      ['docker.io/docker/Docker', ERR.upper],
      ['docker.io/docker///docker', ERR.format],
      ['[fc00::1]', ERR.format],
      ['[fc00::1]:5000', ERR.format],
      ['fc00::1:5000/debian', ERR.format],
      ['[fe80::1%eth0]:5000/debian', ERR.format],
      ['[2001:db8:3:4::192.0.2.33]:5000/debian', ERR.format],
      [HEX64, ERR.identifier],
    ];
    for (const [input, error] of invalid) it(`rejects ${input} (${error})`, () => expectInvalid(input, error));
  });

  describe('parseImageReference: normalize_test.go TestValidateRemoteName', () => {
    const valid: Valid[] = [
      ['docker-rules/docker', 'docker.io', 'docker-rules/docker'],
      ['docker---rules/docker', 'docker.io', 'docker---rules/docker'],
      ['doc/docker', 'docker.io', 'doc/docker'],
      ['d/docker', 'docker.io', 'd/docker'],
      ['jess/t', 'docker.io', 'jess/t'],
      ['dock__er/docker', 'docker.io', 'dock__er/docker'],
    ];
    for (const v of valid) it(`accepts ${v[0]}`, () => expectValid(v));

    const longNamespace =
      'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker';
    const invalid: [string, string][] = [
      ['docker-/docker', ERR.format],
      ['-docker-/docker', ERR.format],
      ['____/____', ERR.format],
      ['_docker/_docker', ERR.format],
      ['dock..er/docker', ERR.format],
      ['dock_.er/docker', ERR.format],
      ['dock-.er/docker', ERR.format],
      ['docker/', ERR.format],
      [longNamespace, ERR.tooLong],
    ];
    for (const [input, error] of invalid) {
      it(`rejects ${input.slice(0, 60)} (${error})`, () => expectInvalid(input, error));
    }
  });

  describe('parseImageReference: normalize_test.go TestParseRepositoryInfo / TestNormalizedSplitHostname', () => {
    const valid: Valid[] = [
      ['fooo/bar', 'docker.io', 'fooo/bar'],
      ['docker.io/fooo/bar', 'docker.io', 'fooo/bar'],
      ['index.docker.io/fooo/bar', 'docker.io', 'fooo/bar'],
      ['ubuntu', 'docker.io', 'library/ubuntu'],
      ['docker.io/library/ubuntu', 'docker.io', 'library/ubuntu'],
      ['nonlibrary/ubuntu', 'docker.io', 'nonlibrary/ubuntu'],
      ['other/library', 'docker.io', 'other/library'],
      ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000', 'private/moonbase'],
      ['127.0.0.1:8000/privatebase', '127.0.0.1:8000', 'privatebase'],
      ['example.com/private/moonbase', 'example.com', 'private/moonbase'],
      ['example.com/privatebase', 'example.com', 'privatebase'],
      ['example.com:8000/private/moonbase', 'example.com:8000', 'private/moonbase'],
      ['example.com:8000/privatebasee', 'example.com:8000', 'privatebasee'],
      ['ubuntu-12.04-base', 'docker.io', 'library/ubuntu-12.04-base'],
      ['index.docker.io/library/ubuntu-12.04-base', 'docker.io', 'library/ubuntu-12.04-base'],
      ['foo', 'docker.io', 'library/foo'],
      ['docker.io/foo', 'docker.io', 'library/foo'],
      ['library/foo/bar', 'docker.io', 'library/foo/bar'],
      ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
      ['store/foo/bar', 'docker.io', 'store/foo/bar'],
      ['Foo/bar', 'Foo', 'bar'],
      ['FOO/bar', 'FOO', 'bar'],
      ['test.com/foo', 'test.com', 'foo'],
      ['test_com/foo', 'docker.io', 'test_com/foo'],
      ['docker/migrator', 'docker.io', 'docker/migrator'],
      ['test.com:8080/foo', 'test.com:8080', 'foo'],
      ['test-com:8080/foo', 'test-com:8080', 'foo'],
      ['xn--n3h.com/foo', 'xn--n3h.com', 'foo'],
      ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
    ];
    for (const v of valid) it(`accepts ${v[0]}`, () => expectValid(v));
  });

  describe('parseImageReference: normalize_test.go TestParseReferenceWithTagAndDigest / TestParseAnyReference', () => {
    const valid: Valid[] = [
      [`busybox:latest@${BUSYBOX_DIGEST}`, 'docker.io', 'library/busybox', 'latest', BUSYBOX_DIGEST],
      ['redis', 'docker.io', 'library/redis'],
      ['redis:latest', 'docker.io', 'library/redis', 'latest'],
      ['docker.io/library/redis:latest', 'docker.io', 'library/redis', 'latest'],
      [`redis@${REDIS_DIGEST}`, 'docker.io', 'library/redis', undefined, REDIS_DIGEST],
      [`docker.io/library/redis@${REDIS_DIGEST}`, 'docker.io', 'library/redis', undefined, REDIS_DIGEST],
      ['dmcgowan/myapp', 'docker.io', 'dmcgowan/myapp'],
      ['dmcgowan/myapp:latest', 'docker.io', 'dmcgowan/myapp', 'latest'],
      ['docker.io/mcgowan/myapp:latest', 'docker.io', 'mcgowan/myapp', 'latest'],
      [`dmcgowan/myapp@${REDIS_DIGEST}`, 'docker.io', 'dmcgowan/myapp', undefined, REDIS_DIGEST],
      [`docker.io/dmcgowan/myapp@${REDIS_DIGEST}`, 'docker.io', 'dmcgowan/myapp', undefined, REDIS_DIGEST],
      // 63 hex characters is an ordinary name, not an identifier.
      [
        'dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9',
        'docker.io',
        'library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9',
      ],
      ['dbcc1', 'docker.io', 'library/dbcc1'],
      // ParseAnyReference would read this as a bare digest; ParseNormalizedNamed (what Kubernetes
      // uses) reads it as the image "sha256" with a 64-character tag.
      [REDIS_DIGEST, 'docker.io', 'library/sha256', REDIS_DIGEST.slice('sha256:'.length)],
    ];
    for (const v of valid) it(`accepts ${v[0].slice(0, 70)}`, () => expectValid(v));

    it('rejects a bare 64-hex identifier, as ParseNormalizedNamed does', () => {
      expectInvalid(REDIS_DIGEST.slice('sha256:'.length), ERR.identifier);
    });
  });

  describe('parseImageReference: registries, digests and tags', () => {
    const valid: Valid[] = [
      ['nginx', 'docker.io', 'library/nginx'],
      ['localhost/foo', 'localhost', 'foo'],
      ['localhost:5000/foo/bar:tag', 'localhost:5000', 'foo/bar', 'tag'],
      ['[fe80::1]:5000/img', '[fe80::1]:5000', 'img'],
      ['myregistry.com/myapp:5c3dda6b', 'myregistry.com', 'myapp', '5c3dda6b'],
      ['docker.io/nginx:1.25', 'docker.io', 'library/nginx', '1.25'],
      ['ghcr.io/org/team/app:v1.2.3', 'ghcr.io', 'org/team/app', 'v1.2.3'],
      // A host-like first element that the domain grammar refuses becomes part of the path, with
      // an empty domain, exactly as reference.Parse splits it.
      ['foo_bar.com/x', '', 'foo_bar.com/x'],
      // A bare "localhost" or host name without a slash is a Docker Hub image (normalize.go FIXME).
      ['localhost', 'docker.io', 'library/localhost'],
      ['localhost:5000', 'docker.io', 'library/localhost', '5000'],
      // Other digest algorithms that go-digest knows.
      [`app@sha384:${'a'.repeat(96)}`, 'docker.io', 'library/app', undefined, `sha384:${'a'.repeat(96)}`],
      [`app@${SHA512_F}`, 'docker.io', 'library/app', undefined, SHA512_F],
      // Tag boundaries: \w first, up to 128 characters.
      [`app:${'t'.repeat(128)}`, 'docker.io', 'library/app', 't'.repeat(128)],
      ['app:_x', 'docker.io', 'library/app', '_x'],
      ['app:Latest', 'docker.io', 'library/app', 'Latest'],
    ];
    for (const v of valid) it(`accepts ${v[0].slice(0, 70)}`, () => expectValid(v));

    const invalid: [string, string][] = [
      [`app:${'t'.repeat(129)}`, ERR.format],
      ['app:-x', ERR.format],
      ['app:.x', ERR.format],
      ['app:', ERR.format],
      ['app@', ERR.format],
      [' nginx', ERR.format],
      ['nginx ', ERR.format],
      ['nginx\n', ERR.format],
      ['NGINX', ERR.upper],
      ['nginx:latest@sha256:abc', ERR.format],
      // The grammar takes any algorithm and 32+ hex digits; go-digest then insists on a known one.
      [`app@md5:${'f'.repeat(32)}`, ERR.digestUnsupported],
      [`app@sha256+b64:${F64}`, ERR.digestUnsupported],
      [`app@sha256:${'F'.repeat(64)}`, ERR.digestFormat],
      [`app@sha256:${'f'.repeat(65)}`, ERR.digestFormat],
      [`app@sha512:${F64}`, ERR.digestFormat],
      [`app:v1@SHA256:${F64}`, ERR.digestFormat],
      [`app@SHA256:${F64}`, ERR.upper],
    ];
    for (const [input, error] of invalid) {
      it(`rejects ${JSON.stringify(input.slice(0, 60))} (${error})`, () => expectInvalid(input, error));
    }
  });

  describe('parseImageReference: robustness', () => {
    const notStrings: unknown[] = [undefined, null, 42, true, {}, [], ['nginx'], Symbol('x'), () => 'nginx', new String('nginx')];
    for (const value of notStrings) {
      it(`returns an error for ${typeof value} ${Array.isArray(value) ? '(array)' : ''}`, () => {
        expect(() => parseImageReference(value as any)).not.to.throw();
        expect(parseImageReference(value as any)).to.deep.equal({ ok: false, error: ERR.notString });
      });
    }

    it('returns an error for the empty string', () => {
      expect(parseImageReference('')).to.deep.equal({ ok: false, error: ERR.format });
    });

    it('returns the same frozen result for repeated input', () => {
      const a = parseImageReference('memo-test:1');
      const b = parseImageReference('memo-test:1');
      expect(b).to.equal(a);
      expect(Object.isFrozen(a)).to.equal(true);
      if (a.ok) expect(Object.isFrozen(a.ref)).to.equal(true);
    });

    it('stays correct past the memo capacity', () => {
      for (let i = 0; i < 2500; i++) {
        expect(parseImageReference(`registry.example/app-${i}:v${i}`)).to.deep.equal({
          ok: true,
          ref: { domain: 'registry.example', path: `app-${i}`, tag: `v${i}` },
        });
      }
      expect(parseImageReference('nginx')).to.deep.equal({ ok: true, ref: { domain: 'docker.io', path: 'library/nginx' } });
    });

    it('handles very long hostile inputs without catastrophic backtracking', () => {
      const n = 20000;
      const inputs = [
        `${'a'.repeat(n)}!`,
        `${'a.'.repeat(n / 2)}!`,
        `${'a-'.repeat(n / 2)}!`,
        `${'a/'.repeat(n / 2)}!`,
        `${'a:'.repeat(n / 2)}!`,
        `[${':'.repeat(n)}!`,
        `a@a:${'f'.repeat(n)}!`,
        `${'a-b.c__d/'.repeat(n / 9)}!`,
      ];
      // Each takes a few milliseconds; exponential backtracking would not return within the
      // test's timeout. No clock is read here: a busy machine must not fail a unit test.
      for (const input of inputs) expect(parseImageReference(input).ok, input.slice(0, 20)).to.equal(false);
      // A long host name is valid: the grammar limits only the path.
      expect(parseImageReference(`${'h'.repeat(n)}.com/app`)).to.deep.equal({
        ok: true,
        ref: { domain: `${'h'.repeat(n)}.com`, path: 'app' },
      });
    });
  });

  describe('classifyImage', () => {
    const defaults = new RegExp(DEFAULT_MUTABLE_TAGS);
    const table: [image: string, expected: string][] = [
      ['nginx', 'mutable'],
      ['nginx:latest', 'mutable'],
      ['nginx:dev', 'mutable'],
      ['nginx:main', 'mutable'],
      ['nginx:nightly', 'mutable'],
      ['nginx:latest-alpine', 'tagged'],
      ['nginx:Latest', 'tagged'],
      ['nginx:1.2.3', 'tagged'],
      ['myregistry.com/myapp:5c3dda6b', 'tagged'],
      [`nginx@${REDIS_DIGEST}`, 'digest'],
      [`nginx:latest@${REDIS_DIGEST}`, 'digest'],
      [`nginx:1.2.3@${REDIS_DIGEST}`, 'digest'],
    ];
    for (const [image, expected] of table) {
      it(`${image.slice(0, 50)} -> ${expected} (default pattern)`, () => {
        const parsed = parseImageReference(image);
        if (!parsed.ok) throw new Error(parsed.error);
        expect(classifyImage(parsed.ref, defaults)).to.equal(expected);
      });
    }

    it('uses a custom pattern', () => {
      const custom = /^(stable|v\d+)$/;
      expect(classifyImage({ domain: 'docker.io', path: 'library/app', tag: 'stable' }, custom)).to.equal('mutable');
      expect(classifyImage({ domain: 'docker.io', path: 'library/app', tag: 'v2' }, custom)).to.equal('mutable');
      expect(classifyImage({ domain: 'docker.io', path: 'library/app', tag: 'latest' }, custom)).to.equal('tagged');
      expect(classifyImage({ domain: 'docker.io', path: 'library/app', tag: 'v2.1' }, custom)).to.equal('tagged');
      expect(classifyImage({ domain: 'docker.io', path: 'library/app' }, custom)).to.equal('mutable');
      expect(classifyImage({ domain: 'docker.io', path: 'library/app', tag: 'stable', digest: SHA256_F }, custom)).to.equal(
        'digest',
      );
    });

  });

  describe('defaultPullPolicy (SetDefaults_Container)', () => {
    const table: [image: string, expected: string][] = [
      ['nginx', 'Always'],
      ['nginx:latest', 'Always'],
      ['docker.io/library/nginx', 'Always'],
      ['localhost:5000/foo/bar', 'Always'],
      ['nginx:1.25', 'IfNotPresent'],
      ['nginx:Latest', 'IfNotPresent'],
      ['nginx:dev', 'IfNotPresent'],
      [`nginx@${REDIS_DIGEST}`, 'IfNotPresent'],
      [`nginx:latest@${REDIS_DIGEST}`, 'Always'],
      [`nginx:1.25@${REDIS_DIGEST}`, 'IfNotPresent'],
      ['garbage!!', 'IfNotPresent'],
      ['NGINX', 'IfNotPresent'],
      [HEX64, 'IfNotPresent'],
      ['', 'IfNotPresent'],
    ];
    for (const [image, expected] of table) {
      it(`${JSON.stringify(image.slice(0, 50))} -> ${expected}`, () => {
        expect(defaultPullPolicy(image)).to.equal(expected);
      });
    }

    it('does not throw for a non-string', () => {
      expect(defaultPullPolicy(undefined as any)).to.equal('IfNotPresent');
      expect(defaultPullPolicy(7 as any)).to.equal('IfNotPresent');
    });
  });
});
