/**
 * Alert state in Elasticsearch/OpenSearch. This file owns the mappings of both indices (setup
 * installs them as templates; init() creates the indices with them when setup has not run).
 *
 *   <prefix>-state    one document per alert (`alert:<key>`), rule cursor (`cursor:<rule>`), silence
 *                     (`silence:<rule>`) and the rules lease (`lease:rules`, see lease.ts); the
 *                     alert state itself is kept unindexed (`enabled: false`): it is read back whole.
 *   <prefix>-alerts   the history of transitions, for Kibana; written with `create` and a
 *                     deterministic `_id`, so a replay is a harmless 409.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { EngineClient } from '../engine/client.ts';
import { EngineResponseError } from '../engine/connection.ts';
import type { Dialect } from '../engine/dialect.ts';
import { bool, date, double, flattened, keyword, long, obj, opaque, stringsAsKeywords, type Mappings } from '../engine/mapping.ts';
import { DriftbeatError } from '../errors.ts';
import { thresholdMapping } from '../results/elasticsearch.ts';
import { redact } from '../telemetry/redact.ts';
import type { AlertState } from './lifecycle.ts';
import type { AlertEvent, Silence, StateStore } from './state.ts';

/** Upper bound of documents read back per kind; more alerts than this are reported, not silently cut. */
const MAX_DOCS = 10_000;

/**
 * `<prefix>-state`: alerts, cursors, silences and the rules lease (lease.ts), told apart by
 * `doc_type`. `dynamic: false`: documents are read by id and by these keys, and a new field in the
 * state must never be able to break a write; the alert state itself is kept whole, unparsed.
 */
export function stateMappings(): Mappings {
  return {
    dynamic: false,
    properties: {
      doc_type: keyword(),
      key: keyword(),
      rule: keyword(),
      status: keyword(),
      updated_at: date,
      window_end: date,
      until: date,
      created_at: date,
      holder: keyword(),
      expires_at: { type: 'date', format: 'epoch_millis' },
      acquired_at: date,
      renewed_at: date,
      state: opaque,
    },
  };
}

/** `<prefix>-alerts`: one AlertEvent (state.ts) per transition, for Kibana and `alerts list`. */
export function alertsMappings(d: Dialect): Mappings {
  return {
    dynamic_templates: [stringsAsKeywords],
    properties: {
      '@timestamp': date,
      event: obj({ kind: keyword(), action: keyword(), id: keyword() }),
      alert: obj({ key: keyword(), from: keyword(), to: keyword(), message: keyword(), silenced: bool }),
      rule: obj({ name: keyword(), type: keyword() }),
      model: obj({ name: keyword(), version: keyword() }),
      field: keyword(),
      segment: keyword(),
      severity: keyword(),
      statistic: keyword(),
      value: double,
      threshold: thresholdMapping,
      window: obj({ from: date, to: date }),
      current_count: long,
      reference_count: long,
      // Details differ per rule type (lists of objects, maps of shares): one flattened field takes them all.
      details: flattened(d),
    },
  };
}

export function stateErr(what: string, err: unknown): DriftbeatError {
  let why = err instanceof Error ? err.message : String(err);
  if (err instanceof EngineResponseError) {
    const body = err.body as { error?: { type?: string; reason?: string } } | undefined;
    why = `HTTP ${err.statusCode}${body?.error?.type ? ` ${body.error.type}: ${body.error.reason ?? ''}` : ''}`;
  }
  return new DriftbeatError('ERR_ALERT_STATE', redact(`alert state store (Elasticsearch): ${what} failed: ${why}; check that the cluster is reachable and that the user may read and write the driftbeat-state and driftbeat-alerts indices`), { cause: err });
}

function isStatus(err: unknown, status: number): boolean {
  return err instanceof EngineResponseError && err.statusCode === status;
}

export class ElasticsearchStateStore implements StateStore {
  readonly kind = 'elasticsearch' as const;
  readonly stateIndex: string;
  readonly alertsIndex: string;
  private readonly client: EngineClient;
  private ready?: Promise<void>;

  constructor(client: EngineClient, options: { indexPrefix?: string } = {}) {
    const prefix = options.indexPrefix ?? 'driftbeat';
    this.client = client;
    this.stateIndex = `${prefix}-state`;
    this.alertsIndex = `${prefix}-alerts`;
  }

  init(): Promise<void> {
    this.ready ??= (async () => {
      const dialect = await this.client.dialect().catch((err: unknown) => { throw stateErr('connecting', err); });
      await this.ensureIndex(this.stateIndex, stateMappings());
      await this.ensureIndex(this.alertsIndex, alertsMappings(dialect));
    })();
    this.ready.catch(() => { this.ready = undefined; });
    return this.ready;
  }

  private async ensureIndex(index: string, mappings: estypes.MappingTypeMapping): Promise<void> {
    try {
      if (await this.client.indices.exists({ index })) return;
      await this.client.indices.create({ index, mappings });
    } catch (err) {
      if (isStatus(err, 400) && /already_exists/.test(JSON.stringify((err as EngineResponseError).body))) return;
      throw stateErr(`creating index ${index}`, err);
    }
  }

