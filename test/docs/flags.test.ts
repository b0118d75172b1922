// Every flag the README and docs/ show on a pullfix command line exists on that command: the
// documented usage is checked against the built CLI's own --help, so a renamed or removed flag
// fails here instead of in a user's terminal.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { repoPath } from '../helpers/fixtures.js';

const CLI = repoPath('dist/src/cli/main.js');
const PAGES = ['README.md', ...readdirSync(repoPath('docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The commands pullfix has, read from its top-level help. */
function commands(): string[] {
  const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
}

/** The flags (long and short) one command's --help lists. */
function flagsOf(command: string): Set<string> {
  const help = execFileSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
  return new Set([...help.matchAll(/(?<![\w-])(--?[a-zA-Z][\w-]*)/g)].map((m) => m[1] as string));
}

interface Use {
  page: string;
  line: number;
  command: string;
  flag: string;
}

/**
 * `pullfix CMD …`, `kubectl pullfix CMD …`, `node dist/src/cli/main.js CMD …`: the flags that
 * follow, up to the end of that command (a pipe, `;`, `&&`, a closing backtick, a table cell).
 */
function documentedUses(names: readonly string[]): Use[] {
  const uses: Use[] = [];
  const start = new RegExp(`(?:^|[\\s\`'"(])(?:pullfix|dist/src/cli/main\\.js)\\s+(${names.join('|')})\\b`, 'g');
  for (const page of PAGES) {
    readFileSync(repoPath(page), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        for (const m of text.matchAll(start)) {
          const rest = text.slice((m.index ?? 0) + m[0].length).split(/\||;|&&|`|\s#\s/)[0] ?? '';
          for (const f of rest.matchAll(/(?<=^|\s|\[)(--?[a-zA-Z][\w-]*)/g)) {
            uses.push({ page, line: i + 1, command: m[1] as string, flag: f[1] as string });
          }
        }
      });
  }
  return uses;
}

describe('docs: flags on documented command lines', () => {
  const names = commands();
  const known = new Map(names.map((c) => [c, flagsOf(c)]));
  const uses = documentedUses(names);

  it('finds the commands and documented command lines to check', () => {
    expect(names).to.include.members(['serve', 'fix', 'audit', 'krm', 'policy', 'version']);
    expect(uses.length).to.be.at.least(30);
  });

  it('every documented flag exists on its command', () => {
    // A page may show a mistyped flag on purpose, with the error pullfix prints for it.
    const shownAsUnknown = (u: Use): boolean => readFileSync(repoPath(u.page), 'utf8').includes(`unknown option '${u.flag}'`);
    const missing = uses.filter((u) => !known.get(u.command)?.has(u.flag) && !shownAsUnknown(u)).map((u) => `${u.page}:${u.line}: pullfix ${u.command} ${u.flag}`);
    expect(missing).to.deep.equal([]);
  });
});
