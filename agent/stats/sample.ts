/**
 * Deterministic sampling for the order-based statistics (KS, Wasserstein), which need raw values.
 * Above a size limit we keep a seeded uniform sample; the same input and seed always give the same
 * sample, so a rule evaluated twice gives the same verdict. A result computed on a sample carries
 * `sampled: true` (driftTest sets it), so people can tell it from an exact one.
 */

/** splitmix32-style generator: small, fast, good enough for choosing a sample. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** FNV-1a, so a rule name or field name can be the seed. */
export function seedFrom(seed: number | string): number {
  if (typeof seed === 'number') return seed >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Reservoir sampling (Algorithm R) with a seeded generator, for values that arrive as a stream. */
export class SeededReservoir<T> {
  readonly limit: number;
  private readonly next: () => number;
  private readonly kept: T[] = [];
  private seen = 0;

  constructor(limit: number, seed: number | string) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`sample limit must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.next = rng(seedFrom(seed));
  }

  add(value: T): void {
    if (this.kept.length < this.limit) {
      this.kept.push(value);
    } else {
      const j = Math.floor(this.next() * (this.seen + 1));
      if (j < this.limit) this.kept[j] = value;
    }
    this.seen++;
  }

  /** True once more values were offered than the limit: the statistic is then computed on a sample. */
  get sampled(): boolean {
    return this.seen > this.limit;
  }

  get count(): number {
    return this.seen;
  }

  values(): T[] {
    return [...this.kept];
  }
}

/**
 * At most `limit` values, chosen uniformly and deterministically from `seed`; a copy of all values
 * when there are no more than `limit`. Statistics computed from a sampled array carry `sampled: true`.
 */
export function seededSample<T>(values: ReadonlyArray<T>, limit: number, seed: number | string = 0): T[] {
  const r = new SeededReservoir<T>(limit, seed);
  for (const v of values) r.add(v);
  return r.values();
}
