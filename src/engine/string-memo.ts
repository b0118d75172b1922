// A bounded memo of values parsed from strings that come back request after request (kubectl's
// last-applied annotation, pullfix's own note): the same text parses to the same value, so it is
// parsed once. Bounded in entries and in characters, and strings over a size are not kept (one
// parse of those costs little next to the request that carried them). Oldest first out (a Map
// iterates in insertion order): a hit costs one lookup, and a string still in use that went out
// is parsed again once.
//
// What it hands out is shared between requests, so it is deeply frozen: a write to it throws
// (ES modules are strict) instead of changing the next request's answer.

export interface MemoBounds {
  /** Distinct strings kept. */
  entries: number;
  /** Strings longer than this (UTF-16 code units) are parsed every time. */
  maxString: number;
  /** All the strings kept, together; the parsed values are a small multiple of it. */
  maxTotal: number;
}

/** Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
}

/**
 * The bounds the engine's memos use (the last-applied annotation, pullfix's note): 256 strings,
 * none over 64 KiB, 1 MiB together, so a few MB of heap at most.
 */
export const PARSED_STRING_BOUNDS: MemoBounds = { entries: 256, maxString: 64 * 1024, maxTotal: 1024 * 1024 };

export class StringMemo<T> {
  // `{ value }`: a parse may give undefined, which is kept too.
  private readonly kept = new Map<string, { value: T }>();
  private chars = 0;

  constructor(
    private readonly parse: (raw: string) => T,
    private readonly bounds: MemoBounds,
  ) {}

  /** The parsed value of `raw`, deeply frozen when kept. */
  get(raw: string): T {
    const hit = this.kept.get(raw);
    if (hit) return hit.value;
    if (raw.length > this.bounds.maxString) return this.parse(raw);
    const value = deepFreeze(this.parse(raw));
    this.kept.set(raw, { value });
    this.chars += raw.length;
    while (this.kept.size > this.bounds.entries || this.chars > this.bounds.maxTotal) {
      const oldest = this.kept.keys().next().value as string;
      this.kept.delete(oldest);
      this.chars -= oldest.length;
    }
    return value;
  }

  /** What it holds (tests). */
  size(): { entries: number; chars: number } {
    return { entries: this.kept.size, chars: this.chars };
  }
}
