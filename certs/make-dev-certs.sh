#!/usr/bin/env bash
# Make a throwaway CA and a pullfix serving certificate signed by it, for development,
# tests and the plain (no cert-manager) cluster install.
#
#   bash certs/make-dev-certs.sh OUTDIR [SERVICE] [NAMESPACE]
#
# SERVICE defaults to `pullfix`, NAMESPACE to `pullfix-system`. OUTDIR receives:
#   ca.crt, ca.key    the CA (ECDSA P-256, CA:TRUE, keyCertSign; 10 years)
#   tls.crt, tls.key  the serving pair (ECDSA P-256, serverAuth, 365 days), with SANs
#                     localhost, 127.0.0.1, SERVICE, SERVICE.NAMESPACE, SERVICE.NAMESPACE.svc
#                     and SERVICE.NAMESPACE.svc.cluster.local. The API server verifies
#                     SERVICE.NAMESPACE.svc (SPEC section 8).
#
# Rotation: when OUTDIR already holds ca.crt and ca.key, the CA is reused and only
# tls.crt/tls.key are issued again, with a new random serial. Run the script twice
# on the same OUTDIR to get a second serving certificate that verifies against the
# same CA (what the certificate-rotation tests need). Delete ca.* for a new CA.
#
# Each file is written beside its final name and renamed into place, so a process
# watching OUTDIR never reads a half-written file. Keys are 0600, certificates 0644.
# Needs only openssl (1.1.1 or 3.x); reads no system openssl.cnf.
set -euo pipefail

usage() {
  echo "usage: $0 OUTDIR [SERVICE] [NAMESPACE]" >&2
  exit 2
}

[[ $# -ge 1 && $# -le 3 ]] || usage
[[ "$1" != -* ]] || usage
out=$1
service=${2:-pullfix}
namespace=${3:-pullfix-system}

command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found on PATH" >&2; exit 1; }

mkdir -p "$out"
work=$(mktemp -d "$out/.make-dev-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/openssl.log

# Run openssl quietly; on failure show what it said.
ossl() {
  if ! openssl "$@" >>"$log" 2>&1; then
    echo "$0: openssl $1 failed:" >&2
    cat "$log" >&2
    exit 1
  fi
}

new_key() { # new_key FILE: an ECDSA P-256 key in PKCS#8 PEM, mode 0600
  (umask 077 && ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1")
}

serial() { # a random positive serial (124 random bits), so every issued certificate differs
  printf '0x%s\n' "$(openssl rand -hex 16 | sed 's/^./7/')"
}

cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = @sans
[sans]
DNS.1 = localhost
IP.1 = 127.0.0.1
DNS.2 = ${service}
DNS.3 = ${service}.${namespace}
DNS.4 = ${service}.${namespace}.svc
DNS.5 = ${service}.${namespace}.svc.cluster.local
EOF

ca_note="new CA"
if [[ -f "$out/ca.crt" && -f "$out/ca.key" ]]; then
  # Reuse the CA, but only if its key really belongs to its certificate.
  ca_pub=$(openssl x509 -in "$out/ca.crt" -noout -pubkey 2>/dev/null) || { echo "$0: $out/ca.crt is not a certificate" >&2; exit 1; }
  key_pub=$(openssl pkey -in "$out/ca.key" -pubout 2>/dev/null) || { echo "$0: $out/ca.key is not a private key" >&2; exit 1; }
  [[ "$ca_pub" == "$key_pub" ]] || { echo "$0: $out/ca.key does not match $out/ca.crt; delete both for a new CA" >&2; exit 1; }
  ca_note="existing CA reused"
elif [[ -e "$out/ca.crt" || -e "$out/ca.key" ]]; then
  echo "$0: $out has only one of ca.crt and ca.key; delete it for a new CA" >&2
  exit 1
else
  new_key "$work/ca.key"
  ossl req -new -x509 -config "$work/openssl.cnf" -key "$work/ca.key" \
    -subj "/O=pullfix development/CN=pullfix development CA" \
    -extensions ca_ext -days 3650 -set_serial "$(serial)" -sha256 -out "$work/ca.crt"
  chmod 0644 "$work/ca.crt"
  mv -f "$work/ca.key" "$out/ca.key"
  mv -f "$work/ca.crt" "$out/ca.crt"
fi

new_key "$work/tls.key"
ossl req -new -config "$work/openssl.cnf" -key "$work/tls.key" \
  -subj "/O=pullfix development/CN=${service}.${namespace}.svc" -sha256 -out "$work/tls.csr"
ossl x509 -req -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
  -set_serial "$(serial)" -days 365 -sha256 \
  -extfile "$work/openssl.cnf" -extensions leaf_ext -out "$work/tls.crt"
chmod 0644 "$work/tls.crt"
# Key first: a watcher that sees the new certificate also finds its key in place.
mv -f "$work/tls.key" "$out/tls.key"
mv -f "$work/tls.crt" "$out/tls.crt"

echo "pullfix dev certificates for ${service}.${namespace}.svc in ${out} (${ca_note})"
