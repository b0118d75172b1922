#!/usr/bin/env bash
# Builds a Go-built test tool from its Go module and caches it outside the repository:
#
#   tools/go-install.sh NAME PACKAGE VERSION [LDFLAGS]
#   -> $PULLFIX_TOOLS_CACHE/NAME-VERSION/NAME          (PULLFIX_TOOLS_CACHE: ~/.cache/pullfix-tools)
#
# A binary already in the cache is reused; delete it to rebuild. Prints the binary's path on
# stdout; exits 2 when there is no Go. GOTOOLCHAIN=local: a module that needs a newer Go than
# the machine's fails the build rather than fetching a toolchain silently.
set -euo pipefail

name=$1 package=$2 version=$3 ldflags=${4:-}
CACHE=${PULLFIX_TOOLS_CACHE:-$HOME/.cache/pullfix-tools}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

dir=$CACHE/$name-$version
binary=$dir/$name

if [ ! -x "$binary" ]; then
  [ -x "$GO" ] || { echo "build-$name: Go not found (looked for go on PATH and /usr/local/go/bin/go)" >&2; exit 2; }
  echo "build-$name: go install $package@$version (cold: a few minutes on 2 cores)" >&2
  mkdir -p "$dir"
  GOBIN=$dir GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" install -trimpath \
    -ldflags "-s -w $ldflags" "$package@$version" >&2
fi
echo "$binary"
