/**
 * The rule types: the one list from which the rest is derived.
 *
 * - the type names (`RuleType`, `RULE_TYPES`, in this order: the schema's union, `rules/schema.json`,
 *   the "expected one of" message of load.ts);
 * - the schema's description of each type (schema.ts, quality-schema.ts -> rules/schema.json);
 * - which fields suit a type and what a field is taken to be without a profile (plan.ts);
 * - the README's rule table (docs.ts; a test fails when the README is stale).
 *
 * Adding a type: add its entry here; the compiler then asks for its schema (schema.ts `SCHEMAS`),
 * its planner (plan.ts `PLANNERS`) and its evaluator (evaluate.ts `EVALUATORS`).
 * Pure data, no imports but types: every layer may read it.
 */

/** A field's kind as the planner sees it (reference profile types). */
export type FieldType = 'num' | 'cat' | 'bool' | 'text';

export interface RuleTypeInfo {
  /** The schema's description of `type: <name>` (rules/schema.json). */
  summary: string;
  /** README: what it checks. */
  checks: string;
  /** README: the condition when nothing else is set. */
  condition: string;
  /** The field kinds the type evaluates (undefined: any field). */
  suits?: readonly FieldType[];
  /** Said in "a <type> rule needs a <kind> field". */
  kindName: string;
  /** What a field is taken to be when no profile says (distribution_shift decides from the data). */
  implied?: FieldType;
}

export const RULE_TYPE_INFO = {
  unseen_categories: {
    summary: 'Values of categorical fields that the reference never saw.',
    checks: 'values of categorical fields not in the reference set (nulls are not unseen)',
    condition: "any unseen value (`max_unseen_count: 0`), or `max_unseen_share` as TFDV's `min_domain_mass`",
    suits: ['cat', 'bool'],
    kindName: 'categorical (or boolean)',
    implied: 'cat',
  },
  missing_spike: {
    summary: 'Share of missing values (null, NaN, "", NA strings) per field against the reference share.',
    checks: 'NA share per field',
    condition: "Evidently's: share > reference share x 1.1 (> 0 without a reference); optional `min_absolute_increase`",
    kindName: 'any',
  },
  oov_rate: {
    summary: 'Share of out-of-vocabulary tokens in text fields (vocabulary of the reference profile).',
    checks: 'share of tokens not in the training vocabulary; top new words',
    condition: '`max_oov_share` (0.05)',
    suits: ['text'],
    kindName: 'text',
    implied: 'text',
  },
  distribution_shift: {
    summary: 'Drift of input and prediction distributions (Evidently stat tests).',
    checks: 'psi, kl_div, jensenshannon, hellinger, wasserstein, ks, chisquare, z, l_infinity; `auto` as Evidently',
    condition: "the method's Evidently default (p 0.05; distance 0.1)",
    suits: ['num', 'cat', 'bool'],
    kindName: 'numeric, categorical or boolean',
  },
  prediction_stats: {
    summary: 'Statistics of predictions (or numeric inputs) against bounds or the reference mean.',
    checks: 'mean, median, std, min, max, pN against bounds, or the mean within k standard errors of the reference',
    condition: 'the bounds you set',
    suits: ['num'],
    kindName: 'numeric',
    implied: 'num',
  },
  volume: {
    summary: 'Too few (model down) or too many (traffic spike) predictions per window.',
    checks: 'predictions per window: min/max counts, or a ratio to a past window',
    condition: 'the counts you set',
    kindName: 'any',
  },
  model_quality: {
    summary: 'Quality of predictions against their actual outcomes (kind: feedback inputs): accuracy, precision, recall, F1, ROC AUC, log loss; MAE, RMSE, MAPE, mean error, R².',
    checks: 'accuracy, precision, recall, f1 (positive class, `_macro`, `_weighted`), roc_auc, log_loss; mae, mse, rmse, mape, mean_error, r2; label_coverage, from the joined outcomes',
    condition: 'the bounds you set: `min`/`max`, or `max_drop`/`max_increase` against the reference',
    kindName: 'any',
  },
} as const satisfies Record<string, RuleTypeInfo>;

export type RuleType = keyof typeof RULE_TYPE_INFO;

/** Every rule type, in the order of RULE_TYPE_INFO. */
export const RULE_TYPES = Object.keys(RULE_TYPE_INFO) as readonly RuleType[] as readonly [RuleType, ...RuleType[]];

/** The entry of a type, widened to RuleTypeInfo (optional keys readable). */
export function ruleTypeInfo(type: RuleType): RuleTypeInfo {
  return RULE_TYPE_INFO[type];
}

/** Whether a field of kind `t` suits a rule type (an unknown kind suits every type). */
export function suits(type: RuleType, t: FieldType | undefined): boolean {
  const kinds = ruleTypeInfo(type).suits;
  return kinds === undefined || (t !== undefined && kinds.includes(t));
}
