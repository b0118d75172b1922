// A cluster in which `pullfix audit --stale` has something to find, on the fake API server
// (fake-kube-rest.ts) and a registry double that wants a token (test/registry/registry-double.ts):
// namespace shop runs Deployment web on build 1 of `shop/web:dev` while the tag points to build
// 2; namespace quiet runs a release tag (`:1.0`, immutable: not checked) in a bare Pod. The registry takes
// only the credentials of Secret shop/regcred, named by ServiceAccount shop/default, so a run
// that cannot read them finds the image unchecked, not stale.
import { DOCKER_MANIFEST } from '../../src/registry/media-types.js';
import { RegistryDouble } from '../registry/registry-double.js';
import { type FakeKubeRest, liveObject } from './fake-kube-rest.js';

type Json = Record<string, any>;

export interface StaleCluster {
  registry: RegistryDouble;
  image: string;
  build1: string;
  build2: string;
  /** Points the tag at build 1 again: nothing is stale any more. */
  rollBack(): void;
}

const manifest = (n: number): object => ({
  schemaVersion: 2,
  mediaType: DOCKER_MANIFEST,
  config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${String(n).padStart(64, '0')}`, size: 1 },
  layers: [],
});

/** What the kubelet writes in a running container's status. */
function running(pod: Json, imageID: string): Json {
  const c = pod.spec.containers[0];
  pod.status.containerStatuses = [
    { name: c.name, image: c.image, imageID, ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2025-06-02T09:14:30Z' } }, containerID: 'containerd://0f1e2d3c' },
  ];
  return pod;
}

const controller = (kind: string, name: string): Json[] => [{ apiVersion: 'apps/v1', kind, name, uid: '7d0c2a51-3b9e-4f7a-8c61-5e2d9b0a4f13', controller: true, blockOwnerDeletion: true }];

export async function populateStale(api: FakeKubeRest): Promise<StaleCluster> {
  const registry = new RegistryDouble({ bearer: { user: 'ci', pass: 's3cret' } });
  await registry.start();
  const build1 = registry.put('shop/web', manifest(1), DOCKER_MANIFEST, 'dev');
  const build2 = registry.put('shop/web', manifest(2), DOCKER_MANIFEST, 'dev');
  const image = `${registry.host}/shop/web:dev`;

  api.addNamespace('shop');
  api.addNamespace('quiet');
  api.addObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } }, status: { nodeInfo: { operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'containerd://2.1.4', kubeletVersion: 'v1.32.0' } } });
  const dockerconfig = { auths: { [registry.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } } };
  api.addObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'shop' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(dockerconfig)).toString('base64') } });
  api.addObject({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'shop' }, imagePullSecrets: [{ name: 'regcred' }] });
  api.addObject({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'quiet' } });

  // IfNotPresent: a restart alone would not pull build 2 on this node.
  const containers = [{ name: 'web', image, imagePullPolicy: 'IfNotPresent' }];
  api.add(liveObject('Deployment', { namespace: 'shop', name: 'web', containers }));
  api.add(liveObject('ReplicaSet', { namespace: 'shop', name: 'web-7c9d8', ownerReferences: controller('Deployment', 'web'), containers }));
  api.add(running(liveObject('Pod', { namespace: 'shop', name: 'web-7c9d8-x2x4z', ownerReferences: controller('ReplicaSet', 'web-7c9d8'), containers }), `${registry.host}/shop/web@${build1}`));
  const release = `${registry.host}/shop/web:1.0`;
  api.add(running(liveObject('Pod', { namespace: 'quiet', name: 'hello', containers: [{ name: 'hello', image: release }] }), `${registry.host}/shop/web@${build2}`));

  return {
    registry,
    image,
    build1,
    build2,
    rollBack: () => void registry.put('shop/web', manifest(1), DOCKER_MANIFEST, 'dev'),
  };
}
