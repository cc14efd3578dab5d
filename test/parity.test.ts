/**
 * Parity: the shared plan fixtures (test/fixtures/plans/*.yml over dataset.ts) run on both
 * backends give the same counts and the same verdicts. The embedded side is real DuckDB; the
 * Elasticsearch side is the real client against the fake server, whose aggregations are computed
 * from the stored documents and answered in the real response formats (test/support/es-aggs.ts),
 * with the reference profile stored by the real ElasticsearchReferenceStore (terms lookups read it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { estypes } from '@elastic/elasticsearch';
import { ElasticsearchOutputSchema } from '../agent/config/schema.ts';
import { EngineClient } from '../agent/engine/client.ts';
import { startEsServer, type EsServer } from './support/es-server.ts';
import { aggregationsHook } from './support/es-aggs.ts';
import { buildDataset, PLANS_DIR, WINDOW, type Dataset } from './fixtures/plans/dataset.ts';
import { openStore, type EmbeddedStore } from '../agent/sinks/embedded/store.ts';
import { EmbeddedSink } from '../agent/sinks/embedded/sink.ts';
import { EmbeddedBackend } from '../agent/backends/embedded/backend.ts';
import { ElasticsearchBackend } from '../agent/backends/elasticsearch/backend.ts';
import { EmbeddedReferenceStore } from '../agent/reference/store-embedded.ts';
import { ElasticsearchReferenceStore } from '../agent/reference/store-elasticsearch.ts';
import { predictionsStream } from '../agent/normalize/document.ts';
import { loadRules } from '../agent/rules/load.ts';
import { evaluateRules, type TickReport } from '../agent/rules/runner.ts';
import type { Answers, Backend, Query } from '../agent/rules/plan.ts';
import type { Rule } from '../agent/rules/schema.ts';

/** Records every query and answer a backend gives. */
class Recording implements Backend {
  readonly name: Backend['name'];
  readonly answers = new Map<string, unknown>();
  readonly queries: Query[] = [];
  constructor(readonly inner: Backend) {
    this.name = inner.name;
  }
  async execute(queries: readonly Query[]): Promise<Answers> {
    this.queries.push(...queries);
    const a = await this.inner.execute(queries);
    for (const [k, v] of a) this.answers.set(k, v instanceof Error ? `ERROR ${v.message}` : Object.fromEntries(v));
    return a;
  }
  explain(queries: readonly Query[]): string {
    return this.inner.explain(queries);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Numbers rounded to 9 significant digits so float summation order does not matter. */
function norm(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) && v !== 0 ? Number(v.toPrecision(9)) : v;
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([k]) => k !== 'evaluated_at').map(([k, x]) => [k, norm(x)]));
  return v;
}

let dir: string;
let data: Dataset;
let store: EmbeddedStore;
let es: EsServer;
let client: EngineClient;
let rules: Rule[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'driftbeat-parity-'));
  data = await buildDataset(dir);
  store = await openStore(join(dir, 'parity.duckdb'));
  await new EmbeddedReferenceStore(store).save(data.profile);
  const sink = new EmbeddedSink({ store });
  await sink.start();
  await sink.send({ events: data.events, bytes: 0 });
  await sink.stop();

  // eslint-disable-next-line prefer-const
  let server: EsServer | undefined;
  es = server = await startEsServer({ onSearch: aggregationsHook((index, id) => server!.doc(index, id)) });
  client = new EngineClient(ElasticsearchOutputSchema.parse({ hosts: [es.url] }));
  await new ElasticsearchReferenceStore(client).save(data.profile);
  const operations: estypes.BulkRequest['operations'] = [];
  for (const e of data.events) operations.push({ create: { _index: predictionsStream('driftbeat', 'fraud'), _id: e.id } }, e.doc);
  const res = await client.bulk({ operations, refresh: true });
  assert.equal(res.errors, false, 'the fixture documents index');
  rules = loadRules([PLANS_DIR]);
});

