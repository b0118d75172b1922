// The real kubectl, run against the test cluster with a bounded time, and kubeconfig files.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export interface KubectlResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when kubectl was killed for overrunning its time. */
  status: number | null;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (a manifest for `-f -`); a non-string is sent as JSON. */
  stdin?: unknown;
  /** Kill kubectl after this long (default 60 s). */
  timeoutMs?: number;
  /** Extra environment, e.g. KUBECTL_EXTERNAL_DIFF. */
  env?: NodeJS.ProcessEnv;
}

export const KUBECTL = process.env.PULLFIX_E2E_KUBECTL ?? 'kubectl';

/** Runs a command to completion and collects its output; never throws for a non-zero exit. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, opts: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      stderr += `\n(killed after ${timeoutMs} ms)`;
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status: code });
    });
    child.stdin.on('error', () => undefined); // kubectl may exit before reading all of stdin
    if (opts.stdin !== undefined) child.stdin.end(typeof opts.stdin === 'string' ? opts.stdin : JSON.stringify(opts.stdin));
    else child.stdin.end();
  });
}

/** The `Warning: ...` lines kubectl printed (the API server's warning headers). */
export function warningsOf(result: KubectlResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('Warning: ')).map((line) => line.slice('Warning: '.length));
}

export interface KubeconfigUser {
  clientCert?: string;
  clientKey?: string;
  token?: string;
}

/** Writes a one-context kubeconfig for `server`, trusting `caFile`. */
export function writeKubeconfig(file: string, server: string, caFile: string, user: KubeconfigUser, namespace = 'default'): void {
  const userEntry: Record<string, string> = {};
  if (user.clientCert) userEntry['client-certificate'] = user.clientCert;
  if (user.clientKey) userEntry['client-key'] = user.clientKey;
  if (user.token) userEntry.token = user.token;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'e2e', user: userEntry }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'e2e', namespace } }],
    'current-context': 'e2e',
  };
  // JSON is YAML: kubectl and client-node read it as a kubeconfig.
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
}

/** kubectl's warning lines that came from pullfix (`pullfix: ...`). */
export function pullfixWarnings(result: KubectlResult): string[] {
  return warningsOf(result).filter((w) => w.startsWith('pullfix: '));
}
