// A kubeconfig cluster's `proxy-url`: every connection to the API server is a tunnel opened with
// HTTP CONNECT through an http:// or https:// proxy (what kubectl does for an https API server),
// then TLS to the API server inside it, so the proxy never sees the requests. Proxy credentials
// come from the URL's user info (Proxy-Authorization: Basic). socks5 proxies are not supported.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { KubeConfigError } from './kubeconfig.js';

export const PROXY_PROTOCOLS = ['http:', 'https:'];

export function parseProxyUrl(text: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KubeConfigError(`${where}: proxy-url ${JSON.stringify(text)} is not a URL; write e.g. http://proxy.example:3128`);
  }
  if (!PROXY_PROTOCOLS.includes(url.protocol)) {
    throw new KubeConfigError(`${where}: proxy-url ${url.protocol}// is not supported; pullfix tunnels through http:// and https:// proxies (CONNECT) only`);
  }
  return url;
}

type Callback = (err: Error | null, socket?: Duplex) => void;

/** Opens a CONNECT tunnel to host:port through `proxy`; resolves with the raw socket. */
function tunnel(proxy: URL, host: string, port: number, done: (err: Error | null, socket?: net.Socket | tls.TLSSocket) => void): void {
  const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');
  const socket = proxy.protocol === 'https:' ? tls.connect({ host: proxyHost, port: proxyPort, servername: proxyHost }) : net.connect({ host: proxyHost, port: proxyPort });
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const auth = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n` : '';
  let buffered = Buffer.alloc(0);
  const fail = (err: Error): void => {
    socket.destroy();
    done(new Error(`proxy ${proxy.host}: ${err.message}`));
  };
  socket.once('error', fail);
  socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
  });
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buffered.length > 16_384) fail(new Error('answered CONNECT with an oversized header'));
      return;
    }
    socket.off('data', onData);
    socket.off('error', fail);
    const statusLine = buffered.subarray(0, buffered.indexOf('\r\n')).toString('latin1');
    const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    if (code !== 200) {
      socket.destroy();
      done(new Error(`proxy ${proxy.host} refused CONNECT ${target}: ${statusLine || 'no answer'}`));
      return;
    }
    // Whatever followed the header belongs to the tunnel (the server speaks first only in TLS 1.3
    // after the client hello, so this is empty in practice); put it back.
    const rest = buffered.subarray(end + 4);
    if (rest.length > 0) socket.unshift(rest);
    done(null, socket);
  };
  socket.on('data', onData);
}

/**
 * A keep-alive agent whose connections are CONNECT tunnels through `proxy`: TLS options of the
 * request (ca, cert, key, servername, rejectUnauthorized) apply to the API server in the tunnel.
 */
export function proxyAgent(proxy: URL, secure: boolean, options: http.AgentOptions): http.Agent {
  const Base = secure ? https.Agent : http.Agent;
  const agent = new Base(options);
  // Node's Agent accepts a connection handed over later through the callback.
  (agent as unknown as { createConnection: (o: tls.ConnectionOptions & { host: string; port: number }, cb: Callback) => undefined }).createConnection = (o, cb) => {
    tunnel(proxy, o.host, Number(o.port), (err, socket) => {
      if (err || !socket) return cb(err ?? new Error('no tunnel'));
      if (!secure) return cb(null, socket);
      const secured = tls.connect({ ...o, socket, servername: o.servername ?? (net.isIP(o.host) ? undefined : o.host) } as tls.ConnectionOptions);
      cb(null, secured);
    });
    return undefined;
  };
  return agent;
}
