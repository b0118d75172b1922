#!/usr/bin/env bash
# Builds helm from its Go module and caches it outside the repository (tools/go-install.sh):
#
#   $PULLFIX_TOOLS_CACHE/helm-<version>/helm      (PULLFIX_TOOLS_CACHE: ~/.cache/pullfix-tools)
#
# Prints the binary's path on stdout. helm.sh/helm/v3 v3.22.0 declares `go 1.26.0`, so Go 1.26
# builds it with no toolchain download. The version is stamped as the release Makefile does,
# so `helm version` names it.
set -euo pipefail
HELM_VERSION=${PULLFIX_HELM_VERSION:-v3.22.0}
exec bash "$(dirname "$0")/go-install.sh" helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
