/**
 * Second thoughts on a built profile (pure): columns that were profiled as asked but are probably
 * not what the user meant. Each warning names the file and the column and says what to pass.
 *
 * - Free text profiled as a category: almost every row has its own value and the values are
 *   sentences. Every new text would be an "unseen category"; `fields.text` checks its words instead.
 * - A prediction profiled as a feature: a flat file without --prediction-columns where a column is
 *   named like a model output (proba, y_pred, ...): its drift would be reported as input drift.
 */
import type { FieldProfile, ReferenceProfile } from './profile.ts';

export interface ReviewContext {
  /** As the user wrote it. */
  dataPath: string;
  layout: 'logs' | 'flat';
  /** --prediction-columns was given (the user said which columns are predictions). */
  predictionColumnsGiven: boolean;
}

/** At least this many values before a column is judged (a tiny file says nothing). */
export const FREE_TEXT_MIN_VALUES = 10;
/** Distinct values per present value from which a column looks like free text (with the words below). */
export const FREE_TEXT_MIN_DISTINCT_SHARE = 0.5;
/** Average words per value from which a column looks like sentences, not codes or ids. */
export const FREE_TEXT_MIN_WORDS = 3;

const PREDICTION_NAME = /^(y_?)?(proba|probas|probability|probabilities|prob|predict_proba|pred|preds|prediction|predicted|y_hat|yhat|score_\w+|confidence)(_\w+)?$|_(proba|prob|probability|pred|prediction)$/i;
const PROBABILITY_NAME = /prob|confidence|score/i;

function columnOf(f: FieldProfile, layout: ReviewContext['layout']): string {
  const name = f.field.replace(/^(features|prediction|text)\./, '');
  return layout === 'flat' ? `column "${name}"` : `features key "${name}"`;
}

function averageWords(categories: readonly { value: string; count: number }[]): number {
  let words = 0;
  let n = 0;
  for (const c of categories) {
    words += c.value.trim().split(/\s+/).filter(Boolean).length * c.count;
    n += c.count;
  }
  return n === 0 ? 0 : words / n;
}

export function reviewProfile(profile: ReferenceProfile, ctx: ReviewContext): string[] {
  const out: string[] = [];
  const file = `"${ctx.dataPath}"`;
  for (const f of profile.fields) {
    if (f.kind !== 'feature') continue;
    const present = f.count - f.missing_count;
    const name = f.field.replace(/^features\./, '');
    if (f.type === 'cat' && present >= FREE_TEXT_MIN_VALUES && f.distinct_count >= FREE_TEXT_MIN_DISTINCT_SHARE * present) {
      const words = averageWords(f.categories ?? []);
      if (words >= FREE_TEXT_MIN_WORDS) {
        out.push(
          `${file} ${columnOf(f, ctx.layout)} looks like free text (${f.distinct_count} distinct values in ${present} rows, ${words.toFixed(1)} words on average) ` +
            `and is profiled as a category, so nearly every new value would be "unseen"; add it to the input's fields.text (fields: { text: [${name}] }) to check its words instead`,
        );
      }
    }
    if (ctx.layout === 'flat' && !ctx.predictionColumnsGiven && PREDICTION_NAME.test(name)) {
      const inUnit = f.type === 'num' && f.numeric !== undefined && f.numeric.min >= 0 && f.numeric.max <= 1;
      if (f.type === 'num' && PROBABILITY_NAME.test(name) && !inUnit) continue;
      out.push(
        `${file} ${columnOf(f, ctx.layout)} looks like a prediction (its name${inUnit ? ', values in [0, 1]' : ''}) but is profiled as a feature; ` +
          `if it is the model's output, pass --prediction-columns ${name} (with the other prediction columns, comma-separated)`,
      );
    }
  }
  return out;
}
