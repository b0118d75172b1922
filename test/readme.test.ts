// The console examples of the README and of docs/ run verbatim and print what they say they print.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { REPO_ROOT, repoPath } from './helpers/fixtures.js';

interface Example {
  command: string;
  expected: string;
}

function consoleExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  for (const block of markdown.matchAll(/```console\n([\s\S]*?)```/g)) {
    let current: Example | undefined;
    for (const line of (block[1] as string).split('\n')) {
      if (line.startsWith('$ ')) {
        current = { command: line.slice(2), expected: '' };
        examples.push(current);
      } else if (current && line !== '') {
        current.expected += `${line}\n`;
      }
    }
  }
  return examples;
}

const PAGES = ['README.md', ...readdirSync(repoPath('docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

for (const page of PAGES) {
  describe(`${page} examples`, () => {
    for (const example of consoleExamples(readFileSync(repoPath(page), 'utf8'))) {
      it(`$ ${example.command}`, () => {
        // The examples end with `; echo "exit $?"`, so the shell itself succeeds.
        const output = execFileSync('bash', ['-c', example.command], { cwd: REPO_ROOT, encoding: 'utf8' });
        expect(output).to.equal(example.expected);
      });
    }
  });
}

describe('documentation examples', () => {
  it('has console examples to check', () => {
    const count = PAGES.reduce((n, page) => n + consoleExamples(readFileSync(repoPath(page), 'utf8')).length, 0);
    expect(count).to.be.at.least(4);
  });
});
