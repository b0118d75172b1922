// Where the API server is and how to authenticate to it, read from the in-cluster service
// account or a kubeconfig file, without loading @kubernetes/client-node: importing it costs
// about 1.5 s and 60 MB of RSS (it brings every generated API model), more than the whole
// webhook otherwise needs. A kubeconfig whose user needs an exec or auth-provider plugin is
// handed to client-node after all, loaded only then, since those plugins are its job.
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import path from 'node:path';
import { parse } from 'yaml';
import { isObject } from '../engine/explicit.js';
import { UserError } from '../util/user-error.js';

/** A kubeconfig or service account that cannot be used; names the file and the field. */
export class KubeConfigError extends UserError {
  override readonly name = 'KubeConfigError';
}

export interface KubeEndpoint {
  /** e.g. https://10.96.0.1:443 */
  server: URL;
  /** TLS and authentication for one request (a token file is re-read: bound tokens rotate). */
  requestOptions(): https.RequestOptions | Promise<https.RequestOptions>;
  /** For messages: where the settings came from. */
  origin: string;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** kubelet refreshes a projected token well before it expires; re-reading each minute follows it. */
const TOKEN_REREAD_MS = 60_000;

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KubeConfigError(`${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** A token read from a file, re-read now and then. */
function tokenFile(file: string): () => string {
  let token = '';
  let readAt = 0;
  return () => {
    const now = Date.now();
    if (now - readAt > TOKEN_REREAD_MS) {
      try {
        token = readFileSync(file, 'utf8').trim();
        readAt = now;
      } catch {
        // Keep the last token: kubelet swaps the file by symlink, a read may fall between.
        if (!token) throw new KubeConfigError(`token file ${file} cannot be read`);
      }
    }
    return token;
  };
}

/** The in-cluster service account (KUBERNETES_SERVICE_HOST and the mounted token and CA). */
export function inClusterEndpoint(dir = SERVICE_ACCOUNT, env: NodeJS.ProcessEnv = process.env): KubeEndpoint {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new KubeConfigError('KUBERNETES_SERVICE_HOST is not set: not running in a cluster');
  const ca = readOrFail(path.join(dir, 'ca.crt'), 'service account CA');
  const token = tokenFile(path.join(dir, 'token'));
  token(); // fail at start, not at the first list
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: new URL(`https://${hostPart}:${port}`),
    origin: `service account in ${dir}`,
    requestOptions: () => ({ ca, headers: { authorization: `Bearer ${token()}` } }),
  };
}

type Json = Record<string, unknown>;

function named(list: unknown, name: string, field: string, file: string): Json | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new KubeConfigError(`${file}: ${field} is not a list`);
  const entry = list.find((e) => isObject(e) && e.name === name) as Json | undefined;
  const inner = entry?.[field.slice(0, -1)];
  return isObject(inner) ? inner : undefined;
}

/** `X-data` (base64) or `X` (a file, relative to the kubeconfig's directory). */
function material(section: Json, field: string, file: string): Buffer | undefined {
  const data = section[`${field}-data`];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
  const ref = section[field];
  if (typeof ref === 'string' && ref !== '') return readOrFail(path.resolve(path.dirname(file), ref), `${field} of ${file}:`);
  return undefined;
}

/**
 * The current context of a kubeconfig (the first file of a KUBECONFIG list that names one, as
 * kubectl reads it): server, CA, client certificate or token.
 */
export async function kubeconfigEndpoint(kubeconfig: string): Promise<KubeEndpoint> {
  const files = kubeconfig.split(path.delimiter).filter((f) => f !== '');
  const docs = files.map((file) => {
    let doc: unknown;
    try {
      doc = parse(readOrFail(file, 'kubeconfig').toString('utf8'));
    } catch (err) {
      if (err instanceof KubeConfigError) throw err;
      throw new KubeConfigError(`kubeconfig ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]?.replace(/:$/, '')}`);
    }
    return { file, doc: isObject(doc) ? doc : {} };
  });
  const current = docs.find((d) => typeof d.doc['current-context'] === 'string');
  if (!current) throw new KubeConfigError(`kubeconfig ${files.join(path.delimiter)} has no current-context`);
  const contextName = current.doc['current-context'] as string;
  const find = (field: string, name: string): { section: Json; file: string } | undefined => {
    for (const d of docs) {
      const section = named(d.doc[field], name, field, d.file);
      if (section) return { section, file: d.file };
    }
    return undefined;
  };
  const context = find('contexts', contextName);
  if (!context) throw new KubeConfigError(`kubeconfig ${current.file}: context ${contextName} is not defined`);
  const clusterName = String(context.section.cluster ?? '');
  const cluster = find('clusters', clusterName);
  if (!cluster) throw new KubeConfigError(`kubeconfig ${context.file}: cluster ${clusterName} of context ${contextName} is not defined`);
  const serverText = cluster.section.server;
  if (typeof serverText !== 'string') throw new KubeConfigError(`kubeconfig ${cluster.file}: cluster ${clusterName} has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw new KubeConfigError(`kubeconfig ${cluster.file}: cluster ${clusterName} has server ${serverText}, not a URL`);
  }
  const userName = String(context.section.user ?? '');
  const user = find('users', userName) ?? { section: {}, file: current.file };
  const origin = `kubeconfig ${files.join(path.delimiter)} (context ${contextName})`;

  if (user.section.exec !== undefined || user.section['auth-provider'] !== undefined) return pluginEndpoint(kubeconfig, server, origin);

  const ca = material(cluster.section, 'certificate-authority', cluster.file);
  const insecure = cluster.section['insecure-skip-tls-verify'] === true;
  const cert = material(user.section, 'client-certificate', user.file);
  const key = material(user.section, 'client-key', user.file);
  const headers: Record<string, string> = {};
  let token: (() => string) | undefined;
  if (typeof user.section.token === 'string' && user.section.token !== '') {
    const fixed = user.section.token;
    token = () => fixed;
  } else if (typeof user.section.tokenFile === 'string') {
    token = tokenFile(path.resolve(path.dirname(user.file), user.section.tokenFile));
  } else if (typeof user.section.username === 'string' && typeof user.section.password === 'string') {
    headers.authorization = `Basic ${Buffer.from(`${user.section.username}:${user.section.password}`).toString('base64')}`;
  }
  const tls: https.RequestOptions = { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(insecure && { rejectUnauthorized: false }) };
  return {
    server,
    origin,
    requestOptions: () => ({ ...tls, headers: token ? { ...headers, authorization: `Bearer ${token()}` } : headers }),
  };
}

/** exec and auth-provider users: client-node runs the plugin and caches its credentials. */
async function pluginEndpoint(kubeconfig: string, server: URL, origin: string): Promise<KubeEndpoint> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  // loadFromDefault merges a KUBECONFIG list as kubectl does; a single file is read as given.
  if (kubeconfig === process.env.KUBECONFIG) kc.loadFromDefault();
  else kc.loadFromFile(kubeconfig);
  return {
    server,
    origin,
    requestOptions: async () => {
      const options: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      return options;
    },
  };
}
