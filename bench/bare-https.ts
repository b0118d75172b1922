// The floor of the stack: node:https alone, reading the body, JSON.parse, and answering
// allowed: true with no patch. Same certificate, TLS floor and keep-alive as pullfix.
//   node dist/bench/bare-https.js --tls-cert F --tls-key F --port P --host 127.0.0.1
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { BODY_LIMIT, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS, allowedResponse, flags, required } from './common.js';

const f = flags(process.argv.slice(2));
const server = https.createServer(
  { cert: readFileSync(required(f, 'tls-cert')), key: readFileSync(required(f, 'tls-key')), minVersion: 'TLSv1.2' },
  (req, res) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/mutate') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
    });
    req.on('end', () => {
      let body: unknown;
      try {
        if (size > BODY_LIMIT) throw new Error('too large');
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
        return;
      }
      const out = JSON.stringify(allowedResponse(body));
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out) }).end(out);
    });
  },
);
server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
server.headersTimeout = HEADERS_TIMEOUT_MS;
server.requestTimeout = REQUEST_TIMEOUT_MS;
server.listen(Number(required(f, 'port')), f.get('host') ?? '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
