/**
 * Results in the embedded store: table `results` (component `results` of schema_version).
 *
 *   results(id VARCHAR PRIMARY KEY, rule, type, model, version, field, segment,
 *           window_from TIMESTAMPTZ, window_to TIMESTAMPTZ, status, statistic, value DOUBLE,
 *           threshold DOUBLE, drifted BOOLEAN, reference_count BIGINT, current_count BIGINT,
 *           severity, reference, error, details JSON, evaluated_at TIMESTAMPTZ,
 *           threshold_direction, threshold_unit)   -- threshold = { value, direction, unit }
 */
import { migrate } from '../sinks/embedded/schema.ts';
import type { EmbeddedStore } from '../sinks/embedded/store.ts';
import type { RuleResult } from './result.ts';
import { resultId, type ResultsWriter } from './writer.ts';

export const RESULTS_TABLE = 'results';
export const RESULTS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${RESULTS_TABLE} (
    id VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    version VARCHAR,
    field VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,
    window_from TIMESTAMPTZ NOT NULL,
    window_to TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,
    statistic VARCHAR NOT NULL,
    value DOUBLE,
    threshold DOUBLE,
    drifted BOOLEAN NOT NULL,
    reference_count BIGINT,
    current_count BIGINT NOT NULL,
    severity VARCHAR NOT NULL,
    reference VARCHAR NOT NULL,
    error VARCHAR,
    details JSON NOT NULL,
    evaluated_at TIMESTAMPTZ NOT NULL
  )`,
  // threshold.ts: the threshold column is its value; the side that breaches and the unit beside it.
  `ALTER TABLE ${RESULTS_TABLE} ADD COLUMN IF NOT EXISTS threshold_direction VARCHAR;
   ALTER TABLE ${RESULTS_TABLE} ADD COLUMN IF NOT EXISTS threshold_unit VARCHAR`,
];

const COLUMNS = 'id, rule, type, model, version, field, segment, window_from, window_to, status, statistic, value, threshold, drifted, reference_count, current_count, severity, reference, error, details, evaluated_at, threshold_direction, threshold_unit';

export class EmbeddedResultsWriter implements ResultsWriter {
  readonly #store: EmbeddedStore;
  #ready: Promise<unknown> | undefined;

  /** Uses the agent's open store; does not close it. */
  constructor(store: EmbeddedStore) {
    this.#store = store;
  }

  #init(): Promise<unknown> {
    this.#ready ??= migrate(this.#store, 'results', RESULTS_MIGRATIONS);
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async write(results: readonly RuleResult[]): Promise<void> {
    if (!results.length) return;
    await this.#init();
    await this.#store.transaction(async (tx) => {
      for (const r of results) {
        await tx.run(
          `INSERT OR REPLACE INTO ${RESULTS_TABLE} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::TIMESTAMPTZ, $9::TIMESTAMPTZ, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20::JSON, $21::TIMESTAMPTZ, $22, $23)`,
          [resultId(r), r.rule, r.type, r.model, r.version ?? null, r.field, r.segment, r.window.from, r.window.to, r.status, r.statistic,
            num(r.value), num(r.threshold?.value ?? null), r.drifted, r.reference_count, r.current_count, r.severity, r.reference, r.error ?? null,
            JSON.stringify(r.details), r.evaluated_at, r.threshold?.direction ?? null, r.threshold?.unit ?? null],
        );
      }
    });
  }

  async lastWindowEnd(rule: string): Promise<Date | undefined> {
    await this.#init();
    const rows = await this.#store.all<{ t: string | null }>(`SELECT max(window_to) AS t FROM ${RESULTS_TABLE} WHERE rule = $1`, [rule]);
    const t = rows[0]?.t;
    return t ? new Date(t) : undefined;
  }

  async close(): Promise<void> {}
}

/** DOUBLE columns take finite numbers only; Infinity/NaN are stored as NULL. */
function num(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : v;
}
