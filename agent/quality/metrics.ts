/** Counters of the join (served on /metrics with the agent's own). */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../telemetry/metrics.ts';

export const outcomesJoined = new Counter({ name: 'driftbeat_outcomes_joined_total', help: 'Outcomes joined with their prediction and written.', labelNames: ['model'], registers: [registry] });
export const outcomesGivenUp = new Counter({ name: 'driftbeat_outcomes_given_up_total', help: 'Outcomes whose prediction was not stored within give_up_after (dead-lettered).', labelNames: ['model'], registers: [registry] });
export const outcomesRefused = new Counter({ name: 'driftbeat_outcomes_refused_total', help: 'Outcomes that could not be compared with their prediction (dead-lettered).', labelNames: ['model'], registers: [registry] });
export const outcomesPending = new Gauge({ name: 'driftbeat_outcomes_pending', help: 'Outcomes waiting for their prediction to be stored.', labelNames: ['model'], registers: [registry] });
