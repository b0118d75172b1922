// What both operator-owned scenarios (new-build.test.ts, enforce-owned.test.ts) check once a
// Deployment with a controller ownerReference runs: the Deployment is its operator's and pullfix
// leaves it alone (SPEC §5), while the Pod its ReplicaSet created passed through the webhook on
// CREATE and carries pullfix's note.
import { expect } from 'chai';
import type { TestCluster } from '../harness/cluster.js';
import { livePods } from '../harness/running.js';
import { changesNote, podSpecOf, pullPolicies } from '../harness/workloads.js';

type Json = Record<string, any>;

/** Asserts the above for Deployment `name` (pods labelled app=NAME) in `ns`; returns its live Pod. */
export async function expectOwnerLeftAlonePodPatched(cluster: TestCluster, ns: string, name = 'demo'): Promise<Json> {
  const stored = await cluster.getJson('deployment', name, ns);
  expect(pullPolicies(podSpecOf(stored)), "the operator's Deployment: not patched (SPEC §5)").to.deep.equal({ 'containers/app': 'IfNotPresent' });
  expect(changesNote(stored)).to.equal(undefined);
  const pod = (await livePods(cluster, ns, `app=${name}`))[0] as Json;
  expect((pod.metadata.ownerReferences as Json[])[0]).to.include({ kind: 'ReplicaSet', controller: true });
  expect(changesNote(pod)).to.be.a('string').and.not.be.empty;
  return pod;
}
