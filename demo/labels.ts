/**
 * The demo model's ground truth: for every prediction, whether the transaction really was fraud,
 * known some minutes to hours later (a chargeback), written to its own JSON-lines log
 * (`labels/labels-<day>.jsonl`) in the order the outcomes become known. Deterministic: the truth
 * and the delay of a prediction come from a hash of its request id.
 *
 * Normally the truth follows the model's own probability (the model is calibrated, so its ROC AUC
 * is that of a useful model). During the concept-drift change (demo/model.ts, 18:00-21:00) the
 * relation between amount and fraud changes: small amounts (card testing) are fraud, whatever the
 * model says, while every input distribution stays as it was: input-drift rules see nothing, the
 * quality rule sees the AUC fall.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { activeChanges, HOUR_MS } from './model.ts';

/** Labels arrive between 5 minutes and 1 h 55 min after the prediction (the quality rule waits 2 h). */
export const MIN_LABEL_DELAY_MS = 5 * 60_000;
export const MAX_LABEL_DELAY_MS = 115 * 60_000;

/** FNV-1a of a string, as a number in [0, 1). */
function unit(s: string, salt: number): number {
  let h = 0x811c9dc5 ^ salt;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 4294967296;
}

interface PendingLabel { at: number; line: string }

export interface TruthOf { fraud: boolean; delayMs: number }

/** The truth of one prediction (pure): calibrated normally; small amounts are fraud during concept drift. */
export function truthOf(p: { request_id: string; timestamp: string; model_version: string; features: { amount?: number }; prediction: { score: number } }): TruthOf {
  const ts = Date.parse(p.timestamp);
  const changes = activeChanges(ts, p.model_version).map((c) => c.kind);
  let prob = p.prediction.score;
  if (changes.includes('score_shift')) {
    // 1.5.0's score is shifted by +1.5 on the logit; the world is not.
    const logit = Math.log(prob / (1 - prob)) - 1.5;
    prob = 1 / (1 + Math.exp(-logit));
  }
  if (changes.includes('concept_drift')) prob = (p.features.amount ?? 100) < 15 ? 0.35 : 0.02;
  return { fraud: unit(p.request_id, 1) < prob, delayMs: MIN_LABEL_DELAY_MS + unit(p.request_id, 2) * (MAX_LABEL_DELAY_MS - MIN_LABEL_DELAY_MS) };
}

export class LabelWriter {
  readonly dir: string;
  linesWritten = 0;
  readonly #pending: PendingLabel[] = [];

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** One prediction line just written by the model: its outcome becomes known later. */
  predicted(line: string): void {
    const p = JSON.parse(line) as Parameters<typeof truthOf>[0];
    const t = truthOf(p);
    const at = Date.parse(p.timestamp) + t.delayMs;
    this.#pending.push({ at, line: JSON.stringify({ request_id: p.request_id, is_fraud: t.fraud ? 'fraud' : 'legit', labelled_at: new Date(at).toISOString() }) });
  }

  /** Writes every outcome known before `untilMs`, in the order they became known. */
  writeUntil(untilMs: number): number {
    this.#pending.sort((a, b) => a.at - b.at);
    let k = 0;
    while (k < this.#pending.length && this.#pending[k]!.at < untilMs) k++;
    const due = this.#pending.splice(0, k);
    const byFile = new Map<string, string>();
    for (const d of due) {
      const f = join(this.dir, `labels-${new Date(Math.floor(d.at / (24 * HOUR_MS)) * 24 * HOUR_MS).toISOString().slice(0, 10)}.jsonl`);
      byFile.set(f, (byFile.get(f) ?? '') + d.line + '\n');
    }
    for (const [f, text] of byFile) appendFileSync(f, text);
    this.linesWritten += due.length;
    return due.length;
  }
}
