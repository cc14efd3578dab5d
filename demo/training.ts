/**
 * The demo's training file: what the fraud model was trained on, as a flat CSV (one column per
 * feature, then score and label), drawn from the clean generator with its own seed. The reference
 * profiles of both versions are built from it, as `driftbeat reference build` would be run on a
 * real training set.
 */
import { writeFileSync } from 'node:fs';
import { createGenerator, FEATURE_TYPES } from './generate.ts';

export const TRAINING_COLUMNS = [...Object.keys(FEATURE_TYPES), 'score', 'label'] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes `rows` clean training rows to `path` (CSV with a header); returns the rows written. */
export function writeTrainingCsv(path: string, rows = 20_000, seed = 7): number {
  const gen = createGenerator({ seed });
  const out: string[] = [TRAINING_COLUMNS.join(',')];
  for (let i = 0; i < rows; i++) {
    const rec = JSON.parse(gen.next()) as { features: Record<string, unknown>; prediction: { score: number; label: string } };
    const values = TRAINING_COLUMNS.map((c) => (c === 'score' ? rec.prediction.score : c === 'label' ? rec.prediction.label : rec.features[c]));
    out.push(values.map(csvCell).join(','));
  }
  writeFileSync(path, out.join('\n') + '\n');
  return rows;
}
