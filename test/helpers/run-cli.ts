// The built CLI as a child process, run asynchronously: a fake API server or registry living in
// the test's own process must keep answering while it runs.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { repoPath } from './fixtures.js';

export const CLI = repoPath('dist', 'src', 'cli', 'main.js');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Any command, with only PATH, HOME (a temporary directory) and `env` in its environment. */
export function runCommand(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `pullfix ARGS`, run as runCommand runs any command. */
export function runCli(args: string[], env: Record<string, string>): Promise<Run> {
  return runCommand(process.execPath, [CLI, ...args], env);
}
