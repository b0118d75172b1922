#!/usr/bin/env bash
# What the node suite needs from the host besides the Go-built binaries (build.sh), installed
# from Debian where missing (CI runs as root on Debian):
#   runc             the OCI runtime containerd's shim runs (from its Go module it needs cgo and
#                    libseccomp; Debian's is built with both)
#   docker-registry  the suite's registry (distribution 2.8; its access log is the pull counter)
#   busybox-static   a static busybox for the test images
# Exits non-zero, naming what is missing, when they cannot be installed.
set -euo pipefail
missing=()
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
[ -x /bin/busybox ] || missing+=(busybox-static)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "e2e host: installing ${missing[*]} from Debian" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  # The package starts a registry service where there is an init system; the suite runs its own.
  if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
    systemctl disable --now docker-registry >&2
  fi
else
  echo "e2e host: the node suite needs ${missing[*]} (Debian packages); install them as root" >&2
  exit 2
fi
