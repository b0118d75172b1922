// Imports run one way (STYLE): cli → server → admission → engine, cluster → engine, and the
// offline users (fix, krm, audit, policy) → engine; audit → registry (the registry client, which
// imports nothing of pullfix's own but util). A module may import from its own folder,
// from the folders listed for it, and from util; never the other way round.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { repoPath } from './helpers/fixtures.js';

const ALLOWED: Record<string, readonly string[]> = {
  engine: [],
  util: ['engine'],
  config: ['engine', 'util'],
  admission: ['engine', 'util'],
  cluster: ['engine', 'util'],
  server: ['admission', 'cluster', 'config', 'engine', 'util'],
  fix: ['engine', 'config', 'util'],
  krm: ['fix', 'engine', 'config', 'util'],
  registry: ['util'],
  audit: ['engine', 'config', 'registry', 'util'],
  policy: ['engine', 'util'],
  cli: ['server', 'admission', 'cluster', 'config', 'engine', 'fix', 'krm', 'audit', 'policy', 'util'],
};

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The src folders a module's relative imports reach, other than its own. */
export function foldersImported(source: string, own: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(IMPORT)) {
    const name = m[1] ?? m[2] ?? '';
    const up = /^\.\.\/([a-z-]+)\//.exec(name);
    if (up && up[1] !== own) out.add(up[1]!);
    if (name.startsWith('../../')) out.add('(outside src)');
  }
  return [...out];
}

describe('layering: imports run one way', () => {
  const folders = readdirSync(repoPath('src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

  it('every src folder has a rule', () => {
    expect(folders.filter((f) => !(f in ALLOWED))).to.deep.equal([]);
  });

  for (const folder of folders) {
    it(`src/${folder} imports only ${ALLOWED[folder]?.join(', ') || 'itself'}`, () => {
      for (const file of readdirSync(repoPath('src', folder)).filter((f) => f.endsWith('.ts'))) {
        const reached = foldersImported(readFileSync(repoPath('src', folder, file), 'utf8'), folder);
        for (const other of reached) expect(ALLOWED[folder], `src/${folder}/${file} imports src/${other}`).to.include(other);
      }
    });
  }

  it('the checker sees an import against the direction', () => {
    const sample = "import { createApp } from '../server/app.js';\nimport type { Engine } from '../engine/mutate.js';\nimport { x } from './local.js';";
    expect(foldersImported(sample, 'admission')).to.deep.equal(['server', 'engine']);
  });
});
