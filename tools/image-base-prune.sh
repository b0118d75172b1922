#!/usr/bin/env bash
# image-base-prune.sh ROOT DEBS PACKAGE...: turns mmdebstrap's --variant=extract output in ROOT
# into the image's base layer (tools/build-image.sh). DEBS holds the .deb files apt fetched:
# the PACKAGEs asked for and their dependencies.
#
#  - removes the files of every package not asked for (openssl, libssl3, debconf: node carries
#    its own OpenSSL, and nothing runs maintainer scripts);
#  - removes apt, dpkg and mmdebstrap leftovers, manuals and documentation, keeping each
#    package's copyright file;
#  - records the kept packages in /var/lib/dpkg/status.d/ (as distroless does), so image
#    scanners can see them without a dpkg database;
#  - writes /etc/ssl/certs/ca-certificates.crt, which ca-certificates' postinst would have made;
#  - writes /etc/os-release (base-files is not installed), by which scanners tell the distribution;
#  - adds users root, nonroot (65532) and nobody, their groups and homes.
set -euo pipefail
root=$1 debs=$2
shift 2
keep=" $* "

[ -d "$root/usr" ] || { echo "image-base-prune: $root is not a root filesystem" >&2; exit 1; }

for deb in "$debs"/*.deb; do
  pkg=$(dpkg-deb --field "$deb" Package)
  if [[ "$keep" == *" $pkg "* ]]; then
    mkdir -p "$root/var/lib/dpkg/status.d"
    { dpkg-deb --field "$deb"; echo "Status: install ok installed"; } > "$root/var/lib/dpkg/status.d/$pkg"
    continue
  fi
  # Files and links only: directories may be shared with the packages kept.
  dpkg-deb --fsys-tarfile "$deb" | tar -t | while IFS= read -r f; do
    f=${f#./}
    [ -n "$f" ] || continue
    if [ -L "$root/$f" ] || [ -f "$root/$f" ]; then rm -f "$root/$f"; fi
  done
done

rm -rf "$root/etc/apt" "$root/etc/dpkg" "$root/var/lib/apt" "$root/var/cache/apt" "$root/var/log/apt" \
  "$root/var/cache/debconf" "$root/etc/debconf.conf" "$root/usr/share/debconf" "$root/usr/share/perl5" \
  "$root/usr/lib/ssl" "$root/etc/ssl/openssl.cnf" \
  "$root/usr/share/man" "$root/usr/share/lintian" "$root/usr/share/bash-completion" "$root/usr/share/gdb" \
  "$root/usr/share/pixmaps" "$root/usr/share/gcc" "$root/usr/sbin/update-ca-certificates" \
  "$root/etc/fstab" "$root/etc/hostname" "$root/etc/resolv.conf"
# The container runtime mounts /dev, /proc, /sys, /etc/hosts, /etc/hostname and /etc/resolv.conf.
find "$root/dev" -mindepth 1 -delete
find "$root/var/lib/dpkg" -mindepth 1 -maxdepth 1 ! -name status.d -exec rm -rf {} +
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -depth -type d -empty -delete
find "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/var" "$root/etc" -depth -type d -empty -delete
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/var/lib" "$root/etc/ssl/certs"

# What update-ca-certificates does with the default selection: every certificate the package
# ships, concatenated.
find "$root/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat > "$root/etc/ssl/certs/ca-certificates.crt"

suite=${DEBIAN_SUITE:-bookworm}
case "$suite" in bookworm) version_id=12 ;; trixie) version_id=13 ;; *) version_id= ;; esac
{
  echo "PRETTY_NAME=\"Debian GNU/Linux${version_id:+ $version_id} ($suite), pullfix base\""
  echo 'NAME="Debian GNU/Linux"'
  [ -z "$version_id" ] || echo "VERSION_ID=\"$version_id\""
  echo "VERSION_CODENAME=$suite"
  echo 'ID=debian'
  echo 'HOME_URL="https://www.debian.org/"'
} > "$root/etc/os-release"
chmod 0644 "$root/etc/os-release"

cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
  > "$root/etc/nsswitch.conf"
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/nsswitch.conf"
install -d -m 0700 "$root/root"
install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"
install -d -m 1777 "$root/tmp"
