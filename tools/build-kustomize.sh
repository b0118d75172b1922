#!/usr/bin/env bash
# Builds standalone kustomize from its Go module and caches it outside the repository:
#
#   $PULLFIX_TOOLS_CACHE/kustomize-<version>/kustomize   (PULLFIX_TOOLS_CACHE: ~/.cache/pullfix-tools)
#
# A binary already in the cache is reused; delete it to rebuild. Prints the binary's path on
# stdout. sigs.k8s.io/kustomize/kustomize/v5 v5.8.2 (with kustomize/api and kyaml v0.21.2)
# declares `go 1.26.0`, so Go 1.26 builds it with no toolchain download; v5.8.3 declares
# `go 1.27.0` (GOTOOLCHAIN=local makes that a hard failure rather than a silent fetch).
# Standalone kustomize is needed because kubectl's embedded kustomize has no --enable-exec.
set -euo pipefail

KUSTOMIZE_VERSION=${PULLFIX_KUSTOMIZE_VERSION:-v5.8.2}
CACHE=${PULLFIX_TOOLS_CACHE:-$HOME/.cache/pullfix-tools}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

dir=$CACHE/kustomize-$KUSTOMIZE_VERSION
kustomize=$dir/kustomize

if [ ! -x "$kustomize" ]; then
  [ -x "$GO" ] || { echo "build-kustomize: Go not found (looked for go on PATH and /usr/local/go/bin/go)" >&2; exit 2; }
  echo "build-kustomize: go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION (cold: a few minutes on 2 cores)" >&2
  mkdir -p "$dir"
  # Version stamped as the release build does, so `kustomize version` names it.
  GOBIN=$dir GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION" \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
fi
echo "$kustomize"
