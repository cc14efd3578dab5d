/**
 * Deterministic samples shared by the stats tests. The same generator, written in Python, produced
 * the expected numbers with numpy/scipy (each test names the call):
 *   def lcg(seed): s = s * 48271 % 2147483647; yield s / 2147483647
 *   normal(seed, n, mu=0, sd=1): mu + sd * ((u1 + u2 + u3 + u4 - 2) * math.sqrt(3))
 * Integer arithmetic and the operation order are identical in both languages, so the samples are
 * bit-for-bit the same.
 */
function* lcg(seed: number): Generator<number> {
  let s = seed;
  for (;;) {
    s = (s * 48271) % 2147483647;
    yield s / 2147483647;
  }
}

const S3 = Math.sqrt(3);

export function normal(seed: number, n: number, mu = 0, sd = 1): number[] {
  const g = lcg(seed);
  const next = (): number => g.next().value as number;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u1 = next();
    const u2 = next();
    const u3 = next();
    const u4 = next();
    out.push(mu + sd * ((u1 + u2 + u3 + u4 - 2) * S3));
  }
  return out;
}

/** math.floor(x * k) / k, to make ties. */
export function rounded(xs: number[], k: number): number[] {
  return xs.map((x) => Math.floor(x * k) / k);
}

export function repeat<T>(value: T, n: number): T[] {
  return new Array<T>(n).fill(value);
}

/** |a - b| <= rel·|b| (or <= rel when b is 0). */
export function close(actual: number, expected: number, rel = 1e-9): boolean {
  if (Object.is(actual, expected)) return true;
  return Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), expected === 0 ? 1 : 0);
}
