#!/usr/bin/env bash
# Builds standalone kustomize from its Go module and caches it outside the repository
# (tools/go-install.sh):
#
#   $PULLFIX_TOOLS_CACHE/kustomize-<version>/kustomize   (PULLFIX_TOOLS_CACHE: ~/.cache/pullfix-tools)
#
# Prints the binary's path on stdout. sigs.k8s.io/kustomize/kustomize/v5 v5.8.2 (with
# kustomize/api and kyaml v0.21.2) declares `go 1.26.0`, so Go 1.26 builds it with no toolchain
# download; v5.8.3 declares `go 1.27.0`. Standalone kustomize is needed because kubectl's
# embedded kustomize has no --enable-exec. The version is stamped as the release build does.
set -euo pipefail
KUSTOMIZE_VERSION=${PULLFIX_KUSTOMIZE_VERSION:-v5.8.2}
exec bash "$(dirname "$0")/go-install.sh" kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" \
  "-X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION"
