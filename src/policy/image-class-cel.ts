// Image references in CEL: the same decisions as src/engine/image-reference.ts (the
// distribution/reference grammar Kubernetes vendors, ParseNormalizedNamed), written as string
// functions and RE2 regular expressions that the API server evaluates itself.

import { bind, celString } from './cel.js';

// The grammar of distribution/reference regexp.go, the engine's own text: every construct in it
// means the same in RE2 (the API server's CEL `matches`) as in JavaScript.
import { REFERENCE_PATTERN } from '../engine/image-reference.js';

export { REFERENCE_PATTERN };
/** ParseNormalizedNamed refuses a 64-hex-digit string: it would be taken for an image ID. */
export const IDENTIFIER_PATTERN = '^[a-f0-9]{64}$';
/** The digests go-digest validates with the hashes linked into the API server. */
export const DIGEST_PATTERN = '^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$';
const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;

/**
 * normalize.go splitDockerDomain, joined back: the reference as `domain/remainder`, with
 * Docker Hub's `docker.io` and `library/` filled in. `img` is a CEL string variable.
 */
function normalised(img: string): string {
  const rest = `${img}.substring(${img}.indexOf('/') + 1)`;
  const first = `${img}.substring(0, ${img}.indexOf('/'))`;
  return bind(
    'd',
    `${img}.contains('/') ? ${first} : ''`,
    `!${img}.contains('/') ? 'docker.io/library/' + ${img}` +
      // A first element that looks like a host (localhost, a dot, a port, or uppercase) is one.
      ` : (d == 'localhost' || d.contains('.') || d.contains(':') || d.lowerAscii() != d)` +
      ` ? ((d == 'docker.io' || d == 'index.docker.io') ? 'docker.io/' + (${rest}.contains('/') ? '' : 'library/') + ${rest} : ${img})` +
      ` : 'docker.io/' + ${img}`,
  );
}

/**
 * A CEL expression giving `[class, default]` for the image string `img`: class is `digest`,
 * `mutable`, `tagged`, or '' for a reference that does not parse; default is the pull policy
 * the API server's defaulting gives the image (Always for `:latest` or no tag and no digest).
 * `tagPattern` is a CEL expression for the anchored mutable-tag pattern.
 */
export function imageInfo(img: string, tagPattern: string): string {
  return bind(
    'n',
    normalised(img),
    bind(
      // The remainder after the domain, and the name without its digest.
      'rem',
      `n.substring(n.indexOf('/') + 1)`,
      bind(
        'ok',
        `!${img}.matches(${celString(IDENTIFIER_PATTERN)})` +
          ` && rem.split(':')[0].lowerAscii() == rem.split(':')[0]` +
          ` && n.matches(${celString(REFERENCE_PATTERN)})` +
          ` && size(rem.split('@')[0].split(':')[0]) <= ${REPOSITORY_NAME_TOTAL_LENGTH_MAX}` +
          ` && (!n.contains('@') || n.substring(n.indexOf('@') + 1).matches(${celString(DIGEST_PATTERN)}))`,
        bind(
          // The last path element with its tag: `nginx:1.25` of `docker.io/library/nginx:1.25`.
          'last',
          `n.split('@')[0].substring(n.split('@')[0].lastIndexOf('/') + 1)`,
          bind(
            'tag',
            `last.contains(':') ? last.substring(last.indexOf(':') + 1) : ''`,
            `!ok ? ['', 'IfNotPresent'] : [` +
              `n.contains('@') ? 'digest' : !last.contains(':') ? 'mutable' : tag.matches(${tagPattern}) ? 'mutable' : 'tagged', ` +
              `tag == 'latest' || (!last.contains(':') && !n.contains('@')) ? 'Always' : 'IfNotPresent']`,
          ),
        ),
      ),
    ),
  );
}
