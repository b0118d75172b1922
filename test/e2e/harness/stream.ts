// A steady stream of Deployment creates against the real API server, the way CI pipelines and
// controllers hit a webhook while it is upgraded or crashes: one POST every 1/rate seconds,
// whatever the answers (a slow answer does not slow the stream), over keep-alive connections
// with the admin client certificate.
//
// Each create is a server-side dry run (`?dryRun=All`): it goes through the whole admission
// chain, pullfix's webhooks called exactly as for a stored create (pullfix declares
// sideEffects: None), refused or admitted the same way, and the answer is the object as it would
// be stored, patch applied. Nothing is stored: thousands of stored Deployments would have the
// controller-manager (20 requests/s to the API server by default) creating their ReplicaSets for
// minutes, and the rollouts under test would wait behind them. What each create got back is
// recorded: its status, and for an admitted one whether pullfix patched it.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { TestCluster } from './cluster.js';
import { changesNote, podSpecOf, pullPolicies } from './workloads.js';

type Json = Record<string, any>;

export interface StreamOptions {
  /** Creates per second (each namespace gets this many). */
  rate: number;
  /** The namespaces to create in, round after round. */
  namespaces: string[];
  /** Image of the Deployments' container; the policy pullfix gives it is what start() is told to expect. */
  image: string;
  /** Prefix of the Deployments' names (unique per stream). */
  prefix: string;
}

export interface Refusal {
  namespace: string;
  status: number;
  message: string;
  /** Milliseconds since the stream started. */
  atMs: number;
}

export interface StreamCounts {
  namespace: string;
  sent: number;
  created: number;
  refused: number;
  /** Admitted and patched: the container has the expected policy and the Deployment pullfix's note. */
  patched: number;
  /** Admitted objects pullfix did not patch, by name. */
  unpatched: string[];
  /** Refusals' distinct messages, with counts. */
  reasons: Record<string, number>;
}

export class CreateStream {
  private readonly agent: https.Agent;
  private readonly tls: https.RequestOptions;
  private readonly url: URL;
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<void>>();
  private readonly created = new Map<string, string[]>();
  private readonly unpatched = new Map<string, string[]>();
  private expected = '';
  private readonly refusals: Refusal[] = [];
  private readonly sent = new Map<string, number>();
  private started = 0;
  private seq = 0;

  constructor(cluster: TestCluster, private readonly opts: StreamOptions) {
    this.url = new URL(cluster.apiServerUrl);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    this.tls = { ca: readFileSync(cluster.pki.caCert), cert: readFileSync(cluster.pki.adminCert), key: readFileSync(cluster.pki.adminKey) };
    for (const ns of opts.namespaces) {
      this.created.set(ns, []);
      this.unpatched.set(ns, []);
      this.sent.set(ns, 0);
    }
  }

  /** Starts sending; `expected` is the container's policy in an object pullfix patched. */
  start(expected: string): this {
    this.expected = expected;
    this.started = Date.now();
    const tick = (): void => {
      const n = ++this.seq;
      for (const ns of this.opts.namespaces) this.track(this.create(ns, `${this.opts.prefix}-${n}`));
    };
    tick();
    this.timer = setInterval(tick, 1000 / this.opts.rate);
    return this;
  }

  /** Stops sending and waits for every answer. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.agent.destroy();
  }

  /** Seconds the stream ran and creates sent per second, over all namespaces. */
  get achievedRate(): number {
    const total = [...this.sent.values()].reduce((a, b) => a + b, 0);
    return total / this.opts.namespaces.length / Math.max(0.001, this.seq / this.opts.rate);
  }

  refusalsIn(namespace: string): Refusal[] {
    return this.refusals.filter((r) => r.namespace === namespace);
  }

  /** What happened in `namespace`: sent, refused (with why), admitted, and admitted patched. */
  counts(namespace: string): StreamCounts {
    const names = this.created.get(namespace) ?? [];
    const unpatched = this.unpatched.get(namespace) ?? [];
    const refused = this.refusalsIn(namespace);
    const reasons: Record<string, number> = {};
    for (const r of refused) {
      // The API server's message starts with the webhook's name and ends with the cause
      // (`connect: connection refused`, `EOF`, a timeout): keep both ends.
      const key = `${r.status}: ${r.message.length > 200 ? `${r.message.slice(0, 90)} … ${r.message.slice(-100)}` : r.message}`;
      reasons[key] = (reasons[key] ?? 0) + 1;
    }
    return { namespace, sent: this.sent.get(namespace) ?? 0, created: names.length, refused: refused.length, patched: names.length - unpatched.length, unpatched, reasons };
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private create(namespace: string, name: string): Promise<void> {
    this.sent.set(namespace, (this.sent.get(namespace) ?? 0) + 1);
    const body = JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: this.opts.image }] } },
      },
    });
    const at = Date.now() - this.started;
    return new Promise((resolve) => {
      const req = https.request({
        ...this.tls,
        agent: this.agent,
        host: this.url.hostname,
        port: this.url.port,
        method: 'POST',
        path: `/apis/apps/v1/namespaces/${namespace}/deployments?dryRun=All`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 60_000,
      }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => {
          if (res.statusCode === 201) {
            (this.created.get(namespace) as string[]).push(name);
            const admitted = JSON.parse(text) as Json;
            const patched = pullPolicies(podSpecOf(admitted))['containers/app'] === this.expected && changesNote(admitted) !== undefined;
            if (!patched) (this.unpatched.get(namespace) as string[]).push(name);
          } else {
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              // not a Status: keep the text
            }
            this.refusals.push({ namespace, status: res.statusCode ?? 0, message, atMs: at });
          }
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
      req.on('error', (err) => {
        this.refusals.push({ namespace, status: 0, message: `request failed: ${err.message}`, atMs: at });
        resolve();
      });
      req.end(body);
    });
  }
}
