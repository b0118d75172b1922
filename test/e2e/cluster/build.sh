#!/usr/bin/env bash
# Builds the test cluster's binaries from their Go modules and caches them outside the
# repository (PULLFIX_E2E_CACHE, default ~/.cache/pullfix-e2e):
#
#   <cache>/<kubernetes version>/   kube-apiserver kubelet kube-controller-manager kube-scheduler
#   <cache>/etcd-<version>/         etcd
#   <cache>/containerd-<version>/   containerd containerd-shim-runc-v2 ctr
#   <cache>/cni-<version>/          bridge host-local loopback
#   <cache>/crane-<version>/        crane
#   <cache>/pause-1/                pause (a static program that sleeps until signalled: the
#                                   sandbox image, since no public registry can be reached)
#
# A binary already in the cache is reused; delete it to rebuild. Prints NAME=PATH lines on
# stdout (KUBE_APISERVER, ETCD, KUBELET, ...), which mk/e2e.mk exports as PULLFIX_E2E_<NAME>.
#
#   build.sh            everything (the API-server suite and the node suite)
#   build.sh api        only kube-apiserver and etcd
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io/* staging module
# with ./staging/src/...; a small module of our own requires it and replaces each of those with
# the published v0.<minor>.<patch> of the same release. All four Kubernetes commands are built
# by one `go build`, so they share the compiled packages (cold: about 20 minutes on 2 cores,
# most of it kube-apiserver; each further command adds about 2 minutes).
#
# Everything is CGO_ENABLED=0 and static. runc, the registry and busybox come from Debian
# (test/e2e/cluster/host-packages.sh): runc from its Go module needs cgo and libseccomp.
set -euo pipefail

KUBE_VERSION=${PULLFIX_E2E_KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${PULLFIX_E2E_ETCD_VERSION:-v3.6.16}
CONTAINERD_VERSION=${PULLFIX_E2E_CONTAINERD_VERSION:-v2.4.2}
CNI_VERSION=${PULLFIX_E2E_CNI_VERSION:-v1.10.0}
CRANE_VERSION=${PULLFIX_E2E_CRANE_VERSION:-v0.22.1}
CACHE=${PULLFIX_E2E_CACHE:-$HOME/.cache/pullfix-e2e}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
WHAT=${1:-all}

log() { echo "e2e build: $*" >&2; }

[ -x "$GO" ] || { echo "e2e build: Go not found (looked for go on PATH and /usr/local/go/bin/go)" >&2; exit 2; }
case "$WHAT" in all|api) ;; *) echo "e2e build: unknown target '$WHAT' (all or api)" >&2; exit 2;; esac

export GOFLAGS=-mod=mod
export CGO_ENABLED=0
export GOTOOLCHAIN=local

kube_dir=$CACHE/$KUBE_VERSION
etcd_dir=$CACHE/etcd-$ETCD_VERSION
containerd_dir=$CACHE/containerd-$CONTAINERD_VERSION
cni_dir=$CACHE/cni-$CNI_VERSION
crane_dir=$CACHE/crane-$CRANE_VERSION
pause_dir=$CACHE/pause-1

kube_commands=(kube-apiserver)
[ "$WHAT" = api ] || kube_commands+=(kubelet kube-controller-manager kube-scheduler)

build_kube() {
  local work=$CACHE/src/kubernetes-$KUBE_VERSION
  local staging_version=v0.${KUBE_VERSION#v1.}
  local missing=("$@") pkgs=() c
  mkdir -p "$work" "$kube_dir"
  log "Kubernetes $KUBE_VERSION: ${missing[*]} (cold: about 20 minutes on 2 cores)"
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
  {
    echo '//go:build tools'
    echo
    echo 'package tools'
    echo
    for c in kube-apiserver kubelet kube-controller-manager kube-scheduler; do
      echo "import _ \"k8s.io/kubernetes/cmd/$c\""
    done
  } > "$work/tools.go"
  for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  rm -rf "$kube_dir/.tmp" && mkdir -p "$kube_dir/.tmp"
  (cd "$work" && "$GO" mod tidy >&2 && "$GO" build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) \
      -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" \
      -o "$kube_dir/.tmp/" "${pkgs[@]}" >&2)
  for c in "${missing[@]}"; do mv "$kube_dir/.tmp/$c" "$kube_dir/$c"; done
  rmdir "$kube_dir/.tmp"
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
  (cd "$work" && "$GO" mod tidy >&2 && "$GO" build -trimpath -ldflags "-s -w" -o "$etcd_dir/etcd.tmp" ./cmd/etcd >&2)
  mv "$etcd_dir/etcd.tmp" "$etcd_dir/etcd"
}

# go_install DIR LDFLAGS PACKAGE@VERSION...: `go install` into DIR (via a temporary GOBIN, so a
# half-built set never looks complete).
go_install() {
  local dir=$1 ldflags=$2
  shift 2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  GOBIN=$dir.tmp "$GO" install -trimpath -ldflags "-s -w $ldflags" "$@" >&2
  mkdir -p "$dir"
  mv "$dir.tmp"/* "$dir"/
  rmdir "$dir.tmp"
}

build_containerd() {
  log "containerd $CONTAINERD_VERSION (about 3 minutes)"
  local m=github.com/containerd/containerd/v2
  go_install "$containerd_dir" "-X $m/version.Version=$CONTAINERD_VERSION" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" \
    "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "$m/cmd/ctr@$CONTAINERD_VERSION"
}

build_cni() {
  log "CNI plugins $CNI_VERSION"
  local m=github.com/containernetworking/plugins
  go_install "$cni_dir" "" \
    "$m/plugins/main/bridge@$CNI_VERSION" \
    "$m/plugins/ipam/host-local@$CNI_VERSION" \
    "$m/plugins/main/loopback@$CNI_VERSION"
}

build_crane() {
  log "crane $CRANE_VERSION"
  go_install "$crane_dir" "" "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
}

build_pause() {
  log "pause (the sandbox image's program)"
  local work=$CACHE/src/pause-1
  mkdir -p "$work/cmd/pause" "$pause_dir"
  printf 'module pullfix.dev/e2e/pause\n\ngo 1.26\n' > "$work/go.mod"
  cat > "$work/cmd/pause/main.go" <<'GO'
// pause holds a pod sandbox's namespaces open: it sleeps until SIGINT or SIGTERM and reaps
// orphaned children, as the upstream pause container does.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	children := make(chan os.Signal, 16)
	signal.Notify(children, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-children:
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
GO
  (cd "$work" && "$GO" build -trimpath -ldflags "-s -w" -o "$pause_dir/pause.tmp" ./cmd/pause >&2)
  mv "$pause_dir/pause.tmp" "$pause_dir/pause"
}

start=$SECONDS
[ -x "$etcd_dir/etcd" ] || build_etcd
missing=()
for c in "${kube_commands[@]}"; do [ -x "$kube_dir/$c" ] || missing+=("$c"); done
[ ${#missing[@]} -eq 0 ] || build_kube "${missing[@]}"
if [ "$WHAT" = all ]; then
  [ -x "$containerd_dir/containerd" ] && [ -x "$containerd_dir/containerd-shim-runc-v2" ] || build_containerd
  [ -x "$cni_dir/bridge" ] && [ -x "$cni_dir/host-local" ] && [ -x "$cni_dir/loopback" ] || build_cni
  [ -x "$crane_dir/crane" ] || build_crane
  [ -x "$pause_dir/pause" ] || build_pause
fi
log "ready in $((SECONDS - start)) s (cache: $CACHE)"
echo "KUBE_APISERVER=$kube_dir/kube-apiserver"
echo "ETCD=$etcd_dir/etcd"
if [ "$WHAT" = all ]; then
  echo "KUBELET=$kube_dir/kubelet"
  echo "KUBE_CONTROLLER_MANAGER=$kube_dir/kube-controller-manager"
  echo "KUBE_SCHEDULER=$kube_dir/kube-scheduler"
  echo "CONTAINERD=$containerd_dir/containerd"
  echo "CONTAINERD_SHIM=$containerd_dir/containerd-shim-runc-v2"
  echo "CTR=$containerd_dir/ctr"
  echo "CNI_BIN_DIR=$cni_dir"
  echo "CRANE=$crane_dir/crane"
  echo "PAUSE=$pause_dir/pause"
fi
