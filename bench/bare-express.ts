// The framework floor: a bare express app doing what bare-https.ts does (express.json parses
// the review, the route answers allowed: true with no patch), behind the same https server,
// certificate and keep-alive settings as pullfix.
//   node dist/bench/bare-express.js --tls-cert F --tls-key F --port P --host 127.0.0.1
import express from 'express';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { BODY_LIMIT, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS, allowedResponse, flags, required } from './common.js';

const f = flags(process.argv.slice(2));
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.post('/mutate', express.json({ type: () => true, limit: BODY_LIMIT }), (req, res) => {
  res.status(200).json(allowedResponse(req.body));
});

const server = https.createServer(
  { cert: readFileSync(required(f, 'tls-cert')), key: readFileSync(required(f, 'tls-key')), minVersion: 'TLSv1.2' },
  app,
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
