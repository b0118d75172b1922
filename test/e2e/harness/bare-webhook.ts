// The cheapest webhook there is, as a process of its own like pullfix: node:https, the body
// parsed, `allowed: true` answered; in the namespaces named on its command line it answers
// with a fixed JSONPatch instead (the patch pullfix would send), so that the API server's cost of
// applying a patch is told apart from a webhook's own. One line per review on stdout (its log
// file), which is how the caller counts the calls.
//
//   node dist/test/e2e/harness/bare-webhook.js CERT KEY PORT PATCH_BASE64 [NAMESPACE ...]
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { allowedResponse } from '../../../bench/common.js';

const [cert, key, port, patch, ...patching] = process.argv.slice(2);
if (!cert || !key || !port || patch === undefined) {
  process.stderr.write('usage: bare-webhook.js CERT KEY PORT PATCH_BASE64 [NAMESPACE ...]\n');
  process.exit(2);
}
const patchNamespaces = new Set(patching);
const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { namespace?: string } };
    const review = allowedResponse(body) as { response: Record<string, unknown> };
    if (patchNamespaces.has(body.request?.namespace ?? '')) Object.assign(review.response, { patchType: 'JSONPatch', patch });
    const out = JSON.stringify(review);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    process.stdout.write(`review ${body.request?.namespace ?? ''}\n`);
  });
});
server.keepAliveTimeout = 95_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening on 127.0.0.1:${port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
