// The policy agrees with the engine on the class-policy part (SPEC §3, §4 rules CEL can see):
// over a thousand generated workloads in generated namespaces, the API server running the
// generated MutatingAdmissionPolicy stores the same pull policies the engine decides.
//
// Each workload is sent twice as a server-side dry run over one keep-alive connection pool:
// once to a namespace in mode off, which gives the object exactly as admission sees it
// (decoded, defaulted, other admission plugins applied), and once to its generated namespace,
// which gives the policy's result. The engine decides on the first; the two must agree.
import { expect } from 'chai';
import { compileConfig, parseConfig } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import { generate, type GeneratedWorkload } from '../policy/generate-workloads.js';
import { type TestCluster, shared } from './harness/cluster.js';
import { ApiClient, at, collectionPath, entryPolicies, generatePolicy, installPolicy, pool, uninstallPolicy, writeConfig } from './policy-support.js';

type Json = Record<string, any>;

const WORKLOADS = Number(process.env.PULLFIX_E2E_EQUIVALENCE_COUNT ?? 1200);
const NAMESPACES = 48;
const SEED = Number(process.env.PULLFIX_E2E_EQUIVALENCE_SEED ?? 20261129);
const CONFIG = {
  mode: 'default',
  policies: { mutable: 'Always', digest: 'IfNotPresent' },
  mutableTags: '^(latest|main|master|dev|develop|edge|nightly|canary)$',
  exemptImages: ['localhost:5000/*', '*/web/api:1.0'],
  workloads: true,
};

describe('e2e: pullfix policy agrees with the engine', function () {
  let cluster: TestCluster;
  let api: ApiClient;

  before(async function () {
    this.timeout(180_000);
    cluster = shared();
    await cluster.unregisterWebhook();
    api = new ApiClient(cluster);
    await installPolicy(cluster, await generatePolicy(cluster, writeConfig(CONFIG)));
  });

  after(async function () {
    this.timeout(180_000);
    api?.close();
    await uninstallPolicy(cluster);
    await cluster.registerWebhook();
  });

  it(`on ${WORKLOADS} generated workloads in ${NAMESPACES} generated namespaces, evaluated by the API server`, async function () {
    this.timeout(20 * 60_000);
    const prefix = `eq-${cluster.runId}`;
    const { namespaces, workloads } = generate(SEED, prefix, NAMESPACES, WORKLOADS);
    const baseline = `${prefix}-baseline`;
    const all = [...namespaces, { name: baseline, labels: { 'pullfix.dev/mode': 'off' }, annotations: {} }];
    await pool(
      8,
      all.map((ns) => async () => {
        const created = await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: ns });
        if (created.status !== 201) throw new Error(`namespace ${ns.name}: HTTP ${created.status} ${created.body.message}`);
        // Pods need the namespace's default ServiceAccount (the ServiceAccount admission plugin).
        const sa = await api.request('POST', `/api/v1/namespaces/${ns.name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
        if (sa.status !== 201) throw new Error(`service account in ${ns.name}: HTTP ${sa.status} ${sa.body.message}`);
      }),
    );

    const config = compileConfig(parseConfig(CONFIG, 'equivalence config'));
    const engine = createEngine(config);
    const byName = new Map(namespaces.map((ns) => [ns.name, ns]));

    async function dryRun(w: GeneratedWorkload, namespace: string): Promise<Json> {
      const reply = await api.request('POST', `${collectionPath(w.group, w.resource, namespace)}?dryRun=All`, w.object);
      if (reply.status !== 201) throw new Error(`${w.kind} ${w.object.metadata.name} in ${namespace}: HTTP ${reply.status} ${reply.body.message}`);
      return reply.body;
    }

    const differences: string[] = [];
    let entries = 0;
    let changed = 0;
    await pool(
      8,
      workloads.map((w) => async () => {
        const [asAdmitted, byPolicy] = await Promise.all([dryRun(w, baseline), dryRun(w, w.namespace)]);
        const ns = byName.get(w.namespace);
        const result = engine.mutate({
          group: w.group,
          kind: w.kind,
          operation: 'CREATE',
          object: { ...asAdmitted, metadata: { ...asAdmitted.metadata, namespace: w.namespace } },
          oldObject: null,
          policy: resolveNamespacePolicy(config, ns && { name: ns.name, labels: ns.labels, annotations: ns.annotations }),
          source: 'admission',
        });
        const expected = entryPolicies(at(result.mutated as Json, w.podSpecPath));
        const got = entryPolicies(at(byPolicy, w.podSpecPath));
        const before = entryPolicies(at(asAdmitted, w.podSpecPath));
        entries += Object.keys(got).length;
        changed += Object.keys(got).filter((k) => got[k] !== before[k]).length;
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          differences.push(`${w.kind} ${w.object.metadata.name} in ${w.namespace} ${JSON.stringify(ns?.labels)} ${JSON.stringify(ns?.annotations)}: ` +
            `images ${JSON.stringify(Object.values(entryImages(at(asAdmitted, w.podSpecPath))))} admitted ${JSON.stringify(before)} policy ${JSON.stringify(got)} engine ${JSON.stringify(expected)}`);
        }
      }),
    );
    process.stderr.write(
      `e2e: policy equivalence: ${workloads.length} workloads in ${namespaces.length} namespaces (seed ${SEED}), ${entries} image entries, ` +
        `${changed} changed by the policy, ${differences.length} different from the engine\n`,
    );
    // The comparison must have something to compare: the generated cases change many entries.
    expect(changed).to.be.greaterThan(workloads.length / 4);
    expect(differences.slice(0, 10)).to.deep.equal([]);
  });
});

function entryImages(podSpec: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const list of ['containers', 'initContainers'] as const) for (const c of (podSpec?.[list] ?? []) as Json[]) out[`${list}/${c.name}`] = c.image;
  for (const v of (podSpec?.volumes ?? []) as Json[]) if (v.image) out[`volumes/${v.name}`] = v.image.reference;
  return out;
}
