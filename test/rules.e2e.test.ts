/**
 * End to end on the embedded store: a seeded log whose second hour carries scheduled drift (a new
 * merchant category, an NA spike in dist_km, new words in customer_note, amount shifted by one
 * standard deviation, the score shifted) fires exactly the rules it should, on the right fields;
 * the clean first hour fires none. The reference profile is built from a clean training file by
 * the real `buildReference`, the log goes through the real normalizer and embedded sink.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateLines, writeLines } from '../demo/generate.ts';
import { InputSchema, type InputConfig } from '../agent/config/schema.ts';
import { buildReference } from '../agent/reference/build.ts';
import { EmbeddedReferenceStore } from '../agent/reference/store-embedded.ts';
import { modelReference } from '../agent/reference/load-info.ts';
import { createReferenceInfo } from '../agent/normalize/reference-info.ts';
import { createNormalizeContext, normalizeLine } from '../agent/normalize/normalize.ts';
import { openStore, type EmbeddedStore } from '../agent/sinks/embedded/store.ts';
import { EmbeddedSink } from '../agent/sinks/embedded/sink.ts';
import type { OutEvent } from '../agent/sinks/sink.ts';
import { EmbeddedBackend } from '../agent/backends/embedded/backend.ts';
import { EmbeddedResultsWriter } from '../agent/results/embedded.ts';
import { loadRules } from '../agent/rules/load.ts';
import { evaluateRules, type Evaluation } from '../agent/rules/runner.ts';
import type { RuleResult } from '../agent/rules/result.ts';
import type { Rule } from '../agent/rules/schema.ts';

const START = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const PER_HOUR = 6000;
const CLEAN = { from: new Date(START).toISOString(), to: new Date(START + HOUR).toISOString() };
const DRIFTED = { from: new Date(START + HOUR).toISOString(), to: new Date(START + 2 * HOUR).toISOString() };

const RULES: Record<string, string> = {
  'unseen.yml': `type: unseen_categories
name: unseen
model: fraud
fields: [merchant, country, channel, card, new_device]
window: 1h
schedule: '0 * * * *'
delay: 0s
top: 5`,
  'missing.yml': `type: missing_spike
name: missing
model: fraud
window: 1h
schedule: '0 * * * *'
delay: 0s
min_absolute_increase: 0.02`,
  'oov.yml': `type: oov_rate
name: oov
model: fraud
fields: [customer_note]
window: 1h
schedule: '0 * * * *'
delay: 0s
max_oov_share: 0.05`,
  'drift.yml': `type: distribution_shift
name: drift
model: fraud
fields: [amount, age_days, hour, country, channel]
window: 1h
schedule: '0 * * * *'
delay: 0s`,
  'score.yml': `type: prediction_stats
name: score
model: fraud
fields: [prediction.score]
window: 1h
schedule: '0 * * * *'
delay: 0s
stats: { mean: { max: 0.3 }, p99: {}, std: {} }
reference_mean_k: 6`,
  'volume.yml': `type: volume
name: volume
model: fraud
window: 1h
schedule: '0 * * * *'
delay: 0s
min_count: 1000`,
};

let dir: string;
let store: EmbeddedStore;
let rules: Rule[];
let backend: EmbeddedBackend;
let references: EmbeddedReferenceStore;

function drifted(ev: readonly Evaluation[]): string[] {
  return ev.flatMap((e) => e.results.filter((r) => r.drifted).map((r) => `${r.rule}:${r.field}`)).sort();
}

function byStatus(ev: readonly Evaluation[], status: RuleResult['status']): string[] {
  return ev.flatMap((e) => e.results.filter((r) => r.status === status).map((r) => `${r.rule}:${r.field}:${r.error ?? ''}`));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'driftbeat-rules-e2e-'));
  const input: InputConfig = InputSchema.parse({
    paths: [join(dir, 'logs', '*.jsonl')],
    model: { name: 'fraud', version_field: 'model_version' },
    fields: { id: 'request_id', text: ['customer_note'] },
  });
  const train = join(dir, 'train.jsonl');
  writeLines(train, 20_000, { seed: 101, startMs: START - 30 * 24 * HOUR });
  const profile = await buildReference({ input, model: 'fraud', version: '1.4.2', dataPath: train, now: () => new Date(START) });
  store = await openStore(join(dir, 'driftbeat.duckdb'));
  references = new EmbeddedReferenceStore(store);
  await references.save(profile);

  const ctx = createNormalizeContext(input, { hostName: 'host-a', reference: createReferenceInfo([modelReference(profile)]) });
  const lines = generateLines(2 * PER_HOUR, {
    seed: 7, startMs: START, intervalMs: HOUR / PER_HOUR,
    drift: [{
      from: PER_HOUR,
      newCategory: { feature: 'merchant', value: 'crypto', share: 0.2 },
      naSpike: { feature: 'dist_km', share: 0.3 },
      newWords: { words: ['refund', 'chargeback', 'urgent', 'bitcoin'], share: 0.4 },
      numericShift: { feature: 'amount', shift: 1 },
      scoreShift: 1,
    }],
  });
  const events: OutEvent[] = [];
  let offset = 0;
  for (const line of lines) {
    const r = normalizeLine(line, { key: 'f1', path: '/logs/p.jsonl', offset }, ctx);
    offset += line.length + 1;
    assert.ok(r.ok, `line normalizes: ${r.ok ? '' : r.reason}`);
    events.push(r.event);
  }
  const sink = new EmbeddedSink({ store });
  await sink.start();
  for (let i = 0; i < events.length; i += 2000) {
    const batch = events.slice(i, i + 2000);
    await sink.send({ events: batch, bytes: batch.reduce((s, e) => s + e.bytes, 0) });
  }
  await sink.stop();

  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  for (const [name, text] of Object.entries(RULES)) writeFileSync(join(rulesDir, name), text);
  rules = loadRules([rulesDir]);
  backend = new EmbeddedBackend(store);
});

after(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rules end to end on the embedded store', () => {
  it('the clean hour fires no rule, and every rule gives a verdict', async () => {
    const report = await evaluateRules(rules.map((rule) => ({ rule, window: CLEAN })), { backend, references });
    assert.deepEqual(byStatus(report.evaluations, 'error'), []);
    assert.deepEqual(byStatus(report.evaluations, 'no_data'), []);
    assert.deepEqual(drifted(report.evaluations), []);
    const fields = (name: string) => report.evaluations.find((e) => e.rule.name === name)!.results.map((r) => r.field).sort();
    assert.deepEqual(fields('unseen'), ['features.card', 'features.channel', 'features.country', 'features.merchant', 'features.new_device']);
    // missing_spike without fields: every feature of the profile, text included.
    assert.equal(fields('missing').length, 12);
    assert.ok(fields('missing').includes('features.dist_km') && fields('missing').includes('text.customer_note'));
    assert.equal(report.roundTrips, 1, 'no binned field: one phase');
  });

  it('the drifted hour fires exactly the expected rules on the right fields', async () => {
    const report = await evaluateRules(rules.map((rule) => ({ rule, window: DRIFTED })), { backend, references });
    assert.deepEqual(byStatus(report.evaluations, 'error'), []);
    assert.deepEqual(drifted(report.evaluations), [
      'drift:features.amount',
      'missing:features.dist_km',
      'oov:text.customer_note',
      'score:prediction.score',
      'unseen:features.merchant',
    ]);
  });

  it('reports unseen values with their counts, and nulls are never unseen', async () => {
    const report = await evaluateRules([{ rule: rules.find((r) => r.name === 'unseen')!, window: DRIFTED }], { backend, references });
    const merchant = report.evaluations[0]!.results.find((r) => r.field === 'features.merchant')!;
    const values = merchant.details.unseen_values as { value: string; count: number }[];
    assert.equal(values.length, 1);
    assert.equal(values[0]!.value, 'crypto');
    const crypto = (await store.all<{ n: number }>(
      `SELECT count(*) AS n FROM prediction_values WHERE name = 'merchant' AND str = 'crypto' AND ts >= $1::TIMESTAMPTZ AND ts < $2::TIMESTAMPTZ`, [DRIFTED.from, DRIFTED.to]))[0]!.n;
    assert.equal(values[0]!.count, crypto);
    assert.ok(crypto > 0.15 * PER_HOUR && crypto < 0.25 * PER_HOUR);
    assert.equal(merchant.value, crypto, 'statistic unseen_count = the crypto count');
    assert.equal(merchant.statistic, 'unseen_count');

    // dist_km is null in ~30% of the drifted hour: an unseen rule on it counts no unseen value.
    const text = RULES['unseen.yml']!.replace('fields: [merchant, country, channel, card, new_device]', 'fields: [merchant]');
    const nullFile = join(dir, 'nulls.yml');
    writeFileSync(nullFile, text.replace('name: unseen', 'name: unseen-nulls'));
    const rule = { ...loadRules([nullFile])[0]! } as Rule;
    // Make merchant null in a few drifted documents: they must not be counted as unseen.
    await store.run(`DELETE FROM prediction_values WHERE name = 'merchant' AND event_id IN (SELECT event_id FROM prediction_values WHERE name = 'merchant' AND str = 'grocery' AND ts >= $1::TIMESTAMPTZ LIMIT 50)`, [DRIFTED.from]);
    const again = await evaluateRules([{ rule, window: DRIFTED }], { backend, references });
    const r = again.evaluations[0]!.results[0]!;
    assert.equal(r.details.unseen_count, crypto);
    assert.equal(r.current_count, PER_HOUR - 50, 'values checked exclude the nulls');
  });

  it('reports the NA shares, the new words and the moved categories a person acts on', async () => {
    const report = await evaluateRules(rules.map((rule) => ({ rule, window: DRIFTED })), { backend, references });
    const get = (rule: string, field: string) => report.evaluations.find((e) => e.rule.name === rule)!.results.find((r) => r.field === field)!;
    const na = get('missing', 'features.dist_km');
    assert.ok((na.value as number) > 0.25 && (na.value as number) < 0.35, `NA share ${na.value}`);
    assert.equal(na.details.reference_missing_share, 0);
    const oov = get('oov', 'text.customer_note');
    const words = (oov.details.top_oov_words as { word: string }[]).map((w) => w.word).sort();
    assert.deepEqual(words, ['bitcoin', 'chargeback', 'refund', 'urgent']);
    const amount = get('drift', 'features.amount');
    assert.equal(amount.statistic, 'wasserstein', 'Evidently routing: > 1000 reference rows, numeric -> wasserstein');
    assert.ok((amount.value as number) >= 0.1);
    const country = get('drift', 'features.country');
    assert.equal(country.statistic, 'jensenshannon');
    assert.equal(country.status, 'ok');
  });

  it('a rule that fails reports status error and the others still give verdicts', async () => {
    const broken = { ...rules.find((r) => r.name === 'drift')!, name: 'broken', model: 'no-such-model' } as Rule;
    const report = await evaluateRules([broken, ...rules].map((rule) => ({ rule, window: DRIFTED })), { backend, references });
    const b = report.evaluations[0]!;
    assert.equal(b.status, 'error');
    assert.match(b.results[0]!.error ?? '', /no reference profile for model "no-such-model".*driftbeat reference build/);
    assert.equal(drifted(report.evaluations.slice(1)).length, 5);
  });

  it('too little data is no_data, not an alarm; an empty window fires the volume rule', async () => {
    const empty = { from: new Date(START + 5 * HOUR).toISOString(), to: new Date(START + 6 * HOUR).toISOString() };
    const report = await evaluateRules(rules.map((rule) => ({ rule, window: empty })), { backend, references });
    for (const e of report.evaluations) {
      if (e.rule.name === 'volume') {
        assert.equal(e.status, 'drifted');
        assert.equal(e.results[0]!.value, 0);
      } else {
        assert.equal(e.status, 'no_data', e.rule.name);
      }
    }
  });

  it('results are stored in the results table, one per rule x field x segment', async () => {
    const writer = new EmbeddedResultsWriter(store);
    const report = await evaluateRules(rules.map((rule) => ({ rule, window: CLEAN })), { backend, references });
    const all = report.evaluations.flatMap((e) => e.results);
    await writer.write(all);
    await writer.write(all); // the same window again replaces, never duplicates
    const rows = await store.all<{ n: number }>('SELECT count(*) AS n FROM results WHERE window_to = $1::TIMESTAMPTZ', [CLEAN.to]);
    assert.equal(rows[0]!.n, all.length);
    assert.equal(+(await writer.lastWindowEnd('drift'))!, Date.parse(CLEAN.to));
  });
});
