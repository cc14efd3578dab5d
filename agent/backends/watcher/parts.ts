/**
 * What the per-type part builders (conditions.ts, shift.ts, quality.ts) read and fill in. Types
 * only, apart so that the builders import no one another.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { FieldPlan, RulePlan } from '../../rules/plan.ts';
import type { SidePlan } from './search.ts';

/** What a type's condition gets besides the common params, plus what stays unchecked. */
export interface ConditionParts {
  params: Record<string, unknown>;
  checks: string[];
  unchecked: { field: string; reason: string }[];
  notes: string[];
  profileUsed: boolean;
  /** A compare / array_compare condition deciding the same verdict, when there is one. */
  simple?: estypes.WatcherConditionContainer;
}

/** What every type's part builder reads. */
export interface PartsInput {
  plan: RulePlan;
  /** The plan's fields without a problem. */
  ok: FieldPlan[];
  cur: SidePlan;
  ref: SidePlan | undefined;
  /** A live reference (offset or segment): a second search in the chain. */
  live: boolean;
  indexPrefix: string;
  /** The aggregation name of a query id in a side's search, null when that side has none. */
  name: (side: SidePlan | undefined, id: string) => string | null;
}
