#!/usr/bin/env bash
# Builds the kubectl plugin's release tarball (`make plugin-release`), the archive krew installs:
#
#   kubectl-pullfix   the launcher: `node` from PATH runs dist/src/cli/kubectl-pullfix.js next to
#                     it, wherever krew links it from (it resolves its own symlink)
#   package.json      "type": "module", so node loads dist/ as ES modules
#   node_modules/     the production dependencies: `npm ci --omit=dev --ignore-scripts` from the
#                     lockfile (pure JavaScript: one archive serves every OS and architecture)
#   dist/src/         the compiled CLI (`make build` first)
#
# A reproducible tar (sorted names, numeric owners, mtimes at SOURCE_DATE_EPOCH, default the last
# commit's time; gzip without a name or time), so the same inputs give the same sha256.
#
# Settings (environment): RELEASE_OUT, the output directory (default .run/release).
# Prints the tarball's path on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

die() { echo "plugin-tarball: $*" >&2; exit 1; }

[ -f dist/src/cli/kubectl-pullfix.js ] || die "dist/src/cli/kubectl-pullfix.js missing: run make build first"
version=$(node -p 'require("./package.json").version')
out=${RELEASE_OUT:-$root/.run/release}
mkdir -p "$out"
out=$(cd "$out" && pwd)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

work=$(mktemp -d "${TMPDIR:-/tmp}/pullfix-plugin.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
mkdir -p "$stage/dist"

cp package.json package-lock.json "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
rm "$stage/package-lock.json"
cp -R dist/src "$stage/dist/src"
# Source maps point at src/, which is not shipped.
find "$stage/dist" -name '*.js.map' -delete

# Valid as an ES module and as CommonJS (node picks by package.json's "type" and its version):
# no import/require statements, only dynamic import().
cat > "$stage/kubectl-pullfix" <<'EOF'
#!/usr/bin/env node
// kubectl-pullfix: `kubectl pullfix ...` (krew links this file onto PATH). Runs the CLI next to
// this file's real path with the node found on PATH (Node.js 20.9 or newer).
(async () => {
  const { realpathSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const here = dirname(realpathSync(process.argv[1]));
  await import(pathToFileURL(join(here, 'dist', 'src', 'cli', 'kubectl-pullfix.js')).href);
})().catch((err) => {
  process.stderr.write(`kubectl-pullfix: ${err && err.message ? err.message : err}\n`);
  process.exit(2);
});
EOF
chmod 0755 "$stage/kubectl-pullfix"

tarball=$out/kubectl-pullfix-$version.tar.gz
tar -C "$stage" --create --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --sort=name --numeric-owner --owner=0 --group=0 --mode=go-w,a+rX --mtime="@$SOURCE_DATE_EPOCH" \
  kubectl-pullfix package.json dist node_modules | gzip -n -9 > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "plugin-tarball: $tarball ($(($(stat -c %s "$tarball") / 1024)) KiB)" >&2
echo "$tarball"
