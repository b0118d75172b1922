// The README's console examples run verbatim and print what it says they print.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

describe('README examples', () => {
  const examples = consoleExamples(readFileSync(repoPath('README.md'), 'utf8'));

  it('has console examples to check', () => {
    expect(examples.length).to.be.at.least(2);
  });

  for (const example of examples) {
    it(`$ ${example.command}`, () => {
      // The examples end with `; echo "exit $?"`, so the shell itself succeeds.
      const output = execFileSync('bash', ['-c', example.command], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(output).to.equal(example.expected);
    });
  }
});
