#!/usr/bin/env bash
# Builds the test cluster's binaries (kube-apiserver, etcd) from their Go modules and caches
# them outside the repository:
#
#   $PULLFIX_E2E_CACHE/<kubernetes version>/kube-apiserver
#   $PULLFIX_E2E_CACHE/etcd-<etcd version>/etcd
#
# PULLFIX_E2E_CACHE defaults to ~/.cache/pullfix-e2e. A binary already in the cache is reused;
# delete it to rebuild. Prints the two paths on stdout, one a line (kube-apiserver first).
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io/* staging module
# with ./staging/src/...; a small module of our own requires it and replaces each of those with
# the published v0.<minor>.<patch> of the same release.
set -euo pipefail

KUBE_VERSION=${PULLFIX_E2E_KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${PULLFIX_E2E_ETCD_VERSION:-v3.6.16}
CACHE=${PULLFIX_E2E_CACHE:-$HOME/.cache/pullfix-e2e}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

log() { echo "e2e build: $*" >&2; }

[ -x "$GO" ] || { echo "e2e build: Go not found (looked for go on PATH and /usr/local/go/bin/go)" >&2; exit 2; }

export GOFLAGS=-mod=mod
export CGO_ENABLED=0

apiserver_dir=$CACHE/$KUBE_VERSION
apiserver=$apiserver_dir/kube-apiserver
etcd_dir=$CACHE/etcd-$ETCD_VERSION
etcd=$etcd_dir/etcd

build_apiserver() {
  local work=$CACHE/src/kubernetes-$KUBE_VERSION
  local staging_version=v0.${KUBE_VERSION#v1.}
  mkdir -p "$work" "$apiserver_dir"
  log "kube-apiserver $KUBE_VERSION (cold: about 15-20 minutes on 2 cores)"
  local modfile
  modfile=$("$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [ -f "$modfile" ] || { echo "e2e build: could not download k8s.io/kubernetes@$KUBE_VERSION" >&2; exit 1; }
  {
    echo "module pullfix.dev/e2e/cluster"
    echo
    sed -n 's/^go \(.*\)$/go \1/p' "$modfile"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print "\t" $1 " => " $1 " '"$staging_version"'" }' "$modfile"
    echo ")"
  } > "$work/go.mod"
  cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  (cd "$work" && "$GO" mod tidy >&2 && "$GO" build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) \
      -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" \
      -o "$apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2)
  mv "$apiserver.tmp" "$apiserver"
}

build_etcd() {
  local work=$CACHE/src/etcd-$ETCD_VERSION
  mkdir -p "$work" "$etcd_dir"
  log "etcd $ETCD_VERSION"
  {
    echo "module pullfix.dev/e2e/etcd"
    echo
    echo "go 1.26"
    echo
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  } > "$work/go.mod"
  cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3/etcdmain"
GO
  # etcd's own main package is go.etcd.io/etcd/v3 (module root); etcdmain.Main is what it calls.
  mkdir -p "$work/cmd/etcd"
  cat > "$work/cmd/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$work" && "$GO" mod tidy >&2 && "$GO" build -trimpath -ldflags "-s -w" -o "$etcd.tmp" ./cmd/etcd >&2)
  mv "$etcd.tmp" "$etcd"
}

start=$SECONDS
[ -x "$etcd" ] || build_etcd
[ -x "$apiserver" ] || build_apiserver
log "ready in $((SECONDS - start)) s (cache: $CACHE)"
echo "$apiserver"
echo "$etcd"