  /**
   * Writes do not wait for a refresh (each wait costs up to the index's refresh interval, 1 s:
   * seconds per rule tick on a real engine). Reads, which happen at start and in the CLI, refresh
   * first instead, so they see every write before them, even right after a crash and restart.
   * Best effort: a role without the `maintenance` privilege reads what the last periodic refresh
   * made visible.
   */
  private async refreshForRead(index: string): Promise<void> {
    await this.client.indices.refresh({ index }).catch(() => undefined);
  }

  private async searchAll<T>(docType: string): Promise<T[]> {
    await this.init();
    await this.refreshForRead(this.stateIndex);
    try {
      const r = await this.client.search<T>({ index: this.stateIndex, query: { term: { doc_type: docType } }, size: MAX_DOCS, track_total_hits: true });
      const total = typeof r.hits.total === 'number' ? r.hits.total : r.hits.total?.value ?? 0;
      if (total > MAX_DOCS) throw new DriftbeatError('ERR_ALERT_STATE_TOO_MANY', `alert state store: ${total} ${docType} documents in ${this.stateIndex}, more than ${MAX_DOCS}; reduce group_by cardinality or fields per rule`);
      return r.hits.hits.map((h) => h._source as T);
    } catch (err) {
      if (err instanceof DriftbeatError) throw err;
      throw stateErr(`reading ${docType} documents from ${this.stateIndex}`, err);
    }
  }

  private async bulk(operations: estypes.BulkRequest['operations'], what: string, allowConflicts = false): Promise<void> {
    try {
      const r = await this.client.bulk({ operations });
      if (!r.errors) return;
      const bad = r.items.map((i) => Object.values(i)[0]!).filter((i) => i.error && !(allowConflicts && i.status === 409));
      if (bad.length > 0) throw new DriftbeatError('ERR_ALERT_STATE', `alert state store (Elasticsearch): ${what}: ${bad.length} document(s) refused, first: HTTP ${bad[0]!.status} ${bad[0]!.error?.type}: ${redact(bad[0]!.error?.reason ?? '')}`);
    } catch (err) {
      if (err instanceof DriftbeatError) throw err;
      throw stateErr(what, err);
    }
  }

  async loadAlerts(): Promise<AlertState[]> {
    const docs = await this.searchAll<{ state: AlertState }>('alert');
    return docs.map((d) => d.state);
  }

  async saveAlerts(states: AlertState[]): Promise<void> {
    if (states.length === 0) return;
    await this.init();
    const ops: NonNullable<estypes.BulkRequest['operations']> = [];
    for (const s of states) {
      ops.push({ index: { _index: this.stateIndex, _id: `alert:${s.key}` } });
      ops.push({ doc_type: 'alert', key: s.key, rule: s.rule, status: s.status, updated_at: s.updatedAt, state: s });
    }
    await this.bulk(ops, 'saving alert states');
  }

  async loadCursors(): Promise<Record<string, string>> {
    const docs = await this.searchAll<{ rule: string; window_end: string }>('cursor');
    return Object.fromEntries(docs.map((d) => [d.rule, d.window_end]));
  }

  async saveCursor(rule: string, windowEnd: string): Promise<void> {
    await this.init();
    try {
      await this.client.index({ index: this.stateIndex, id: `cursor:${rule}`, document: { doc_type: 'cursor', rule, window_end: windowEnd } });
    } catch (err) {
      throw stateErr(`saving the cursor of rule "${rule}"`, err);
    }
  }

  async loadSilences(): Promise<Silence[]> {
    const docs = await this.searchAll<Silence & { doc_type?: string }>('silence');
    return docs.map(({ doc_type: _t, ...s }) => s);
  }

  async saveSilence(s: Silence): Promise<void> {
    await this.init();
    try {
      await this.client.index({ index: this.stateIndex, id: `silence:${s.rule}`, document: { doc_type: 'silence', ...s } });
    } catch (err) {
      throw stateErr(`saving the silence of rule "${s.rule}"`, err);
    }
  }

  async recordEvents(events: AlertEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.init();
    const ops: NonNullable<estypes.BulkRequest['operations']> = [];
    for (const e of events) {
      ops.push({ create: { _index: this.alertsIndex, _id: e.event.id } });
      ops.push(e);
    }
    await this.bulk(ops, `writing alert history to ${this.alertsIndex}`, true);
  }

  async history(limit: number): Promise<AlertEvent[]> {
    await this.init();
    await this.refreshForRead(this.alertsIndex);
    try {
      const r = await this.client.search<AlertEvent>({ index: this.alertsIndex, size: limit, sort: [{ '@timestamp': { order: 'desc' } }], query: { match_all: {} } });
      return r.hits.hits.map((h) => h._source as AlertEvent);
    } catch (err) {
      if (isStatus(err, 404)) return [];
      throw stateErr(`reading ${this.alertsIndex}`, err);
    }
  }

  async close(): Promise<void> {}
}
