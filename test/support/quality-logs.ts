/**
 * Prediction and feedback logs built from test/fixtures/quality/quality.json (the rows whose
 * scikit-learn metrics that file records), with the awkward cases a real feedback log has:
 * outcomes out of order, duplicates, a correction whose older label comes later in the file,
 * predictions that arrive after their outcome, and outcomes whose prediction never comes.
 */
import { readFileSync } from 'node:fs';

export const QUALITY = JSON.parse(readFileSync(new URL('../fixtures/quality/quality.json', import.meta.url), 'utf8')) as {
  binary: { ids: string[]; actual: number[]; predicted: number[]; score: number[]; expected: Record<string, { call: string; value: any }> };
  regression: { ids: string[]; actual: number[]; predicted: number[]; expected: Record<string, { call: string; value: any }> };
};

export const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);

export function predictionLines(ids: readonly string[] = QUALITY.binary.ids): string {
  const b = QUALITY.binary;
  const index = new Map(b.ids.map((id, i) => [id, i]));
  return ids.map((id) => {
    const i = index.get(id)!;
    return JSON.stringify({
      timestamp: new Date(T0 + i * 1000).toISOString(),
      request_id: id,
      model_version: i % 2 ? '2.0' : '1.0',
      features: { amount: (i * 37) % 500 },
      prediction: { label: b.predicted[i], score: b.score[i] },
    });
  }).join('\n') + '\n';
}

/** A deterministic shuffle (the order outcomes come back in is not the order of predictions). */
export function shuffled<T>(xs: readonly T[], seed = 7): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 48271) % 2147483647;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export const DUPLICATED = ['b0003', 'b0010', 'b0100', 'b0200', 'b0399'];
export const CORRECTED = ['b0005', 'b0050', 'b0300'];
export const NEVER_PREDICTED = ['zz-1', 'zz-2'];

/** Outcome lines: one per fixture row (shuffled), plus duplicates, stale labels of corrected rows, and two orphans. */
export function feedbackLines(): string {
  const b = QUALITY.binary;
  const labelAt = (i: number, hours: number) => new Date(T0 + i * 1000 + hours * 3600_000).toISOString();
  const lines: string[] = [];
  for (const i of shuffled(b.ids.map((_, i) => i))) {
    lines.push(JSON.stringify({ request_id: b.ids[i], actual: b.actual[i], timestamp: labelAt(i, 2) }));
    if (DUPLICATED.includes(b.ids[i]!)) lines.push(lines[lines.length - 1]!);
    // An older, wrong label read after the right one: the later label time must win.
    if (CORRECTED.includes(b.ids[i]!)) lines.push(JSON.stringify({ request_id: b.ids[i], actual: 1 - b.actual[i]!, timestamp: labelAt(i, 1) }));
  }
  for (const id of NEVER_PREDICTED) lines.push(JSON.stringify({ request_id: id, actual: 1, timestamp: new Date(T0).toISOString() }));
  return lines.join('\n') + '\n';
}
