// A config file's `mutableTags` over the size bounds is a start-up error naming the file and the
// field (docs/configuration.md), read from a real file as `serve --config` and `fix --config` do.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigFile } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/engine/errors.js';

const REPORTED = Array.from({ length: 100 }, () => '(?:[a-z]?){1000}').join('|');

describe('config file: mutableTags bounds', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function load(mutableTags: string): unknown {
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, `mode: default\nmutableTags: '${mutableTags}'\n`);
    try {
      return loadConfigFile(file);
    } catch (err) {
      return err;
    }
  }

  it('refuses the reported 1.7 KB pattern, naming the file and the field', () => {
    const err = load(REPORTED);
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.equal(`${path.join(dir, 'config.yaml')}: mutableTags: too long (1699 characters, at most 1024)`);
  });

  it('refuses a short pattern that expands past 192 instructions', () => {
    const err = load('^(?:[a-z]?){1000}$');
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.equal(`${path.join(dir, 'config.yaml')}: mutableTags: too large (~2004 RE2 instructions, at most 192)`);
  });

  it('takes a pattern just under the bounds', () => {
    expect(load('(?:[a-z]?){95}')).to.deep.include({ mutableTags: '(?:[a-z]?){95}' });
  });
});
