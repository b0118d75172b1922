// Reading kubeconfig files and the in-cluster service account as kubectl does, from real files.
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inClusterEndpoint, kubeconfigEndpoint } from '../../src/cluster/kube-endpoint.js';
import { makeTempDir, removeDir } from '../helpers/certs.js';

describe('kubeconfigEndpoint and inClusterEndpoint', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('takes the current context: server, CA data, client certificate files relative to the kubeconfig', async () => {
    mkdirSync(join(dir, 'pki'));
    write('pki/client.crt', 'CERT');
    write('pki/client.key', 'KEY');
    const file = write(
      'config',
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: b',
        'contexts:',
        '- {name: a, context: {cluster: one, user: one}}',
        '- {name: b, context: {cluster: two, user: two}}',
        'clusters:',
        '- {name: one, cluster: {server: "https://one.example:6443"}}',
        `- {name: two, cluster: {server: "https://127.0.0.1:7443", certificate-authority-data: ${Buffer.from('CA').toString('base64')}}}`,
        'users:',
        '- {name: one, user: {token: wrong}}',
        '- {name: two, user: {client-certificate: pki/client.crt, client-key: pki/client.key}}',
        '',
      ].join('\n'),
    );
    const endpoint = await kubeconfigEndpoint(file);
    expect(endpoint.server.href).to.equal('https://127.0.0.1:7443/');
    const options = await endpoint.requestOptions();
    expect(String(options.ca)).to.equal('CA');
    expect(String(options.cert)).to.equal('CERT');
    expect(String(options.key)).to.equal('KEY');
    expect(options.headers).to.deep.equal({});
  });

  it('sends a token, and one from a token file', async () => {
    const token = write('token', 'from-file\n');
    const file = write(
      'config',
      [
        'current-context: c',
        'contexts: [{name: c, context: {cluster: c, user: c}}]',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        `users: [{name: c, user: {tokenFile: ${token}}}]`,
      ].join('\n'),
    );
    const options = await (await kubeconfigEndpoint(file)).requestOptions();
    expect(options.headers).to.deep.equal({ authorization: 'Bearer from-file' });
    expect(options.rejectUnauthorized).to.equal(false);
  });

  it('reads a KUBECONFIG list: the first file that names a current context, clusters and users from any', async () => {
    const users = write('users', 'users: [{name: u, user: {token: t}}]\n');
    const main = write('main', 'current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "http://127.0.0.1:2"}}]\n');
    const endpoint = await kubeconfigEndpoint(`${users}:${main}`);
    expect(endpoint.server.href).to.equal('http://127.0.0.1:2/');
    expect((await endpoint.requestOptions()).headers).to.deep.equal({ authorization: 'Bearer t' });
  });

  const broken: Array<[string, string, (file: string) => string]> = [
    ['no current context', 'clusters: []\n', (f) => `kubeconfig ${f} has no current-context`],
    ['an undefined context', 'current-context: x\n', (f) => `kubeconfig ${f}: context "x" (current-context) is not defined; contexts: none`],
    [
      'a cluster without a server',
      'current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, cluster: {}}]\n',
      (f) => `kubeconfig ${f}: cluster k has no server; set clusters[].cluster.server`,
    ],
    ['not YAML', 'current-context: [\n', (f) => `kubeconfig ${f}: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1`],
  ];
  for (const [what, text, message] of broken) {
    it(`names the file and the problem: ${what}`, async () => {
      const file = write('config', text);
      let caught: Error | undefined;
      try {
        kubeconfigEndpoint(file);
      } catch (err) {
        caught = err as Error;
      }
      expect(caught?.message).to.equal(message(file));
      expect(caught?.name).to.equal('KubeConfigError');
    });
  }

  it('in a cluster: KUBERNETES_SERVICE_HOST, the mounted CA and token', () => {
    write('ca.crt', 'SA-CA');
    write('token', 'sa-token');
    const endpoint = inClusterEndpoint(dir, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' });
    expect(endpoint.server.href).to.equal('https://[fd00::1]/');
    const options = endpoint.requestOptions() as { ca: Buffer; headers: Record<string, string> };
    expect(String(options.ca)).to.equal('SA-CA');
    expect(options.headers).to.deep.equal({ authorization: 'Bearer sa-token' });
    expect(() => inClusterEndpoint(dir, {})).to.throw('KUBERNETES_SERVICE_HOST is not set: not running in a cluster');
  });
});
