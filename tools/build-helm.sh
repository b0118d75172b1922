#!/usr/bin/env bash
# Builds helm from its Go module and caches it outside the repository:
#
#   $PULLFIX_TOOLS_CACHE/helm-<version>/helm      (PULLFIX_TOOLS_CACHE: ~/.cache/pullfix-tools)
#
# A binary already in the cache is reused; delete it to rebuild. Prints the binary's path on
# stdout. helm.sh/helm/v3 v3.22.0 declares `go 1.26.0`, so Go 1.26 builds it with no toolchain
# download (GOTOOLCHAIN=local makes that a hard requirement rather than a silent fetch).
set -euo pipefail

HELM_VERSION=${PULLFIX_HELM_VERSION:-v3.22.0}
CACHE=${PULLFIX_TOOLS_CACHE:-$HOME/.cache/pullfix-tools}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

dir=$CACHE/helm-$HELM_VERSION
helm=$dir/helm

if [ ! -x "$helm" ]; then
  [ -x "$GO" ] || { echo "build-helm: Go not found (looked for go on PATH and /usr/local/go/bin/go)" >&2; exit 2; }
  echo "build-helm: go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION (cold: a few minutes on 2 cores)" >&2
  mkdir -p "$dir"
  # Version stamped as the release Makefile does, so `helm version` names it.
  GOBIN=$dir GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$helm"
