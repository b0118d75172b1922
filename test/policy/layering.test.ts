// The generator is pure (config in, YAML out): no file, network or process access, no server,
// no Kubernetes client; it reads the engine (kind table, grammar, labels) and nothing above it.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { repoPath } from '../helpers/fixtures.js';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/g;
const ALLOWED = /^(\.\/[^/]+\.js|\.\.\/engine\/[^/]+\.js|\.\.\/util\/user-error\.js|yaml)$/;

describe('policy layering', () => {
  const dir = repoPath('src', 'policy');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it('has modules to check', () => {
    expect(files).to.include.members(['build-policy.ts', 'expressions.ts', 'image-class-cel.ts']);
  });

  for (const file of files) {
    it(`${file} imports only the engine, its own modules and the YAML library`, () => {
      const imports = [...readFileSync(`${dir}/${file}`, 'utf8').matchAll(IMPORT)].map((m) => m[1] as string);
      for (const name of imports) expect(ALLOWED.test(name), `${file} imports ${name}`).to.equal(true);
    });
  }

  it('the checker refuses a server or file import', () => {
    expect(['../server/app.js', 'node:fs', '@kubernetes/client-node'].filter((n) => ALLOWED.test(n))).to.deep.equal([]);
  });
});
