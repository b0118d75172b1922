import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a port number (0-65535)`);
  return port;
}

const BINARY_UNITS: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/** A byte count as Kubernetes quantities write one: `67108864`, `65536Ki`, `64Mi`, `1Gi`. */
export function parseBytes(value: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(value);
  const bytes = m ? Number(m[1]) * (BINARY_UNITS[m[2] ?? ''] as number) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a size: write bytes, or a whole number of Ki, Mi or Gi (e.g. 64Mi)`);
  }
  return bytes;
}

/** A whole number of at least 1. */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number of at least 1`);
  return n;
}
