// Shell completion through the real shells: the script `pullfix completion bash` prints, loaded
// into a real bash, driven as bash drives it (COMP_WORDS, COMP_CWORD, the completion function),
// calling the built CLI linked on PATH as npm links it; zsh and fish parse their scripts; kubectl
// completes `kubectl pullfix` through kubectl_complete-pullfix.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoPath } from '../helpers/fixtures.js';
import { CLI } from '../helpers/run-cli.js';

const has = (command: string, args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

describe('pullfix completion', function () {
  this.timeout(60_000);
  let bin = '';
  let work = '';
  let env: NodeJS.ProcessEnv = {};

  before(() => {
    bin = mkdtempSync(path.join(tmpdir(), 'pullfix-completion-'));
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { bin: Record<string, string> };
    // What npm does for each `bin` entry: make the target executable, link it into PATH; and
    // kubectl_complete-pullfix, linked as docs/cli.md says.
    const links = { ...pkg.bin, 'kubectl_complete-pullfix': 'dist/src/cli/kubectl-complete-pullfix.js' };
    for (const [name, target] of Object.entries(links)) {
      chmodSync(repoPath(target), 0o755);
      symlinkSync(repoPath(target), path.join(bin, name));
    }
    // A directory to complete file names in.
    work = path.join(bin, 'work');
    mkdirSync(path.join(work, 'manifests'), { recursive: true });
    writeFileSync(path.join(work, 'deploy.yaml'), 'kind: List\n');
    writeFileSync(path.join(work, 'config.yaml'), 'mode: default\n');
    env = { PATH: [bin, path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter), HOME: bin };
  });

  after(() => {
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  function script(shell: string): string {
    const r = spawnSync(process.execPath, [CLI, 'completion', shell], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    return r.stdout;
  }

  /** Candidates bash offers for COMP_WORDS = `words`, the cursor in the last word. */
  function bash(words: string[]): string[] {
    const file = path.join(bin, 'pullfix.bash');
    writeFileSync(file, script('bash'));
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const program = `source ${file}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}\n_pullfix\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`;
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', program], { encoding: 'utf8', env, cwd: work });
    expect(r.status, r.stderr).to.equal(0);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  describe('bash', () => {
    it('registers _pullfix for the pullfix command', () => {
      const file = path.join(bin, 'register.bash');
      writeFileSync(file, script('bash'));
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source ${file}; complete -p pullfix`], { encoding: 'utf8', env });
      expect(r.stdout).to.equal('complete -o default -F _pullfix pullfix\n');
    });

    const cases: Array<[string, string[], string[]]> = [
      ['commands', ['pullfix', ''], ['serve', 'fix', 'audit', 'krm', 'policy', 'version', 'completion']],
      ['a command by its first letter', ['pullfix', 'f'], ['fix']],
      ['flags of fix', ['pullfix', 'fix', '--c'], ['--check', '--config']],
      ['-o values of audit', ['pullfix', 'audit', '-o', ''], ['table', 'json', 'yaml', 'report']],
      ['--output values after other flags', ['pullfix', 'audit', '-n', 'shop', '--output', 'j'], ['json']],
      ['--log-level values of serve', ['pullfix', 'serve', '--log-level', ''], ['debug', 'info', 'warn', 'error']],
      ['--mode values of fix (the engine modes)', ['pullfix', 'fix', '--mode', 'e'], ['enforce']],
      // bash splits at `=`: COMP_WORDS holds `--dry-run`, `=`, then what follows.
      ['--dry-run= values', ['pullfix', 'audit', '--fix', '--dry-run', '='], ['server', 'client', 'none']],
      ['--dry-run=cl', ['pullfix', 'audit', '--fix', '--dry-run', '=', 'cl'], ['client']],
      ['the shells of completion', ['pullfix', 'completion', ''], ['bash', 'zsh', 'fish']],
      ['policy -o values', ['pullfix', 'policy', '-o', ''], ['yaml', 'json']],
      ['kubectl flags of audit', ['pullfix', 'audit', '--k'], ['--kubeconfig']],
      ['file names for a file flag', ['pullfix', 'fix', '--config', 'c'], ['config.yaml']],
      ['file names for file arguments', ['pullfix', 'fix', '--check', 'd'], ['deploy.yaml']],
      ['directories for file arguments', ['pullfix', 'fix', 'm'], ['manifests']],
      ['no file names where the command takes none', ['pullfix', 'audit', '-n', 'shop', 'd'], []],
      ['nothing for a free value (a namespace)', ['pullfix', 'audit', '-n', ''], []],
    ];
    for (const [what, words, expected] of cases) {
      it(`${what}: ${words.join(' ')}<TAB>`, () => {
        expect(bash(words)).to.deep.equal(expected);
      });
    }
  });

  describe('zsh and fish', () => {
    it('prints a zsh script that completes pullfix through pullfix __complete', () => {
      const text = script('zsh');
      expect(text).to.match(/^#compdef pullfix\n/);
      expect(text).to.include('compdef _pullfix pullfix');
      expect(text).to.include('__complete');
    });

    it('prints a fish script that completes pullfix through pullfix __complete', () => {
      const text = script('fish');
      expect(text).to.include("complete -c pullfix -f -a '(__pullfix_complete)'");
      expect(text).to.include('__complete');
    });

    it('zsh parses its script (zsh -n)', function () {
      if (!has('zsh', ['--version'])) return this.skip();
      const file = path.join(bin, '_pullfix');
      writeFileSync(file, script('zsh'));
      const r = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
    });

    it('zsh completes with it: pullfix audit -o <TAB>', function () {
      if (!has('zsh', ['--version'])) return this.skip();
      const file = path.join(bin, '_pullfix');
      writeFileSync(file, script('zsh'));
      // compadd is zsh's; outside the line editor a stand-in records what the function offers.
      const program = [
        'compdef() { :; }',
        `source ${file}`,
        'compadd() { shift 2; print -l -- "$@"; }',
        '_files() { print -- FILES; }',
        'words=(pullfix audit -o ""); CURRENT=4; _pullfix',
        'words=(pullfix fix --config ""); CURRENT=4; _pullfix',
      ].join('\n');
      const r = spawnSync('zsh', ['-f', '-c', program], { encoding: 'utf8', env });
      expect(r.stdout.split('\n').filter((l) => l !== '')).to.deep.equal(['table', 'json', 'yaml', 'report', 'FILES']);
    });

    it('fish parses its script (fish -n)', function () {
      if (!has('fish', ['--version'])) return this.skip();
      const file = path.join(bin, 'pullfix.fish');
      writeFileSync(file, script('fish'));
      const r = spawnSync('fish', ['-n', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
    });

    it('fish completes with it: pullfix audit --out<TAB>, pullfix serve --log-level <TAB>', function () {
      if (!has('fish', ['--version'])) return this.skip();
      const file = path.join(bin, 'pullfix.fish');
      writeFileSync(file, script('fish'));
      const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C 'pullfix audit --out'; complete -C 'pullfix serve --log-level '`], { encoding: 'utf8', env });
      // fish sorts what it offers.
      expect(r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0])).to.deep.equal(['--output', 'debug', 'error', 'info', 'warn']);
    });
  });

  it('refuses a shell it has no script for, naming the choices', () => {
    const r = spawnSync(process.execPath, [CLI, 'completion', 'tcsh'], { encoding: 'utf8' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.equal("error: command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.\nSee 'pullfix completion --help' for usage.\n");
  });

  describe('kubectl pullfix <TAB> (kubectl_complete-pullfix)', () => {
    const kubectl = process.env['KUBECTL'] ?? 'kubectl';

    it('answers as cobra programs do: candidates, then :directive', () => {
      const r = spawnSync(path.join(bin, 'kubectl_complete-pullfix'), ['audit', '-o', ''], { encoding: 'utf8', env });
      expect(r.stdout).to.equal('table\njson\nyaml\nreport\n:4\n');
    });

    it('the real kubectl completes the plugin through it', function () {
      if (!has(kubectl, ['version', '--client'])) return this.skip();
      const run = (words: string[]): string[] => {
        const r = spawnSync(kubectl, ['__complete', 'pullfix', ...words], { encoding: 'utf8', env: { ...env, KUBECONFIG: path.join(bin, 'none') } });
        return r.stdout.split('\n').filter((l) => l !== '');
      };
      expect(run(['f'])).to.deep.equal(['fix', ':4']);
      expect(run(['audit', '--dry-run='])).to.deep.equal(['--dry-run=server', '--dry-run=client', '--dry-run=none', ':4']);
      // No candidates and no NoFileComp directive: kubectl lets the shell complete file names.
      expect(run(['fix', '--config', ''])).to.deep.equal([':0']);
    });
  });
});
