// Shared steps of the `pullfix policy` e2e files: generate the policy with the real CLI, apply it
// with the real kubectl, and know (by bounded polling) when the API server runs it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type TestCluster, pullfixWarnings, waitFor } from './harness/cluster.js';

type Json = Record<string, any>;

export const POLICY_NAME = 'pullfix.dev';

/** Writes a pullfix config file and returns its path. */
export function writeConfig(raw: Json): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pullfix-policy-')), 'config.yaml');
  writeFileSync(file, stringify(raw));
  return file;
}

/** `pullfix policy --config FILE --api-version V`: the YAML the CLI prints. */
export async function generatePolicy(cluster: TestCluster, configFile: string, apiVersion = 'v1'): Promise<string> {
  const result = await cluster.pullfixCli(['policy', '--config', configFile, '--api-version', apiVersion]);
  if (result.status !== 0) throw new Error(`pullfix policy exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** A namespace where the policy, when active, gives `registry.example/...:1.0` Always; for probes. */
async function probeNamespace(cluster: TestCluster): Promise<string> {
  probeNs ??= await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
  return probeNs;
}
let probeNs: string | undefined;

/**
 * Whether the policy changed a dry-run Pod. The policy runs before any webhook: when it is
 * active, a webhook registered at the same time finds nothing left to change and warns nothing.
 */
export async function policyActive(cluster: TestCluster): Promise<boolean> {
  const namespace = await probeNamespace(cluster);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'policy-probe', namespace }, spec: { containers: [{ name: 'probe', image: 'registry.example/pullfix-policy-probe:1.0' }] } };
  const result = await cluster.kubectlOk(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { stdin: pod });
  const got = (JSON.parse(result.stdout) as Json).spec.containers[0].imagePullPolicy;
  return got === 'Always' && pullfixWarnings(result).length === 0;
}

/** Applies the generated YAML and waits (bounded) until the API server runs the policy. */
export async function installPolicy(cluster: TestCluster, yaml: string): Promise<void> {
  await cluster.kubectlOk(['apply', '-f', '-'], { stdin: yaml });
  await waitFor('the API server to run the policy', async () => ((await policyActive(cluster)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
}

/** Deletes the policy and binding and waits (bounded) until the API server stops running it. */
export async function uninstallPolicy(cluster: TestCluster): Promise<void> {
  await cluster.kubectlOk(['delete', 'mutatingadmissionpolicybinding,mutatingadmissionpolicy', POLICY_NAME, '--ignore-not-found']);
  await waitFor('the API server to stop running the policy', async () => ((await policyActive(cluster)) ? undefined : true), { timeoutMs: 60_000, intervalMs: 300 });
}

/**
 * Requests straight to the API server over one keep-alive HTTPS agent with the admin client
 * certificate: a thousand server-side dry runs without a thousand kubectl processes.
 */
export class ApiClient {
  private readonly agent: https.Agent;
  constructor(private readonly cluster: TestCluster) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      ca: readFileSync(cluster.pki.caCert),
      cert: readFileSync(cluster.pki.adminCert),
      key: readFileSync(cluster.pki.adminKey),
    });
  }

  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const url = new URL(path, this.cluster.apiServerUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { method, agent: this.agent, timeout: 30_000, headers: { 'content-type': 'application/json', accept: 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Json });
            } catch {
              reject(new Error(`${method} ${url.pathname}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The collection path of a namespaced resource. */
export function collectionPath(group: string, resource: string, namespace: string): string {
  return group === '' ? `/api/v1/namespaces/${namespace}/${resource}` : `/apis/${group}/v1/namespaces/${namespace}/${resource}`;
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** `LIST/NAME -> policy` for every entry of a pod spec that pulls an image. */
export function entryPolicies(podSpec: Json | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const list of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    for (const c of (podSpec?.[list] ?? []) as Json[]) out[`${list}/${c.name}`] = c.imagePullPolicy;
  }
  for (const v of (podSpec?.volumes ?? []) as Json[]) if (v.image) out[`volumes/${v.name}`] = v.image.pullPolicy;
  return out;
}

export function at(object: Json, path: readonly string[]): Json | undefined {
  let node: any = object;
  for (const p of path) node = node?.[p];
  return node as Json | undefined;
}
