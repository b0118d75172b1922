// Where the API server is and how to authenticate to it, as kubectl works it out, for both
// `pullfix serve` (the namespace cache) and `pullfix audit`: --kubeconfig, else KUBECONFIG (files
// merged, first wins), else ~/.kube/config, else the in-cluster service account. What it honours
// of a kubeconfig: server (https://, or plain http://), certificate-authority(-data),
// insecure-skip-tls-verify, tls-server-name, proxy-url (http:// and https:// proxies), client
// certificates, token and tokenFile, username/password, exec credential plugins
// (client.authentication.k8s.io v1 and v1beta1), impersonation (as, as-groups, as-uid).
// Written here rather than taken from @kubernetes/client-node: importing that costs about 1.5 s
// and 60 MB of RSS (it brings every generated API model), more than the webhook otherwise needs.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { execCredentialSource, readExecPlugin } from './exec-credential.js';
import { KubeConfigError, kubeconfigFiles, resolveContext, type Json, type KubeconfigChoice } from './kubeconfig.js';
import { parseProxyUrl, proxyAgent } from './proxy-agent.js';

export { KubeConfigError } from './kubeconfig.js';

export interface KubeEndpoint {
  /** e.g. https://10.96.0.1:443 */
  server: URL;
  /** TLS and authentication for one request (a token file is re-read: bound tokens rotate). */
  requestOptions(): https.RequestOptions | Promise<https.RequestOptions>;
  /** For messages: where the settings came from. */
  origin: string;
  /** The kubeconfig context in use (none in a cluster). */
  context?: string;
  /** The context's namespace, or the service account's in a cluster. */
  namespace?: string;
  /** proxy-url: connections are CONNECT tunnels through it. */
  proxy?: URL;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** As client-go: kubelet refreshes a projected token well before it expires; re-reading each minute follows it. */
const TOKEN_REREAD_MS = 60_000;

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KubeConfigError(`${what} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** A token read from a file, re-read every `rereadMs`. */
function tokenFile(file: string, rereadMs = TOKEN_REREAD_MS): () => string {
  let token = '';
  let readAt = 0;
  return () => {
    const now = Date.now();
    if (now - readAt >= rereadMs) {
      try {
        token = readFileSync(file, 'utf8').trim();
        readAt = now;
      } catch {
        // Keep the last token: kubelet swaps the file by symlink, a read may fall between.
        if (!token) throw new KubeConfigError(`token file ${file}: cannot be read`);
      }
    }
    return token;
  };
}

/** The in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token, CA and namespace). */
export function inClusterEndpoint(dir = SERVICE_ACCOUNT, env: NodeJS.ProcessEnv = process.env, rereadMs = TOKEN_REREAD_MS): KubeEndpoint {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new KubeConfigError('KUBERNETES_SERVICE_HOST is not set: not running in a cluster');
  const ca = readOrFail(path.join(dir, 'ca.crt'), 'service account CA');
  const token = tokenFile(path.join(dir, 'token'), rereadMs);
  token(); // fail at start, not at the first list
  let namespace: string | undefined;
  try {
    namespace = readFileSync(path.join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: new URL(`https://${hostPart}:${port}`),
    origin: `service account in ${dir}`,
    ...(namespace !== undefined ? { namespace } : {}),
    requestOptions: () => ({ ca, headers: { authorization: `Bearer ${token()}` } }),
  };
}

/** `X-data` (base64) or `X` (a file, relative to the kubeconfig that named it). */
function material(section: Json, field: string, file: string, what: string): Buffer | undefined {
  const data = section[`${field}-data`];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
  const ref = section[field];
  if (typeof ref === 'string' && ref !== '') return readOrFail(path.resolve(path.dirname(file), ref), `kubeconfig ${file}: ${what} ${field}`);
  return undefined;
}

/** kubectl's impersonation fields of a user: Impersonate-* headers. */
function impersonation(user: Json): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  if (typeof user.as === 'string' && user.as !== '') headers['impersonate-user'] = user.as;
  if (Array.isArray(user['as-groups'])) headers['impersonate-group'] = user['as-groups'].map(String);
  if (typeof user['as-uid'] === 'string' && user['as-uid'] !== '') headers['impersonate-uid'] = user['as-uid'];
  return headers;
}

