// The policy and the webhook registered at the same time, with the same config: the policy runs
// first (MutatingAdmissionPolicy precedes MutatingAdmissionWebhook in the API server's admission
// chain), the webhook finishes what only it can see (last-applied values, the stray field), and
// neither undoes the other: the stored objects are the ones the webhook alone stores.
import { expect } from 'chai';
import { DEFAULT_PULLFIX_CONFIG, type TestCluster, pullfixWarnings, shared } from './harness/cluster.js';
import { manifest, podSpecOf, pullPolicies, strayPodSpec, workload, DIGEST } from './harness/workloads.js';
import { repoPath } from '../helpers/fixtures.js';
import { generatePolicy, installPolicy, uninstallPolicy } from './policy-support.js';

type Json = Record<string, any>;

const c = (name: string, image: string, imagePullPolicy?: string): Json => ({ name, image, ...(imagePullPolicy ? { imagePullPolicy } : {}) });

interface Case {
  name: string;
  labels: Record<string, string>;
  /** Creates the objects in `ns` and returns what to compare: kind/name -> pull policies. */
  run: (cluster: TestCluster, ns: string) => Promise<Record<string, Record<string, string>>>;
}

async function policies(cluster: TestCluster, ns: string, resource: string, name: string): Promise<Record<string, string>> {
  return pullPolicies(podSpecOf(await cluster.getJson(resource, name, ns)));
}

const CASES: Case[] = [
  {
    name: 'class policies on CREATE, per class, explicit values kept',
    labels: { 'pullfix.dev/tagged': 'Always', 'pullfix.dev/digest': 'Never' },
    run: async (cluster, ns) => {
      const spec = {
        initContainers: [c('init', 'registry.example/tools:dev')],
        containers: [c('m', 'registry.example/web:main'), c('t', 'registry.example/web:1.0'), c('d', `registry.example/web@${DIGEST}`), c('pinned', 'registry.example/web:dev', 'Never')],
        volumes: [{ name: 'data', image: { reference: 'registry.example/data:1.0' } }],
      };
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'web', ns, spec), workload('Pod', 'pod', ns, spec)) });
      return { deployment: await policies(cluster, ns, 'deployment', 'web'), pod: await policies(cluster, ns, 'pod', 'pod') };
    },
  },
  {
    name: 'mode enforce',
    labels: { 'pullfix.dev/mode': 'enforce', 'pullfix.dev/tagged': 'IfNotPresent' },
    run: async (cluster, ns) => {
      const spec = { containers: [c('a', 'registry.example/web:1.0', 'Always'), c('b', 'registry.example/web:main', 'Never')] };
      await cluster.kubectlOk(['apply', '--server-side', '--field-manager=ci', '-f', '-'], { stdin: manifest(workload('StatefulSet', 'db', ns, spec)) });
      return { statefulset: await policies(cluster, ns, 'statefulset', 'db') };
    },
  },
  {
    name: 'a stray pod-level field through client-side apply (the webhook moves it; the policy stands aside)',
    labels: { 'pullfix.dev/tagged': 'Always' },
    run: async (cluster, ns) => {
      const deployment = workload('Deployment', 'stray', ns, strayPodSpec('Never', [c('app', 'registry.example/web:1.0'), c('side', 'registry.example/log:main')]));
      await cluster.kubectlOk(['apply', '--validate=false', '-f', '-'], { stdin: manifest(deployment) });
      return { deployment: await policies(cluster, ns, 'deployment', 'stray') };
    },
  },
  {
    name: 'UPDATE: kubectl set image and kubectl patch',
    labels: {},
    run: async (cluster, ns) => {
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'moving', ns, { containers: [c('app', 'registry.example/web:latest')] })) });
      await cluster.kubectlOk(['set', 'image', 'deployment/moving', '-n', ns, 'app=registry.example/web:2.0']);
      await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'patched', ns, { containers: [c('app', 'registry.example/web:dev')] })) });
      const patch = [{ op: 'replace', path: '/spec/template/spec/containers/0/imagePullPolicy', value: 'IfNotPresent' }];
      await cluster.kubectlOk(['patch', 'deployment', 'patched', '-n', ns, '--type=json', '-p', JSON.stringify(patch)]);
      return { moving: await policies(cluster, ns, 'deployment', 'moving'), patched: await policies(cluster, ns, 'deployment', 'patched') };
    },
  },
];

describe('e2e: pullfix policy with the webhook registered at the same time', () => {
  let cluster: TestCluster;
  const webhookAlone = new Map<string, Record<string, Record<string, string>>>();

  before(async function () {
    this.timeout(600_000);
    cluster = shared();
    // First the webhook alone (the suite registers it for every file), then both.
    for (const k of CASES) webhookAlone.set(k.name, await k.run(cluster, await cluster.freshNamespace(k.labels)));
    await installPolicy(cluster, await generatePolicy(cluster, repoPath(DEFAULT_PULLFIX_CONFIG)));
  });

  after(async function () {
    this.timeout(120_000);
    await uninstallPolicy(cluster);
  });

  for (const k of CASES) {
    it(`${k.name}: the same stored objects as the webhook alone`, async function () {
      this.timeout(120_000);
      const both = await k.run(cluster, await cluster.freshNamespace(k.labels));
      expect(both).to.deep.equal(webhookAlone.get(k.name));
    });
  }

  it('the webhook finds nothing left to change where the policy acted', async () => {
    const ns = await cluster.freshNamespace({ 'pullfix.dev/tagged': 'Always' });
    const result = await cluster.kubectlOk(['create', '-f', '-'], { stdin: manifest(workload('Deployment', 'quiet', ns, { containers: [c('app', 'registry.example/web:1.0')] })) });
    expect(pullfixWarnings(result)).to.deep.equal([]);
    expect(await policies(cluster, ns, 'deployment', 'quiet')).to.deep.equal({ 'containers/app': 'Always' });
  });
});