after(async () => {
  await client?.close();
  await es?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function both(rs: Rule[]): Promise<{ emb: Recording; esb: Recording; e: TickReport; s: TickReport; msearches: number }> {
  const emb = new Recording(new EmbeddedBackend(store));
  const esb = new Recording(new ElasticsearchBackend(client));
  const items = rs.map((rule) => ({ rule, window: WINDOW }));
  const now = () => new Date('2024-03-01T03:00:00Z');
  const e = await evaluateRules(items, { backend: emb, references: new EmbeddedReferenceStore(store), now });
  const before = es.requests.filter((r) => r.path.includes('_msearch')).length;
  const s = await evaluateRules(items, { backend: esb, references: new ElasticsearchReferenceStore(client), now });
  const msearches = es.requests.filter((r) => r.path.includes('_msearch')).length - before;
  return { emb, esb, e, s, msearches };
}

describe('parity of the embedded and Elasticsearch backends over the plan fixtures', () => {
  it('covers every rule type and every query kind', () => {
    assert.deepEqual([...new Set(rules.map((r) => r.type))].sort(), ['distribution_shift', 'missing_spike', 'oov_rate', 'prediction_stats', 'unseen_categories', 'volume']);
  });

  it('each fixture gives the same answers (counts) and the same results on both backends', async () => {
    const kinds = new Set<string>();
    for (const rule of rules) {
      const { emb, esb, e, s } = await both([rule]);
      for (const q of emb.queries) kinds.add(q.kind);
      assert.deepEqual([...esb.answers.keys()].sort(), [...emb.answers.keys()].sort(), `${rule.name}: same queries`);
      for (const [id, a] of emb.answers) {
        assert.ok(typeof a !== 'string', `${rule.name}: embedded query ${id} failed: ${String(a)}`);
        assert.deepEqual(norm(esb.answers.get(id)), norm(a), `${rule.name}: answers of ${id}`);
      }
      const er = e.evaluations[0]!.results;
      const sr = s.evaluations[0]!.results;
      assert.ok(er.length > 0);
      assert.deepEqual(er.filter((r) => r.status === 'error').map((r) => r.error), [], `${rule.name}: no errors`);
      assert.deepEqual(norm(sr), norm(er), `${rule.name}: same results`);
    }
    assert.deepEqual([...kinds].sort(), ['count', 'missing', 'oov_terms', 'percentiles', 'range', 'stats', 'terms', 'text', 'unseen', 'values']);
  });

  it('the fixtures give verdicts a person expects on this data', async () => {
    const { e } = await both(rules);
    const drifted = e.evaluations.flatMap((x) => x.results.filter((r) => r.drifted).map((r) => `${r.rule}:${r.field}:${r.segment}`));
    assert.ok(drifted.includes('p-unseen:features.merchant:'));
    assert.ok(drifted.includes('p-missing:features.dist_km:model.version=1.4.2'));
    assert.ok(!drifted.includes('p-missing:features.dist_km:model.version=1.5.0'));
    assert.ok(drifted.includes('p-oov:text.customer_note:'));
    assert.ok(drifted.includes('p-psi:features.amount:model.version=1.4.2'));
    assert.ok(drifted.includes('p-stats:prediction.score:model.version=1.4.2'));
    // 1.5.0 has no profile of its own: no verdict against 1.4.2's numbers (issue 12).
    const challenger = e.evaluations.flatMap((x) => x.results).find((r) => r.rule === 'p-stats' && r.segment === 'model.version=1.5.0')!;
    assert.equal(challenger.status, 'no_reference');
    assert.ok(!drifted.some((d) => d.startsWith('p-volume')));
  });

  it('all rules of a tick go in one _msearch, two when binning needs the min/max first', async () => {
    const noBins = rules.filter((r) => !['p-psi', 'p-champion'].includes(r.name));
    const one = await both(noBins);
    assert.equal(one.msearches, 1);
    assert.equal(one.s.roundTrips, 1);
    const all = await both(rules);
    assert.equal(all.msearches, 2);
    assert.equal(all.s.roundTrips, 2);
  });

  it('the unseen filter references the category set by a terms lookup, never inline', async () => {
    const { esb } = await both(rules.filter((r) => r.name === 'p-unseen'));
    const text = esb.explain(esb.queries);
    assert.match(text, /"must_not": \[\s*\{\s*"terms": \{\s*"features\.merchant": \{\s*"index": "driftbeat-reference",\s*"id": "fraud@1\.4\.2:features\.merchant",\s*"path": "category_values"/);
    assert.doesNotMatch(text, /"grocery"/);
  });
});
