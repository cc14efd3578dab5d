import type { Query, RulePlan } from '../../rules/plan.ts';
import type { ModelQualityRule } from '../../rules/schema.ts';
import type { ConditionParts, PartsInput } from './conditions.ts';

export function qualityInputs(plan: RulePlan): { name: string; side: 'cur' | 'ref'; query: Query }[] {
  return [];
}

export function qualityParts(rule: ModelQualityRule, input: PartsInput, parts: ConditionParts): void {
  parts.unchecked.push({ field: '*', reason: 'todo' });
}
