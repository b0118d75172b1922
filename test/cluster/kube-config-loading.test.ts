// The one kubeconfig reader of `serve` and `audit`, against real servers: an HTTPS server on
// loopback with certificates from certs/make-dev-certs.sh, a plain HTTP one, a real exec
// credential plugin (a script run as kubectl runs it), a real HTTP CONNECT proxy. Each request
// goes through both clients that use the reader: the namespace cache's (kube-client.ts) and the
// audit's (KubeApi).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KubeApi } from '../../src/audit/kube-api.js';
import { kubeClient } from '../../src/cluster/kube-client.js';
import { endpointAgent, inClusterEndpoint, kubeconfigEndpoint, loadEndpoint, type KubeEndpoint } from '../../src/cluster/kube-endpoint.js';
import { makeCerts, makeTempDir, removeDir, type CertFiles } from '../helpers/certs.js';

/** What the server saw of one request. */
interface Seen {
  authorization?: string;
  impersonate?: string | string[];
  servername?: string | false;
  clientCN?: string;
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  const socket = req.socket as TLSSocket;
  const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  const seen: Seen = {
    ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    ...(req.headers['impersonate-user'] ? { impersonate: req.headers['impersonate-user'] } : {}),
    ...(socket.encrypted ? { servername: (socket as TLSSocket & { servername?: string | false }).servername } : {}),
    ...(peer?.subject?.CN ? { clientCN: String(peer.subject.CN) } : {}),
  };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [], seen }));
}

/** GET through the namespace cache's client and through the audit's; both must agree. */
async function get(endpoint: KubeEndpoint): Promise<Seen> {
  const client = kubeClient(endpoint);
  const api = new KubeApi(endpoint, endpointAgent(endpoint, { keepAlive: true }), 5_000);
  try {
    const viaCache = ((await client.getJson('/api/v1/namespaces', 'application/json')) as { seen: Seen }).seen;
    const viaAudit = ((await api.request('GET', '/api/v1/namespaces')) as { seen: Seen }).seen;
    expect(viaAudit, 'audit and the namespace cache send the same').to.deep.equal(viaCache);
    return viaCache;
  } finally {
    client.close();
    api.close();
  }
}

async function failure(endpoint: KubeEndpoint): Promise<string> {
  const api = new KubeApi(endpoint, endpointAgent(endpoint, { keepAlive: true }), 5_000);
  try {
    await api.request('GET', '/api/v1/namespaces');
  } catch (err) {
    return (err as Error).message;
  } finally {
    api.close();
  }
  throw new Error('the request succeeded');
}