/** One context (--context, else current-context) of kubeconfig files, merged; a string is a KUBECONFIG-style list. */
export function kubeconfigEndpoint(files: string | readonly string[], choice: KubeconfigChoice = {}): KubeEndpoint {
  const list = typeof files === 'string' ? files.split(path.delimiter).filter((f) => f !== '') : files;
  const ctx = resolveContext(list, choice);
  const { cluster, user } = ctx;
  const serverText = cluster.section.server;
  if (typeof serverText !== 'string' || serverText === '') {
    throw new KubeConfigError(`kubeconfig ${cluster.file}: cluster ${ctx.clusterName} has no server; set clusters[].cluster.server`);
  }
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw new KubeConfigError(`kubeconfig ${cluster.file}: cluster ${ctx.clusterName}: server ${serverText} is not a URL; write e.g. https://host:6443`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') {
    throw new KubeConfigError(`kubeconfig ${cluster.file}: cluster ${ctx.clusterName}: server ${serverText}: expected https:// (or plain http://)`);
  }
  if (user.section['auth-provider'] !== undefined) {
    const name = (user.section['auth-provider'] as Json | null)?.name;
    throw new KubeConfigError(
      `kubeconfig ${user.file}: user ${ctx.userName}: auth-provider ${String(name)} is not supported; use an exec credential plugin (kubectl 1.26 and later use them too: gke-gcloud-auth-plugin, kubelogin)`,
    );
  }
  const origin = `kubeconfig ${ctx.files.join(path.delimiter)} (context ${ctx.contextName})`;
  const proxy = typeof cluster.section['proxy-url'] === 'string' && cluster.section['proxy-url'] !== '' ? parseProxyUrl(cluster.section['proxy-url'], `kubeconfig ${cluster.file}: cluster ${ctx.clusterName}`) : undefined;

  const ca = material(cluster.section, 'certificate-authority', cluster.file, `cluster ${ctx.clusterName}:`);
  const insecure = cluster.section['insecure-skip-tls-verify'] === true;
  const serverName = typeof cluster.section['tls-server-name'] === 'string' && cluster.section['tls-server-name'] !== '' ? cluster.section['tls-server-name'] : undefined;
  const cert = material(user.section, 'client-certificate', user.file, `user ${ctx.userName}:`);
  const key = material(user.section, 'client-key', user.file, `user ${ctx.userName}:`);
  const tls: https.RequestOptions = {
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
    ...(insecure && { rejectUnauthorized: false }),
    ...(serverName && { servername: serverName }),
  };
  const headers: Record<string, string | string[]> = impersonation(user.section);
  let token: (() => string) | undefined;
  let exec: (() => Promise<{ token?: string; cert?: Buffer; key?: Buffer }>) | undefined;
  if (user.section.exec !== undefined && user.section.exec !== null) {
    if (typeof user.section.exec !== 'object') throw new KubeConfigError(`kubeconfig ${user.file}: user ${ctx.userName}: exec is not a mapping`);
    exec = execCredentialSource(readExecPlugin(user.section.exec as Json, ctx.userName, user.file, cluster.section), ctx.userName);
  } else if (typeof user.section.token === 'string' && user.section.token !== '') {
    const fixed = user.section.token;
    token = () => fixed;
  } else if (typeof user.section.tokenFile === 'string' && user.section.tokenFile !== '') {
    token = tokenFile(path.resolve(path.dirname(user.file), user.section.tokenFile));
  } else if (typeof user.section.username === 'string' && typeof user.section.password === 'string') {
    headers.authorization = `Basic ${Buffer.from(`${user.section.username}:${user.section.password}`).toString('base64')}`;
  }
  return {
    server,
    origin,
    context: ctx.contextName,
    ...(ctx.namespace !== undefined ? { namespace: ctx.namespace } : {}),
    ...(proxy ? { proxy } : {}),
    requestOptions: exec
      ? async () => {
          const credential = await exec();
          return {
            ...tls,
            ...(credential.cert && { cert: credential.cert, key: credential.key }),
            headers: credential.token ? { ...headers, authorization: `Bearer ${credential.token}` } : headers,
          };
        }
      : () => ({ ...tls, headers: token ? { ...headers, authorization: `Bearer ${token()}` } : headers }),
  };
}

/**
 * The API server as kubectl finds it: --kubeconfig, else KUBECONFIG's files, else
 * ~/.kube/config; with none of them, the in-cluster service account.
 */
export function loadEndpoint(choice: KubeconfigChoice = {}, env: NodeJS.ProcessEnv = process.env): KubeEndpoint {
  const files = kubeconfigFiles(choice, env);
  if (files.length > 0) return kubeconfigEndpoint(files, choice);
  if (env.KUBERNETES_SERVICE_HOST && choice.context === undefined) return inClusterEndpoint(SERVICE_ACCOUNT, env);
  const tried = env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG} names no file that exists` : 'no ~/.kube/config';
  throw new KubeConfigError(`no cluster: ${tried} and not running in a cluster; set KUBECONFIG or pass --kubeconfig`);
}

/** The one agent per client: keep-alive, through the proxy when the kubeconfig names one. */
export function endpointAgent(endpoint: KubeEndpoint, options: http.AgentOptions): http.Agent {
  const secure = endpoint.server.protocol === 'https:';
  if (endpoint.proxy) return proxyAgent(endpoint.proxy, secure, options);
  return secure ? new https.Agent(options) : new http.Agent(options);
}
