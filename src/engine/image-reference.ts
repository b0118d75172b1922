// Container image references, parsed the way Docker and Kubernetes parse them.
//
// This is a faithful port of ParseNormalizedNamed from github.com/distribution/reference (the
// version Kubernetes vendors, v0.6.0: reference.go, regexp.go, normalize.go), with digests
// validated as github.com/opencontainers/go-digest does with crypto/sha256 and crypto/sha512
// linked in (as they are in the API server). Grammar, from reference.go:
//
//   reference        := name [ ":" tag ] [ "@" digest ]
//   name             := [domain '/'] remote-name
//   domain           := host [':' port-number]
//   host             := domain-name | IPv4address | \[ IPv6address \]
//   domain-name      := domain-component ['.' domain-component]*
//   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//   port-number      := /[0-9]+/
//   path-component   := alpha-numeric [separator alpha-numeric]*
//   remote-name      := path-component ['/' path-component]*
//   alpha-numeric    := /[a-z0-9]+/
//   separator        := /[_.]|__|[-]+/
//   tag              := /[\w][\w.-]{0,127}/
//   digest           := algorithm ":" hex   (algorithm components /[A-Za-z][A-Za-z0-9]*/ joined
//                                            by /[-_+.]/, hex /[0-9a-fA-F]{32,}/)
//
// Everything here is pure: no I/O, no imports beyond the shared types.

import type { ImageClass, PullPolicy } from './types.js';

export interface ImageReference {
  /** Registry host (and port) after normalisation: 'docker.io' for 'nginx'. */
  domain: string;
  /** Repository path: 'library/nginx' for 'nginx'. */
  path: string;
  /** Absent when the reference carries no tag. */
  tag?: string;
  /** 'sha256:…' (or sha384/sha512) when present. */
  digest?: string;
}

export type ParseResult = { ok: true; ref: ImageReference } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------------
// Regular expressions, assembled exactly as regexp.go assembles them, compiled once.

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
// [[:xdigit:]] in Go's syntax.
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const identifier = '([a-f0-9]{64})';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

/**
 * The whole reference grammar (name, optional tag, optional digest), anchored, as source text.
 * Every construct in it means the same in RE2 as in JavaScript, so `pullfix policy` hands this
 * very text to CEL's `matches`.
 */
export const REFERENCE_PATTERN = `^${namePat}(?::${tagPat})?(?:@${digestPat})?$`;

/** Groups: 1 name, 2 tag, 3 digest. */
const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
/** Groups: 1 domain, 2 remote name. */
const ANCHORED_NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const ANCHORED_IDENTIFIER_RE = new RegExp(`^${identifier}$`);

// go-digest (digest.go, algorithm.go).
const GO_DIGEST_ANCHORED_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const DIGEST_ENCODED_RE: ReadonlyMap<string, RegExp> = new Map([
  ['sha256', /^[a-f0-9]{64}$/],
  ['sha384', /^[a-f0-9]{96}$/],
  ['sha512', /^[a-f0-9]{128}$/],
]);

// ---------------------------------------------------------------------------------------------
// Constants and messages (reference.go, normalize.go, go-digest). Messages never echo the input.

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const LOCALHOST = 'localhost';
const DEFAULT_TAG = 'latest';
const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;

const ERR_NOT_STRING = 'image reference must be a string';
const ERR_INVALID_FORMAT = 'invalid reference format';
const ERR_UPPERCASE = 'repository name must be lowercase';
const ERR_TOO_LONG = `repository name must not be more than ${REPOSITORY_NAME_TOTAL_LENGTH_MAX} characters`;
const ERR_IDENTIFIER = 'invalid repository name, cannot specify 64-byte hexadecimal strings';
const ERR_DIGEST_FORMAT = 'invalid checksum digest format';
const ERR_DIGEST_UNSUPPORTED = 'unsupported digest algorithm';

// ---------------------------------------------------------------------------------------------
// Memo: results are frozen and shared between callers.

const MEMO_MAX_ENTRIES = 1000;
/** Longer inputs are parsed every time rather than pinned in memory. */
const MEMO_MAX_KEY_LENGTH = 1024;
const memo = new Map<string, ParseResult>();

function fail(error: string): ParseResult {
  return Object.freeze({ ok: false as const, error });
}

/**
 * Parses an image reference as Kubernetes does (ParseNormalizedNamed): 'nginx' becomes
 * docker.io/library/nginx. Never throws; anything that is not a valid reference, including a
 * value that is not a string, gives `{ ok: false, error }`. The returned objects are frozen.
 */
