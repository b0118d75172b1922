// `--write` through a temporary file and a rename: a write that fails half-way (a full disk,
// simulated in the write path) leaves the original, byte for byte, and no temporary file.
import { expect } from 'chai';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFix } from '../../src/fix/run-fix.js';
import { REAL_FS, writeAtomically, type WriteFs } from '../../src/fix/write-files.js';

const ORIGINAL = [
  'apiVersion: v1',
  'kind: Pod',
  'metadata: {name: p}',
  'spec:',
  '  imagePullPolicy: Always',
  '  containers:',
  '  - name: a',
  '    image: a:1',
  '',
].join('\n');

/** The real calls, except that a write stops half-way through with ENOSPC once `after` bytes are down. */
function fullDiskAfter(after: number): WriteFs {
  let written = 0;
  return {
    ...REAL_FS,
    writeSync: (fd, buffer, offset, length) => {
      const room = after - written;
      if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = REAL_FS.writeSync(fd, buffer, offset, Math.min(length, room));
      written += n;
      return n;
    },
  };
}

describe('writing files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pullfix-write-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the original when the disk fills half-way, and leaves no temporary file', async () => {
    const file = path.join(dir, 'pod.yaml');
    fs.writeFileSync(file, ORIGINAL);
    const err: string[] = [];
    const io = { stdinIsTTY: true, readStdin: async () => new Uint8Array(), stdout: () => undefined, stderr: (t: string) => void err.push(t), fs: fullDiskAfter(40) };
    let thrown: unknown;
    try {
      await runFix({ files: [file], write: true }, io);
    } catch (e) {
      thrown = e;
    }
    expect((thrown as Error).message).to.equal(`${file}: cannot write: no space left on device; the file is left as it was`);
    expect(fs.readFileSync(file, 'utf8')).to.equal(ORIGINAL);
    expect(fs.readdirSync(dir)).to.deep.equal(['pod.yaml']);
    // And the stray is still there to be found.
    const out: string[] = [];
    const code = await runFix({ files: [file], check: true }, { ...io, stdout: (t: string) => void out.push(t) });
    expect(code).to.equal(1);
    expect(out.join('')).to.include('removed pod-level imagePullPolicy Always');
  });

  it('with followSymlinks, replaces the file through a rename, keeping its permission bits and the link that points to it', () => {
    const file = path.join(dir, 'real.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    fs.chmodSync(file, 0o640);
    fs.symlinkSync('real.yaml', path.join(dir, 'link.yaml'));
    writeAtomically(path.join(dir, 'link.yaml'), Buffer.from('a: 2\n'), REAL_FS, { followSymlinks: true });
    expect(fs.lstatSync(path.join(dir, 'link.yaml')).isSymbolicLink()).to.equal(true);
    expect(fs.readFileSync(file, 'utf8')).to.equal('a: 2\n');
    expect(fs.statSync(file).mode & 0o777).to.equal(0o640);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['link.yaml', 'real.yaml']);
  });
});
