/**
 * The normalize component's entry: one raw line -> one document or a rejection (line.ts, where
 * the decisions are written down), with contexts whose per-model counts of unparsed and
 * overflowed values go to the agent's /metrics (prom-client). The normalize worker builds its
 * contexts from context.ts with plain tallies instead, so that its isolate does not load
 * prom-client.
 */
import type { InputConfig } from '../config/schema.ts';
import { featuresOverflow, valuesUnparsed } from '../telemetry/metrics.ts';
import { NormalizeContext, type ModelCounters, type NormalizeContextOptions } from './context.ts';

export * from './line.ts';
export { NormalizeContext, type ModelCounters, type NormalizeStats } from './context.ts';
export { MAX_DEPTH, MAX_LIST_ITEMS } from './accumulator.ts';
export { lineTooLongReason, REJECT_CODES, rejectTooLong, type Rejection } from './reject.ts';

/** The agent's per-model counters (driftbeat_values_unparsed_total, driftbeat_features_overflow_total). */
export const metricCounters: ModelCounters = {
  unparsed: (model) => valuesUnparsed.labels(model),
  overflow: (model) => featuresOverflow.labels(model),
};

export function createNormalizeContext(
  input: InputConfig,
  opts: Omit<NormalizeContextOptions, 'counters'> & { counters?: ModelCounters },
): NormalizeContext {
  return new NormalizeContext(input, { ...opts, counters: opts.counters ?? metricCounters });
}
