/**
 * What every rule type's evaluation shares (pure): the answers of a plan by side, kind and
 * segment, the skeleton of a result, and the error and no-data results.
 */
import type { ResultStatus, RuleResult } from './result.ts';
import { queryId, type Answers, type FieldPlan, type Payload, type QueryKind, type RulePlan } from './query.ts';

/** A field that cannot be evaluated: its result is status error with this message. */
export class FieldFailure extends Error {}

export interface Ctx {
  plan: RulePlan;
  answers: Answers;
  evaluatedAt: string;
}

export function answer<K extends Payload['kind']>(ctx: Ctx, side: 'cur' | 'ref', kind: K, field: string, seg: string): Extract<Payload, { kind: K }> | undefined {
  return answerById(ctx, queryId(ctx.plan, side, kind as QueryKind, field), seg) as Extract<Payload, { kind: K }> | undefined;
}

export function answerById(ctx: Ctx, id: string, seg: string): Payload | undefined {
  const a = ctx.answers.get(id);
  if (a instanceof Error) throw new FieldFailure(a.message);
  return a?.get(seg);
}

export function base(ctx: Ctx, field: string, segment: string, currentCount: number): RuleResult {
  const r = ctx.plan.rule;
  const out: RuleResult = {
    rule: r.name, type: r.type, model: r.model, field, segment, window: ctx.plan.window,
    status: 'ok', statistic: '', value: null, threshold: null, drifted: false,
    reference_count: null, current_count: currentCount, severity: r.severity, details: {},
    reference: ctx.plan.referenceLabel, evaluated_at: ctx.evaluatedAt,
  };
  if (r.version !== undefined) out.version = r.version;
  return out;
}

export function verdict(r: RuleResult, drifted: boolean): RuleResult {
  r.drifted = drifted;
  r.status = drifted ? 'drifted' : 'ok';
  return r;
}

export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function statisticName(plan: RulePlan): string {
  const r = plan.rule;
  switch (r.type) {
    case 'unseen_categories': return r.maxUnseenShare !== undefined ? 'unseen_share' : 'unseen_count';
    case 'missing_spike': return 'missing_share';
    case 'oov_rate': return 'oov_share';
    case 'distribution_shift': return r.method;
    case 'prediction_stats': return Object.keys(r.stats)[0] ?? 'mean';
    case 'volume': return 'count';
    case 'model_quality': return Object.keys(r.metrics)[0] ?? 'accuracy';
  }
}

/** A result with status error (the message says what to do). */
export function errorResult(ctx: Ctx | { plan: RulePlan; evaluatedAt: string }, field: string, segment: string, currentCount: number, message: string): RuleResult {
  const r = base({ answers: new Map(), ...ctx }, field, segment, currentCount);
  r.status = 'error';
  r.statistic = statisticName(ctx.plan);
  r.error = message;
  return r;
}

/** A result with status no_data: no values of the field where they were needed. */
export function noValues(ctx: Ctx, fp: FieldPlan, seg: string, where: string): RuleResult {
  const r = base(ctx, fp.field, seg, 0);
  r.status = 'no_data' as ResultStatus;
  r.statistic = statisticName(ctx.plan);
  r.details = { reason: `no values of "${fp.path}" in the ${where}` };
  return r;
}
