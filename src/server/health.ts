// The plain-HTTP operations listener: liveness, readiness and metrics, apart from the TLS
// port (cert-manager's webhook keeps /healthz on a separate plain listener the same way).
import http from 'node:http';
import type { Metrics } from './metrics.js';

export interface ReadinessCheck {
  name: string;
  ok: () => boolean;
}

export function createHealthServer(metrics: Metrics, readiness: readonly ReadinessCheck[]): http.Server {
  return http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url === '/healthz' || url === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === '/readyz') {
      const failing = readiness.filter((check) => !check.ok()).map((check) => check.name);
      const body = readiness.map((check) => `[${failing.includes(check.name) ? '-' : '+'}]${check.name}`).join('\n');
      res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(`${body}\n${failing.length === 0 ? 'ok' : 'not ready'}\n`);
    } else if (url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
}