export function parseImageReference(image: string): ParseResult {
  if (typeof image !== 'string') return fail(ERR_NOT_STRING);
  const cached = memo.get(image);
  if (cached !== undefined) return cached;
  const result = parseNormalizedNamed(image);
  if (image.length <= MEMO_MAX_KEY_LENGTH) {
    if (memo.size >= MEMO_MAX_ENTRIES) memo.clear();
    memo.set(image, result);
  }
  return result;
}

/** normalize.go ParseNormalizedNamed. */
function parseNormalizedNamed(s: string): ParseResult {
  if (ANCHORED_IDENTIFIER_RE.test(s)) return fail(ERR_IDENTIFIER);
  const { domain, remainder } = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) return fail(ERR_UPPERCASE);
  return parse(`${domain}/${remainder}`);
}

/** normalize.go splitDockerDomain. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash === -1) {
    // A single element ("ubuntu", "ubuntu:latest") is always a Docker Hub official image.
    return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
  }
  const maybeDomain = name.slice(0, slash);
  const maybeRemoteName = name.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (maybeDomain === LOCALHOST) {
    domain = maybeDomain;
    remainder = maybeRemoteName;
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    domain = DEFAULT_DOMAIN;
    remainder = maybeRemoteName;
  } else if (maybeDomain.includes('.') || maybeDomain.includes(':')) {
    domain = maybeDomain;
    remainder = maybeRemoteName;
  } else if (maybeDomain.toLowerCase() !== maybeDomain) {
    // Namespaces cannot be uppercase, so an uppercase first element is taken as a host name.
    domain = maybeDomain;
    remainder = maybeRemoteName;
  } else {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) {
    remainder = OFFICIAL_REPO_PREFIX + remainder;
  }
  return { domain, remainder };
}

/** reference.go Parse, for the already-normalised (and so non-empty, always named) string. */
function parse(s: string): ParseResult {
  const matches = REFERENCE_RE.exec(s);
  if (matches === null) {
    const lower = s.toLowerCase();
    if (lower !== s && REFERENCE_RE.test(lower)) return fail(ERR_UPPERCASE);
    return fail(ERR_INVALID_FORMAT);
  }
  const name = matches[1] ?? '';
  const tag = matches[2];
  const digest = matches[3];

  let domain = '';
  let path = name;
  const nameMatch = ANCHORED_NAME_RE.exec(name);
  if (nameMatch !== null) {
    domain = nameMatch[1] ?? '';
    path = nameMatch[2] ?? '';
  }
  if (path.length > REPOSITORY_NAME_TOTAL_LENGTH_MAX) return fail(ERR_TOO_LONG);

  if (digest !== undefined) {
    const digestError = validateDigest(digest);
    if (digestError !== undefined) return fail(digestError);
  }

  const ref: ImageReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return Object.freeze({ ok: true as const, ref: Object.freeze(ref) });
}

/** go-digest Digest.Validate, with sha256, sha384 and sha512 available. Returns an error or undefined. */
function validateDigest(d: string): string | undefined {
  const i = d.indexOf(':');
  if (i <= 0 || i + 1 === d.length) return ERR_DIGEST_FORMAT;
  const encodedRe = DIGEST_ENCODED_RE.get(d.slice(0, i));
  if (encodedRe === undefined) {
    return GO_DIGEST_ANCHORED_RE.test(d) ? ERR_DIGEST_UNSUPPORTED : ERR_DIGEST_FORMAT;
  }
  return encodedRe.test(d.slice(i + 1)) ? undefined : ERR_DIGEST_FORMAT;
}

/**
 * digest: the reference pins a digest (with or without a tag). mutable: it has no tag, or its tag
 * matches `mutableTags`. tagged: anything else.
 */
export function classifyImage(ref: ImageReference, mutableTags: { test(tag: string): boolean }): ImageClass {
  if (ref.digest !== undefined) return 'digest';
  if (ref.tag === undefined) return 'mutable';
  return mutableTags.test(ref.tag) ? 'mutable' : 'tagged';
}

/**
 * The pull policy the API server gives a container that sets none (SetDefaults_Container with
 * parsers.ParseImageName): 'Always' when the tag is "latest", written or implied by a reference
 * with neither tag nor digest; 'IfNotPresent' otherwise, including a reference that does not parse.
 */
export function defaultPullPolicy(image: string): PullPolicy {
  const parsed = parseImageReference(image);
  if (!parsed.ok) return 'IfNotPresent';
  const { tag, digest } = parsed.ref;
  const effectiveTag = tag === undefined && digest === undefined ? DEFAULT_TAG : tag;
  return effectiveTag === DEFAULT_TAG ? 'Always' : 'IfNotPresent';
}
