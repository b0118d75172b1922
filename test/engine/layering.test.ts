// The engine is pure (STYLE §1): no framework, no Kubernetes client, no file or network access.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { repoPath } from '../helpers/fixtures.js';

const FORBIDDEN = /^(node:)?(fs|fs\/promises|net|http|https|http2|tls|dgram|child_process)$|^express$|^@kubernetes\/client-node|^pino$|^prom-client$/;
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('engine layering', () => {
  const dir = repoPath('src', 'engine');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it('has modules to check', () => {
    expect(files).to.include.members(['mutate.ts', 'image-reference.ts', 'config.ts']);
  });

  for (const file of files) {
    it(`${file} imports only pure modules`, () => {
      const source = readFileSync(`${dir}/${file}`, 'utf8');
      const imports = [...source.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
      for (const name of imports) {
        expect(FORBIDDEN.test(name as string), `${file} imports ${name}`).to.equal(false);
        if ((name as string).startsWith('.')) expect(name, `${file} leaves the engine`).to.match(/^\.\/[^/]+\.js$/);
      }
    });
  }

  it('the checker itself catches a forbidden import', () => {
    const sample = "import express from 'express';\nimport { readFileSync } from 'node:fs';\nimport { x } from '../server/app.js';";
    const names = [...sample.matchAll(IMPORT)].map((m) => m[1]);
    expect(names.filter((n) => FORBIDDEN.test(n as string))).to.deep.equal(['express', 'node:fs']);
  });
});
