/**
 * The agent's own metrics (DESIGN.md section 9), one registry per process, served on /metrics.
 * Components import the counters they update from here so names stay in one place.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'driftbeat_process_' });

export const linesRead = new Counter({ name: 'driftbeat_lines_read_total', help: 'Lines read from input files.', labelNames: ['input'], registers: [registry] });
export const bytesRead = new Counter({ name: 'driftbeat_bytes_read_total', help: 'Bytes read from input files.', labelNames: ['input'], registers: [registry] });
export const docsIndexed = new Counter({ name: 'driftbeat_documents_indexed_total', help: 'Documents accepted by the output (new).', labelNames: ['output'], registers: [registry] });
export const docsDuplicate = new Counter({ name: 'driftbeat_documents_duplicate_total', help: 'Documents the output already had (409 / existing id): delivered.', labelNames: ['output'], registers: [registry] });
export const deadLetters = new Counter({ name: 'driftbeat_dead_letters_total', help: 'Lines or documents sent to the dead letter.', labelNames: ['reason'], registers: [registry] });
export const retries = new Counter({ name: 'driftbeat_output_retries_total', help: 'Retried bulk requests or items.', labelNames: ['output', 'cause'], registers: [registry] });
export const outputErrors = new Counter({ name: 'driftbeat_output_errors_total', help: 'Failed output requests (before retry).', labelNames: ['output', 'kind'], registers: [registry] });
export const registryLagBytes = new Gauge({ name: 'driftbeat_registry_lag_bytes', help: 'Bytes in input files not yet acknowledged (file size - acked offset), summed.', registers: [registry] });
export const queueBytes = new Gauge({ name: 'driftbeat_queue_bytes', help: 'Bytes of lines read and not yet acknowledged (memory budget in use).', registers: [registry] });
export const queueBudgetBytes = new Gauge({ name: 'driftbeat_queue_budget_bytes', help: 'Memory budget for the queue (queue.max_bytes).', registers: [registry] });
export const filesOpen = new Gauge({ name: 'driftbeat_files_open', help: 'Files being harvested.', registers: [registry] });
export const filesWaiting = new Gauge({ name: 'driftbeat_files_waiting', help: 'Files found but not opened because max_open_files is reached.', registers: [registry] });
export const filesLimitReached = new Counter({ name: 'driftbeat_files_open_limit_reached_total', help: 'Times an input reached max_open_files (a file had to wait for a descriptor).', registers: [registry] });
export const ruleDuration = new Histogram({ name: 'driftbeat_rule_duration_seconds', help: 'Rule evaluation time.', labelNames: ['rule', 'status'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30], registers: [registry] });
export const rulesLoaded = new Gauge({ name: 'driftbeat_rules_loaded', help: 'Rules loaded from rules.path and running.', registers: [registry] });
export const rulesInvalid = new Gauge({ name: 'driftbeat_rules_invalid', help: 'Rule files of rules.path that failed to load and are skipped (see the log or /healthz).', registers: [registry] });
export const ruleEvaluations = new Counter({ name: 'driftbeat_rule_evaluations_total', help: 'Rule evaluations by status (ok, drifted, no_data, error).', labelNames: ['rule', 'status'], registers: [registry] });
export const alertsSent = new Counter({ name: 'driftbeat_alerts_sent_total', help: 'Alert messages delivered.', labelNames: ['notifier', 'kind'], registers: [registry] });
export const alertsFailed = new Counter({ name: 'driftbeat_alerts_undeliverable_total', help: 'Alert messages given up after their retry budget.', labelNames: ['notifier'], registers: [registry] });
export const valuesUnparsed = new Counter({ name: 'driftbeat_values_unparsed_total', help: 'Feature or prediction values whose type disagrees with the known type of the field; kept as strings in features_unparsed.', labelNames: ['model'], registers: [registry] });
export const featuresOverflow = new Counter({ name: 'driftbeat_features_overflow_total', help: 'Feature values whose name is beyond max_features distinct names of the model; kept in features_overflow.', labelNames: ['model'], registers: [registry] });
