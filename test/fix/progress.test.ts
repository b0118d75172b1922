// Progress of `fix` over many files (src/fix/progress.ts): shown only to a person at a terminal.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROGRESS_INTERVAL_MS, PROGRESS_MIN_FILES, progressLine, wantsProgress } from '../../src/fix/progress.js';
import { CLI } from '../helpers/run-cli.js';

describe('fix progress', () => {
  const cases: [string, boolean, number, string | undefined, boolean][] = [
    ['a terminal, many files', true, PROGRESS_MIN_FILES, 'xterm-256color', true],
    ['a terminal, few files', true, PROGRESS_MIN_FILES - 1, 'xterm', false],
    ['not a terminal (a pipe, a file, CI)', false, 10_000, 'xterm', false],
    ['a dumb terminal, which cannot rewrite a line', true, 10_000, 'dumb', false],
    ['a terminal with no TERM set', true, 10_000, undefined, true],
  ];
  for (const [what, tty, files, term, want] of cases) {
    it(`${want ? 'shows' : 'does not show'} progress: ${what}`, () => {
      expect(wantsProgress(tty, files, term)).to.equal(want);
    });
  }

  it('rewrites one line at most once per interval, always the last count, and clears it', () => {
    const written: string[] = [];
    let clock = 0;
    const p = progressLine(4, (t) => written.push(t), () => clock);
    p.tick(); // shown: the first
    clock += PROGRESS_INTERVAL_MS - 1;
    p.tick(); // too soon
    clock += 1;
    p.tick(); // an interval since the first
    p.tick(); // the last: always shown
    p.done();
    expect(written).to.deep.equal(['\rpullfix: fixing 1/4 files', '\rpullfix: fixing 3/4 files', '\rpullfix: fixing 4/4 files', '\r\x1b[K']);
  });

  it('prints nothing extra on standard error when it is not a terminal, however many files', function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-progress-'));
    try {
      for (let i = 0; i < PROGRESS_MIN_FILES * 2; i++) writeFileSync(path.join(dir, `s${i}.yaml`), `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}}\n`);
      // A terminal's TERM, but standard error is a pipe here.
      const r = spawnSync(process.execPath, [CLI, 'fix', '--check', dir], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } });
      expect(r.status).to.equal(0);
      expect(r.stderr).to.equal('');
      expect(r.stdout).to.equal('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
