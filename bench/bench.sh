#!/usr/bin/env bash
# Runs the benchmark (`make bench`, after `make build`). Installs what it needs that npm does
# not: h2load (Debian's nghttp2-client) for the load and openssl for the certificates. Without
# root or apt-get, the load comes from autocannon (a devDependency) instead.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing ${missing[*]}" >&2
    if ! { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
      echo "bench: could not install ${missing[*]}" >&2
    fi
  else
    echo "bench: ${missing[*]} missing and not installable here (needs root and apt-get)" >&2
  fi
fi
command -v openssl >/dev/null 2>&1 || { echo "bench: openssl is needed for the certificates" >&2; exit 1; }
command -v h2load >/dev/null 2>&1 || echo "bench: no h2load; the load comes from autocannon" >&2

# pullfix fix on 10,000 and 50,000 documents and on 50 MB, krm on a 50 MB ResourceList: time and
# peak RSS (bench/fix.ts); its figures go to run.js, which judges them against the targets.
BENCH_FIX_OUT=$(mktemp)
export BENCH_FIX_OUT
trap 'rm -f "$BENCH_FIX_OUT"' EXIT
if [[ ${BENCH_FIX:-1} != 0 ]]; then node dist/bench/fix.js; fi
node dist/bench/run.js "$@"
