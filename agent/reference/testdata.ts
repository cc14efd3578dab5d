/** Training-data fixtures shared by the reference tests (not a test file itself). */
import { writeFileSync } from 'node:fs';

/** 60 training rows, flat layout; every NA form of DESIGN.md section 2 appears in `amount`. */
export function csvRows(): Record<string, string>[] {
  const NA_AMOUNT: Record<number, string> = { 3: '', 7: 'NA', 11: 'N/A', 21: 'NaN', 31: 'null', 41: 'None', 51: '-inf', 57: 'inf' };
  const countries = ['DE', 'FR', 'US', '', 'NA', 'DE', 'N/A', 'DE', 'FR', 'None'];
  const notes = ['Card declined, please HELP!', "don't  charge me\ttwice", 'Café au lait now', '', 'NA', 'refund #42 please', '  spaces   everywhere  '];
  const rows: Record<string, string>[] = [];
  for (let i = 0; i < 60; i++) {
    const amount = NA_AMOUNT[i] ?? String(((i * 37) % 101) / 4 + 0.25 * (i % 3));
    const isNew = i % 3 === 0 ? 'true' : i % 3 === 1 ? 'false' : '';
    const score = ((i * 13) % 50) / 50;
    rows.push({
      timestamp: `2024-05-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
      request_id: `r${i}`,
      amount,
      country: countries[i % 10]!,
      is_new: isNew,
      note: notes[i % 7]!,
      score: String(score),
      label: score > 0.5 ? 'fraud' : 'ok',
    });
  }
  return rows;
}

export function writeCsv(path: string, rows: Record<string, string>[]): void {
  const q = (s: string) => (/[",\n\t]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cols = Object.keys(rows[0]!);
  writeFileSync(path, [cols.join(','), ...rows.map((r) => cols.map((c) => q(r[c]!)).join(','))].join('\n') + '\n');
}
