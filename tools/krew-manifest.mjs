#!/usr/bin/env node
// Writes the krew plugin manifest of `kubectl pullfix` (`make plugin-release`): krew's index format
// (krew.googlecontainertools.github.com/v1alpha2 Plugin), for the release tarball that
// tools/plugin-tarball.sh builds. The sha256 is the tarball's own; the uri is where the release
// publishes it. One archive serves Linux and macOS on amd64 and arm64: it is JavaScript run by the
// node on PATH, which the caveats say.
//
// Usage: node tools/krew-manifest.mjs --tarball FILE --uri-base URL [--out FILE]
//   exit 0 written (stdout without --out); exit 2 bad input
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: krew-manifest.mjs --tarball FILE --uri-base URL [--out FILE]';

function fail(message) {
  process.stderr.write(`krew-manifest: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!['--tarball', '--uri-base', '--out'].includes(flag)) fail(`unknown argument '${flag}': ${USAGE}`);
    if (value === undefined || value.startsWith('--')) fail(`${flag} needs a value: ${USAGE}`);
    opts[flag.slice(2)] = value;
    i++;
  }
  if (!opts.tarball) fail(`--tarball is required: ${USAGE}`);
  if (!opts['uri-base']) fail(`--uri-base is required: ${USAGE}`);
  if (!/^https?:\/\/\S+$/.test(opts['uri-base'])) fail(`--uri-base: must be an http(s) URL, got '${opts['uri-base']}'`);
  if (!existsSync(opts.tarball)) fail(`--tarball: ${opts.tarball} not found (make plugin-release builds it)`);
  return opts;
}

export function manifest({ tarball, uriBase }) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const chart = readFileSync(path.join(root, 'charts', 'pullfix', 'Chart.yaml'), 'utf8');
  const homepage = /^home:\s*(\S+)/m.exec(chart)?.[1] ?? 'https://github.com/pullfix/pullfix';
  const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  const nodeRange = pkg.engines?.node ?? '>=20';
  return {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'pullfix' },
    spec: {
      version: `v${pkg.version}`,
      homepage,
      shortDescription: 'Fix imagePullPolicy in manifests and clusters',
      description: [
        'pullfix keeps container image pull policies right. `kubectl pullfix fix` repairs',
        'manifests: it moves a stray pod-level imagePullPolicy into the containers and applies',
        'a policy per image class (mutable tags, fixed tags, digests). `kubectl pullfix audit`',
        'lists live workloads that break their namespace policy, and with --stale the pods',
        'running a build their tag no longer points to. `kubectl pullfix policy` prints the',
        'same rules as a MutatingAdmissionPolicy, for clusters without the webhook.',
        '',
      ].join('\n'),
      caveats: [
        `This plugin is JavaScript: it needs Node.js ${nodeRange.replace(/^>=/, '')} or newer as \`node\` on PATH`,
        '(https://nodejs.org). `kubectl pullfix version` shows the node it runs with.',
        '',
      ].join('\n'),
      platforms: [
        {
          selector: {
            matchExpressions: [
              { key: 'os', operator: 'In', values: ['linux', 'darwin'] },
              { key: 'arch', operator: 'In', values: ['amd64', 'arm64'] },
            ],
          },
          uri: `${uriBase.replace(/\/$/, '')}/${path.basename(tarball)}`,
          sha256,
          files: [
            { from: 'kubectl-pullfix', to: '.' },
            { from: 'package.json', to: '.' },
            { from: 'dist', to: '.' },
            { from: 'node_modules', to: '.' },
          ],
          bin: 'kubectl-pullfix',
        },
      ],
    },
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const text = stringify(manifest({ tarball: opts.tarball, uriBase: opts['uri-base'] }), { lineWidth: 0 });
  if (opts.out) {
    writeFileSync(opts.out, text);
    process.stderr.write(`krew-manifest: wrote ${opts.out}\n`);
  } else {
    process.stdout.write(text);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
