// Bounds on what the webhook holds at once, sized to the container's memory limit
// (manifests/base/deployment.yaml: 256 MiB). Without them each review body is buffered up to the
// 7 MiB limit with no cap on how many: 40 of the largest at once took the process to 455 MiB.
//
// - Bytes of request bodies in flight: one shared budget. A review's declared Content-Length (or,
//   without one, each chunk as it streams in) is taken from it before anything is buffered, and
//   given back when its answer has been written. A body that does not fit is answered 429 at once
//   and drained, never stored.
// - Connections: server.maxConnections; Node closes the ones beyond it as they arrive ('drop').

/**
 * The default body budget: 32 MiB, four of the largest reviews (7 MiB) at once, or some three
 * thousand of the usual ones (a Pod review is about 10 KiB). A review costs several times its
 * body while it is decided (the body, its text, the parsed object, the engine's copy, garbage not
 * yet collected), so the budget is an eighth of the 256 MiB limit, not more. Measured on the
 * `pullfix serve` process (test/reliability/memory-bounds.test.ts, forty 7 MB reviews at once,
 * from a resident set of 70 MiB at rest): a 32 MiB budget peaked at 163-186 MiB, 64 MiB at
 * 221-245 MiB, no budget at 455 MiB.
 */
export const DEFAULT_MAX_INFLIGHT_BYTES = 32 * 1024 * 1024;

/**
 * The default connection bound: 512. An idle TLS connection costs about 35 KiB (4,000 cost
 * 140 MB), so 512 cost under 20 MiB. The API server keeps a few keep-alive connections per
 * replica of itself; 512 leaves room for many API servers and the 200-connection load test.
 */
export const DEFAULT_MAX_CONNECTIONS = 512;

/** Seconds a refused caller is asked to wait; the API server does not retry a webhook call, other callers may. */
export const RETRY_AFTER_SECONDS = 1;

/** A shared count of bytes, taken before a body is buffered and given back once it is answered. */
export class BodyBudget {
  private used = 0;

  constructor(readonly capacity: number) {}

  /** Bytes taken and not yet given back. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` when they fit in what is left; false (and nothing taken) when they do not. */
  take(bytes: number): boolean {
    if (bytes > this.capacity - this.used) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
