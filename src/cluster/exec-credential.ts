// A kubeconfig user's `exec` credential plugin (client.authentication.k8s.io v1 and v1beta1), run
// as kubectl runs it: the command with its args, its env added to ours, KUBERNETES_EXEC_INFO
// describing the request; its ExecCredential's token or client certificate is kept until its
// expirationTimestamp (for the life of the process when it has none), then the plugin runs again.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { isObject } from '../engine/explicit.js';
import { KubeConfigError, type Json } from './kubeconfig.js';

const API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
/** A credential this close to its expiry is fetched again, so none expires in flight. */
const EXPIRY_MARGIN_MS = 10_000;

export interface ExecCredential {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
}

export interface ExecPlugin {
  apiVersion: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  interactiveMode: string;
  installHint?: string;
  /** provideClusterInfo: the cluster section, passed in KUBERNETES_EXEC_INFO. */
  cluster?: Json;
}

/** The `exec` section of user `userName` in `file`, checked. */
export function readExecPlugin(exec: Json, userName: string, file: string, cluster: Json): ExecPlugin {
  const where = `kubeconfig ${file}: user ${userName}: exec`;
  const apiVersion = exec.apiVersion;
  if (typeof apiVersion !== 'string' || !API_VERSIONS.includes(apiVersion)) {
    throw new KubeConfigError(`${where}.apiVersion ${JSON.stringify(apiVersion)}: not supported; use ${API_VERSIONS.join(' or ')}`);
  }
  if (typeof exec.command !== 'string' || exec.command === '') throw new KubeConfigError(`${where}.command: missing; name the credential plugin to run`);
  // As client-go: a relative path with a directory part is relative to the kubeconfig.
  const command = exec.command.includes('/') && !path.isAbsolute(exec.command) ? path.resolve(path.dirname(file), exec.command) : exec.command;
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const env: Record<string, string> = {};
  if (Array.isArray(exec.env)) for (const e of exec.env) if (isObject(e) && typeof e.name === 'string') env[e.name] = String(e.value ?? '');
  const interactiveMode = typeof exec.interactiveMode === 'string' ? exec.interactiveMode : 'IfAvailable';
  return {
    apiVersion,
    command,
    args,
    env,
    interactiveMode,
    ...(typeof exec.installHint === 'string' ? { installHint: exec.installHint } : {}),
    ...(exec.provideClusterInfo === true ? { cluster } : {}),
  };
}

function run(plugin: ExecPlugin, user: string): Promise<string> {
  const interactive = plugin.interactiveMode === 'Always' || (plugin.interactiveMode === 'IfAvailable' && process.stdin.isTTY === true);
  const info = { apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive, ...(plugin.cluster ? { cluster: plugin.cluster } : {}) } };
  const what = `exec credential plugin ${plugin.command} (user ${user})`;
  return new Promise((resolve, reject) => {
    const child = spawn(plugin.command, plugin.args, {
      env: { ...process.env, ...plugin.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
      // Its messages and prompts are for the user, as kubectl passes them through.
      stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', (err: NodeJS.ErrnoException) => {
      const hint = plugin.installHint ? `; ${plugin.installHint.trim()}` : '; install it or put it on PATH';
      reject(new KubeConfigError(err.code === 'ENOENT' ? `${what}: not found${hint}` : `${what}: cannot run: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(new KubeConfigError(`${what}: ${signal ? `killed by ${signal}` : `exited ${code}`}; run it by hand to see why`));
    });
  });
}

function parseCredential(text: string, plugin: ExecPlugin, user: string): { credential: ExecCredential; expiresAt: number } {
  const what = `exec credential plugin ${plugin.command} (user ${user})`;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KubeConfigError(`${what}: its output is not JSON; it must print an ExecCredential`);
  }
  if (!isObject(doc) || doc.kind !== 'ExecCredential' || doc.apiVersion !== plugin.apiVersion) {
    throw new KubeConfigError(`${what}: printed no ExecCredential of apiVersion ${plugin.apiVersion}`);
  }
  const status = isObject(doc.status) ? doc.status : {};
  const credential: ExecCredential = {};
  if (typeof status.token === 'string' && status.token !== '') credential.token = status.token;
  if (typeof status.clientCertificateData === 'string' && typeof status.clientKeyData === 'string') {
    credential.cert = Buffer.from(status.clientCertificateData);
    credential.key = Buffer.from(status.clientKeyData);
  }
  if (!credential.token && !credential.cert) throw new KubeConfigError(`${what}: the ExecCredential has neither status.token nor status.clientCertificateData and clientKeyData`);
  let expiresAt = Number.POSITIVE_INFINITY;
  if (typeof status.expirationTimestamp === 'string') {
    expiresAt = Date.parse(status.expirationTimestamp);
    if (Number.isNaN(expiresAt)) throw new KubeConfigError(`${what}: status.expirationTimestamp ${JSON.stringify(status.expirationTimestamp)} is not an RFC 3339 time`);
  }
  return { credential, expiresAt };
}

/** The plugin's credential, run at most once at a time, re-run once it has (nearly) expired. */
export function execCredentialSource(plugin: ExecPlugin, user: string, now: () => number = Date.now): () => Promise<ExecCredential> {
  let cached: { credential: ExecCredential; expiresAt: number } | undefined;
  let running: Promise<ExecCredential> | undefined;
  return () => {
    if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > now()) return Promise.resolve(cached.credential);
    running ??= run(plugin, user)
      .then((text) => {
        cached = parseCredential(text, plugin, user);
        return cached.credential;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}