describe('one kubeconfig reader for serve and audit, against real servers', function () {
  this.timeout(30_000);
  let certs: CertFiles;
  let dir: string;
  let server: https.Server;
  let port: number;
  let plain: http.Server;
  let plainPort: number;

  before(async () => {
    certs = makeCerts();
    // Asks for a client certificate, takes any (the test reads its CN): the API server's
    // x509 authenticator is not what is under test.
    server = https.createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key), requestCert: true, rejectUnauthorized: false }, answer);
    port = await listen(server);
    plain = http.createServer(answer);
    plainPort = await listen(plain);
  });

  after(() => {
    server.closeAllConnections();
    server.close();
    plain.closeAllConnections();
    plain.close();
    removeDir(certs.dir);
  });

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  const write = (name: string, text: string, mode = 0o644): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    chmodSync(file, mode);
    return file;
  };

  /** A kubeconfig with one context `c` (cluster `k`, user `u`) and the fields given. */
  const kubeconfig = (name: string, cluster: Record<string, unknown>, user: Record<string, unknown>, extra = ''): string =>
    write(
      name,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        'contexts: [{name: c, context: {cluster: k, user: u, namespace: shop}}]',
        `clusters: [{name: k, cluster: ${JSON.stringify({ server: `https://127.0.0.1:${port}`, 'certificate-authority': certs.caCert, ...cluster })}}]`,
        `users: [{name: u, user: ${JSON.stringify(user)}}]`,
        extra,
      ].join('\n'),
    );

  describe('TLS', () => {
    it('verifies the server against certificate-authority and sends the token', async () => {
      const endpoint = kubeconfigEndpoint(kubeconfig('config', {}, { token: 'abc' }));
      expect(await get(endpoint)).to.deep.include({ authorization: 'Bearer abc' });
      expect(endpoint).to.include({ context: 'c', namespace: 'shop' });
    });

    it('refuses a server its CA did not sign, unless insecure-skip-tls-verify', async () => {
      const noCa = kubeconfig('config', { 'certificate-authority': undefined }, { token: 'abc' });
      expect(await failure(kubeconfigEndpoint(noCa))).to.match(/self-signed certificate in certificate chain|unable to (get|verify)/);
      const insecure = kubeconfig('insecure', { 'certificate-authority': undefined, 'insecure-skip-tls-verify': true }, { token: 'abc' });
      expect(await get(kubeconfigEndpoint(insecure))).to.deep.include({ authorization: 'Bearer abc' });
    });

    it('tls-server-name: the name sent (SNI) and checked against the certificate, not the server address', async () => {
      const named = kubeconfig('config', { 'tls-server-name': 'pullfix.pullfix-system.svc' }, {});
      expect(await get(kubeconfigEndpoint(named))).to.deep.equal({ servername: 'pullfix.pullfix-system.svc' });
      // A name the certificate does not carry fails, though 127.0.0.1 (the address) is in it.
      const wrong = kubeconfig('wrong', { 'tls-server-name': 'api.elsewhere.example' }, {});
      expect(await failure(kubeconfigEndpoint(wrong))).to.include("Host: api.elsewhere.example. is not in the cert's altnames");
    });

    it('sends a client certificate and key from files relative to the kubeconfig', async () => {
      mkdirSync(join(dir, 'pki'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=alice', '-keyout', join(dir, 'pki/alice.key'), '-out', join(dir, 'pki/alice.crt')], { stdio: 'ignore' });
      const file = kubeconfig('config', {}, { 'client-certificate': 'pki/alice.crt', 'client-key': 'pki/alice.key', as: 'bob' });
      expect(await get(kubeconfigEndpoint(file))).to.deep.include({ clientCN: 'alice', impersonate: 'bob' });
    });

    it('speaks plain HTTP to an http:// server, as kubectl does', async () => {
      const file = kubeconfig('config', { server: `http://127.0.0.1:${plainPort}`, 'certificate-authority': undefined }, { token: 'abc' });
      expect(await get(kubeconfigEndpoint(file))).to.deep.equal({ authorization: 'Bearer abc' });
    });
  });

  describe('exec credential plugins', () => {
    /**
     * A plugin that counts its runs and prints an ExecCredential with `status` (a JSON text in
     * which the shell expands $1, $TEAM and $api, the apiVersion kubectl asked for).
     */
    const plugin = (status: string): string =>
      write(
        'plugin.sh',
        [
          '#!/bin/bash',
          'set -e',
          'echo run >> "$(dirname "$0")/runs"',
          // What kubectl passes: the request, with the kubeconfig's apiVersion.
          'api=$(sed -E \'s/.*"apiVersion":"([^"]+)".*/\\1/\' <<< "$KUBERNETES_EXEC_INFO")',
          'cat <<JSON',
          `{"apiVersion":"$api","kind":"ExecCredential","status":${status}}`,
          'JSON',
        ].join('\n'),
        0o755,
      );
    const runs = (): number => {
      try {
        return readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter((l) => l !== '').length;
      } catch {
        return 0;
      }
    };

    it('v1: runs the command with its args and env, sends the token, keeps it until it expires', async () => {
      const expires = new Date(Date.now() + 3600_000).toISOString();
      plugin(`{"token":"$api-$1-$TEAM","expirationTimestamp":"${expires}"}`);
      const file = kubeconfig('config', {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh', args: ['one'], env: [{ name: 'TEAM', value: 'shop' }], interactiveMode: 'Never' } });
      const endpoint = kubeconfigEndpoint(file);
      expect(await get(endpoint)).to.deep.include({ authorization: 'Bearer client.authentication.k8s.io/v1-one-shop' });
      await get(endpoint);
      expect(runs(), 'one run for four requests: the credential is cached').to.equal(1);
    });

    it('runs the plugin again once the credential has expired', async () => {
      const expired = new Date(Date.now() - 1000).toISOString();
      plugin(`{"token":"t","expirationTimestamp":"${expired}"}`);
      const endpoint = kubeconfigEndpoint(kubeconfig('config', {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: join(dir, 'plugin.sh') } }));
      await get(endpoint);
      expect(runs()).to.equal(2);
    });

    it('v1beta1: a client certificate from the plugin', async () => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=from-plugin', '-keyout', join(dir, 'p.key'), '-out', join(dir, 'p.crt')], { stdio: 'ignore' });
      const json = (f: string): string => JSON.stringify(readFileSync(join(dir, f), 'utf8'));
      plugin(`{"clientCertificateData":${json('p.crt')},"clientKeyData":${json('p.key')}}`);
      const endpoint = kubeconfigEndpoint(kubeconfig('config', {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: './plugin.sh' } }));
      expect(await get(endpoint)).to.deep.include({ clientCN: 'from-plugin' });
    });

    it('says what failed: a plugin that is not installed (with its installHint), one that exits 1, one that prints no credential', async () => {
      const exec = (command: string, extra: Record<string, unknown> = {}): KubeEndpoint =>
        kubeconfigEndpoint(kubeconfig(`c-${command.replace(/\W/g, '')}`, {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command, interactiveMode: 'Never', ...extra } }));
      const message = async (endpoint: KubeEndpoint): Promise<string> => {
        try {
          await endpoint.requestOptions();
        } catch (err) {
          return (err as Error).message;
        }
        return 'no error';
      };
      expect(await message(exec('no-such-auth-plugin', { installHint: 'Install it with: apt-get install no-such-auth-plugin' }))).to.equal(
        'exec credential plugin no-such-auth-plugin (user u): not found; Install it with: apt-get install no-such-auth-plugin',
      );
      write('fails.sh', '#!/bin/sh\nexit 1\n', 0o755);
      expect(await message(exec('./fails.sh'))).to.equal(`exec credential plugin ${join(dir, 'fails.sh')} (user u): exited 1; run it by hand to see why`);
      write('empty.sh', '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}\'\n', 0o755);
      expect(await message(exec('./empty.sh'))).to.equal(`exec credential plugin ${join(dir, 'empty.sh')} (user u): the ExecCredential has neither status.token nor status.clientCertificateData and clientKeyData`);
    });
  });

  describe('proxy-url', () => {
    let proxy: net.Server;
    let proxyPort: number;
    let connects: Array<{ target: string; auth?: string }>;

    before(async () => {
      // A real forward proxy, as small as one gets: CONNECT host:port, then bytes both ways.
      proxy = net.createServer((client) => {
        let head = Buffer.alloc(0);
        const onData = (chunk: Buffer): void => {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          client.off('data', onData);
          const lines = head.subarray(0, end).toString('latin1').split('\r\n');
          const [method, target] = (lines[0] ?? '').split(' ');
          const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]+:\s*/, '');
          connects.push({ target: target ?? '', ...(auth ? { auth } : {}) });
          if (method !== 'CONNECT') return void client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
          if (target?.endsWith(':1')) return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
          const [host, p] = (target ?? '').split(':');
          const upstream = net.connect(Number(p), host, () => {
            client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
            upstream.pipe(client).pipe(upstream);
          });
          upstream.on('error', () => client.destroy());
          client.on('error', () => upstream.destroy());
        };
        client.on('data', onData);
      });
      proxyPort = await listen(proxy);
    });
    beforeEach(() => {
      connects = [];
    });
    after(() => proxy.close());

    it('tunnels through an http:// proxy with CONNECT, TLS to the API server inside; user info becomes Proxy-Authorization', async () => {
      const file = kubeconfig('config', { 'proxy-url': `http://me:s%40cret@127.0.0.1:${proxyPort}`, 'tls-server-name': 'localhost' }, { token: 'abc' });
      const seen = await get(kubeconfigEndpoint(file));
      expect(seen).to.deep.equal({ authorization: 'Bearer abc', servername: 'localhost' });
      expect(connects.map((c) => c.target)).to.deep.equal([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
      expect(connects[0]?.auth).to.equal(`Basic ${Buffer.from('me:s@cret').toString('base64')}`);
    });

    it('tunnels to a plain http:// server too', async () => {
      const file = kubeconfig('config', { server: `http://127.0.0.1:${plainPort}`, 'proxy-url': `http://127.0.0.1:${proxyPort}` }, { token: 'abc' });
      expect(await get(kubeconfigEndpoint(file))).to.deep.equal({ authorization: 'Bearer abc' });
      expect(connects).to.have.length(2);
    });

    it('says when the proxy refuses, and refuses socks5 proxies at load', async () => {
      const refused = kubeconfig('config', { server: 'https://127.0.0.1:1', 'proxy-url': `http://127.0.0.1:${proxyPort}` }, {});
      expect(await failure(kubeconfigEndpoint(refused))).to.equal(`cannot reach the Kubernetes API at https://127.0.0.1:1: proxy 127.0.0.1:${proxyPort} refused CONNECT 127.0.0.1:1: HTTP/1.1 403 Forbidden`);
      const socks = kubeconfig('socks', { 'proxy-url': 'socks5://127.0.0.1:1080' }, {});
      expect(() => kubeconfigEndpoint(socks)).to.throw(`kubeconfig ${socks}: cluster k: proxy-url socks5:// is not supported; pullfix tunnels through http:// and https:// proxies (CONNECT) only`);
    });
  });

  describe('which kubeconfig, which context', () => {
    const two = (name: string, current: string, clusters: string, users = ''): string =>
      write(name, [`current-context: ${current}`, 'contexts: [{name: a, context: {cluster: one, user: u}}, {name: b, context: {cluster: two, user: u}}]', clusters, users].join('\n'));

    it('merges KUBECONFIG files as kubectl does: the first file wins per name and for current-context; missing files are skipped', () => {
      const first = two('first', 'a', `clusters: [{name: one, cluster: {server: "https://first.example"}}]`, 'users: [{name: u, user: {token: from-first}}]');
      const second = two('second', 'b', `clusters: [{name: one, cluster: {server: "https://second.example"}}, {name: two, cluster: {server: "https://two.example"}}]`, 'users: [{name: u, user: {token: from-second}}]');
      const env = { KUBECONFIG: [join(dir, 'missing'), first, second].join(':') };
      const a = loadEndpoint({}, env);
      expect([a.context, a.server.host]).to.deep.equal(['a', 'first.example']);
      const b = loadEndpoint({ context: 'b' }, env);
      expect([b.context, b.server.host]).to.deep.equal(['b', 'two.example']);
    });

    it('--kubeconfig reads that one file, not KUBECONFIG, and must exist', () => {
      const first = two('first', 'a', `clusters: [{name: one, cluster: {server: "https://first.example"}}]`);
      const other = two('other', 'a', `clusters: [{name: one, cluster: {server: "https://other.example"}}]`);
      expect(loadEndpoint({ kubeconfig: other }, { KUBECONFIG: first }).server.host).to.equal('other.example');
      expect(() => loadEndpoint({ kubeconfig: other, context: 'b' }, {})).to.throw(`kubeconfig ${other}: cluster "two" of context b is not defined; add it under clusters`);
      expect(() => loadEndpoint({ kubeconfig: join(dir, 'nope') }, { KUBECONFIG: first })).to.throw(`--kubeconfig ${join(dir, 'nope')}: no such file; give the path of a kubeconfig`);
    });

    it('--context that is not defined names the contexts there are', () => {
      const file = two('config', 'a', 'clusters: [{name: one, cluster: {server: "https://one.example"}}]');
      expect(() => loadEndpoint({ context: 'prod' }, { KUBECONFIG: file })).to.throw(`kubeconfig ${file}: context "prod" (--context) is not defined; contexts: a, b`);
    });

    it('~/.kube/config when KUBECONFIG is not set; no configuration at all is one clear error', () => {
      mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
      writeFileSync(join(dir, 'home', '.kube', 'config'), 'current-context: a\ncontexts: [{name: a, context: {cluster: one}}]\nclusters: [{name: one, cluster: {server: "https://home.example"}}]\n');
      const saved = process.env.HOME;
      try {
        process.env.HOME = join(dir, 'home');
        expect(loadEndpoint({}, {}).server.host).to.equal('home.example');
        process.env.HOME = dir;
        expect(() => loadEndpoint({}, {})).to.throw('no cluster: no ~/.kube/config and not running in a cluster; set KUBECONFIG or pass --kubeconfig');
      } finally {
        process.env.HOME = saved;
      }
    });

    it('refuses an auth-provider user, naming what to use instead', () => {
      const file = kubeconfig('config', {}, { 'auth-provider': { name: 'oidc', config: {} } });
      expect(() => kubeconfigEndpoint(file)).to.throw(`kubeconfig ${file}: user u: auth-provider oidc is not supported; use an exec credential plugin`);
    });
  });

  describe('in a cluster', () => {
    it('KUBERNETES_SERVICE_HOST/PORT, the mounted CA, token and namespace; the token re-read when kubelet rotates it', async () => {
      const sa = join(dir, 'serviceaccount');
      mkdirSync(sa);
      writeFileSync(join(sa, 'ca.crt'), readFileSync(certs.caCert));
      writeFileSync(join(sa, 'token'), 'first\n');
      writeFileSync(join(sa, 'namespace'), 'pullfix-system');
      const endpoint = inClusterEndpoint(sa, { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) }, 0);
      expect(endpoint.namespace).to.equal('pullfix-system');
      expect(await get(endpoint)).to.deep.include({ authorization: 'Bearer first' });
      writeFileSync(join(sa, 'token'), 'rotated\n');
      expect(await get(endpoint)).to.deep.include({ authorization: 'Bearer rotated' });
    });

    it('is what loadEndpoint takes when there is no kubeconfig', () => {
      const saved = process.env.HOME;
      try {
        process.env.HOME = dir;
        expect(() => loadEndpoint({}, { KUBERNETES_SERVICE_HOST: '127.0.0.1' })).to.throw('service account CA /var/run/secrets/kubernetes.io/serviceaccount/ca.crt: cannot be read (ENOENT)');
      } finally {
        process.env.HOME = saved;
      }
    });
  });
});
