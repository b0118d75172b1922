// `fix --write` and symbolic links (README "`pullfix fix`"): a link inside the tree it was given
// that points to a file outside it. Before, `--write` replaced the file the link points to,
// silently; now it says so on standard error, leaves both alone and exits 1 (the link's
// findings are still there), unless `--follow-symlinks` asks it to write through. Reading
// through a link (printing, `--check`) is as before. Real files and real links in a
// temporary directory.
import { expect } from 'chai';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FixError } from '../../src/fix/fix-error.js';
import { runFix, type FixIO, type FixOptions } from '../../src/fix/run-fix.js';
import { writeAtomically } from '../../src/fix/write-files.js';

const ORIGINAL = ['apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  imagePullPolicy: Always', '  containers:', '  - name: a', '    image: a:1', ''].join('\n');
const FIXED = ['apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  containers:', '  - name: a', '    image: a:1', '    imagePullPolicy: Always', ''].join('\n');
const CLEAN = ['apiVersion: v1', 'kind: Pod', 'metadata: {name: q}', 'spec:', '  containers:', '  - name: a', '    image: a:1', ''].join('\n');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function fix(options: FixOptions): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const io: FixIO = { stdinIsTTY: true, readStdin: async () => new Uint8Array(), stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  const code = await runFix(options, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('fix --write and symbolic links', () => {
  let root: string;
  let tree: string;
  let outside: string;
  let target: string;
  let link: string;
  let plain: string;
  let targetBytes: Buffer;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pullfix-links-'));
    tree = path.join(root, 'tree');
    outside = path.join(root, 'outside');
    fs.mkdirSync(tree);
    fs.mkdirSync(outside);
    target = path.join(outside, 'pod.yaml');
    fs.writeFileSync(target, ORIGINAL);
    fs.chmodSync(target, 0o640);
    targetBytes = fs.readFileSync(target);
    link = path.join(tree, 'linked.yaml');
    fs.symlinkSync('../outside/pod.yaml', link);
    plain = path.join(tree, 'plain.yaml');
    fs.writeFileSync(plain, ORIGINAL);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('does not write through a link to a file outside the tree: says so, exits 1, writes the rest', async () => {
    const result = await fix({ files: [link, plain], write: true });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.equal(
      `pullfix: ${link}: a symbolic link (to ../outside/pod.yaml): not written; --follow-symlinks writes through it\n` +
        `fixed ${plain}: 1 container policy set, 1 pod-level imagePullPolicy removed\n`,
    );
    expect(fs.readFileSync(target).equals(targetBytes), 'the file the link points to keeps its bytes').to.equal(true);
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(fs.readlinkSync(link)).to.equal('../outside/pod.yaml');
    expect(fs.readFileSync(plain, 'utf8')).to.equal(FIXED);
    expect(fs.readdirSync(outside)).to.deep.equal(['pod.yaml']);
    expect(fs.readdirSync(tree).sort()).to.deep.equal(['linked.yaml', 'plain.yaml']);
  });

  it('exits 1 and writes nothing when the only file is a link', async () => {
    const result = await fix({ files: [link], write: true });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.equal(`pullfix: ${link}: a symbolic link (to ../outside/pod.yaml): not written; --follow-symlinks writes through it\n`);
    expect(fs.readFileSync(target).equals(targetBytes)).to.equal(true);
  });

  it('with --follow-symlinks writes the file the link points to, keeping the link and the permission bits', async () => {
    const result = await fix({ files: [link], write: true, followSymlinks: true });
    expect(result.code).to.equal(0);
    expect(result.stderr).to.equal(`fixed ${link}: 1 container policy set, 1 pod-level imagePullPolicy removed\n`);
    expect(fs.readFileSync(target, 'utf8')).to.equal(FIXED);
    expect(fs.statSync(target).mode & 0o777).to.equal(0o640);
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(fs.readlinkSync(link)).to.equal('../outside/pod.yaml');
    expect(fs.readdirSync(outside)).to.deep.equal(['pod.yaml']);
    expect(fs.readdirSync(tree).sort()).to.deep.equal(['linked.yaml', 'plain.yaml']);
  });

  it('says nothing about a link whose file needs no change', async () => {
    fs.writeFileSync(target, CLEAN);
    const result = await fix({ files: [link], write: true });
    expect(result).to.deep.equal({ code: 0, stdout: '', stderr: '' });
    expect(fs.readFileSync(target, 'utf8')).to.equal(CLEAN);
  });

  it('still reads through a link: printing and --check are as before', async () => {
    const printed = await fix({ files: [link] });
    expect(printed).to.deep.equal({ code: 0, stdout: FIXED, stderr: '' });
    const checked = await fix({ files: [link], check: true });
    expect(checked.code).to.equal(1);
    expect(checked.stdout).to.include(`${link}:5: removed pod-level imagePullPolicy Always`);
    expect(fs.readFileSync(target).equals(targetBytes)).to.equal(true);
  });

  it('refuses to write through a link at the lowest level too, unless told to follow it', () => {
    let thrown: unknown;
    try {
      writeAtomically(link, Buffer.from(FIXED));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(FixError);
    expect((thrown as Error).message).to.equal(`${link}: a symbolic link (to ../outside/pod.yaml): not written; --follow-symlinks writes through it`);
    expect(fs.readFileSync(target).equals(targetBytes)).to.equal(true);
    writeAtomically(link, Buffer.from(FIXED), undefined, { followSymlinks: true });
    expect(fs.readFileSync(target, 'utf8')).to.equal(FIXED);
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
  });
});
