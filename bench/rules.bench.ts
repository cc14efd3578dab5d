/**
 * Rule engine benchmark.
 *
 *   node --import tsx bench/rules.bench.ts [--events 1000000] [--db PATH]
 *
 * 1. Embedded backend: `--events` seeded prediction records (drift in the second half) are
 *    normalized and stored through the real embedded sink (skipped when --db already holds them),
 *    a reference profile is built from a clean training file, and six rules (one of each type,
 *    over every field they apply to) are evaluated over one window holding every event. Reports
 *    the time for the whole set (target: under 2 s), per phase, and the SQL statements run.
 * 2. The search engine: the same six rules on the real OpenSearch of test/engine
 *    (DRIFTBEAT_TEST_ENGINE_URL when set, else one started here), after setup's templates, over
 *    `--es-events` (default 100,000) stored events: time per tick (best of 3) and round trips
 *    (target: one _msearch, two where binning needs it). Its indices are deleted at the end.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElasticsearchOutputSchema, InputSchema } from '../agent/config/schema.ts';
import { EngineClient } from '../agent/engine/client.ts';
import { buildReference } from '../agent/reference/build.ts';
import { modelReference } from '../agent/reference/load-info.ts';
import { EmbeddedReferenceStore } from '../agent/reference/store-embedded.ts';
import { ElasticsearchReferenceStore } from '../agent/reference/store-elasticsearch.ts';
import { createReferenceInfo } from '../agent/normalize/reference-info.ts';
import { createNormalizeContext, normalizeLine } from '../agent/normalize/normalize.ts';
import { predictionsStream } from '../agent/normalize/document.ts';
import { openStore } from '../agent/sinks/embedded/store.ts';
import { EmbeddedSink } from '../agent/sinks/embedded/sink.ts';
import type { OutEvent } from '../agent/sinks/sink.ts';
import { EmbeddedBackend } from '../agent/backends/embedded/backend.ts';
import { ElasticsearchBackend } from '../agent/backends/elasticsearch/backend.ts';
import { loadRules } from '../agent/rules/load.ts';
import { evaluateRules } from '../agent/rules/runner.ts';
import { startEngine } from '../test/engine/launch.mjs';
import { runSetup } from '../agent/assets/setup.ts';
import { loadConfig } from '../agent/config/load.ts';
import { allDrift, createGenerator, writeLines } from '../demo/generate.ts';
import { machineLine } from './machine.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}

const EVENTS = Number(arg('events', '1000000'));
/** Events stored in the search engine for its figure (bulk into the real engine is the slow part). */
const ES_EVENTS = Number(arg('es-events', '100000'));
const START = Date.UTC(2024, 0, 1);
const INTERVAL = 10;
const WINDOW = { from: new Date(START).toISOString(), to: new Date(START + EVENTS * INTERVAL + 3_600_000).toISOString() };

const RULES: Record<string, string> = {
  'unseen.yml': 'type: unseen_categories\nname: b-unseen\nmodel: fraud\n',
  'missing.yml': 'type: missing_spike\nname: b-missing\nmodel: fraud\n',
  'oov.yml': 'type: oov_rate\nname: b-oov\nmodel: fraud\nfields: [customer_note]\n',
  'drift.yml': 'type: distribution_shift\nname: b-drift\nmodel: fraud\nfields: [amount, age_days, hour, dist_km, merchant, country, channel, card, prediction.score]\nmethod: psi\n',
  'stats.yml': 'type: prediction_stats\nname: b-stats\nmodel: fraud\nfields: [prediction.score]\nstats: { mean: { max: 0.2 }, p50: {}, p99: { max: 0.98 }, std: {} }\nreference_mean_k: 4\ngroup_by: [model.version]\n',
  'volume.yml': 'type: volume\nname: b-volume\nmodel: fraud\nmin_count: 1000\n',
};

/** The training reference, the six rules and what one tick evaluates. */
async function prepare(dir: string) {
  const input = InputSchema.parse({ paths: ['x'], model: { name: 'fraud', version_field: 'model_version' }, fields: { id: 'request_id', text: ['customer_note'] } });
  const train = join(dir, 'train.jsonl');
  writeLines(train, 50_000, { seed: 5, startMs: START - 30 * 86_400_000 });
  const profile = await buildReference({ input, model: 'fraud', version: '1.4.2', dataPath: train });
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  for (const [f, text] of Object.entries(RULES)) writeFileSync(join(rulesDir, f), `${text}window: 1h\nschedule: '0 * * * *'\nmin_samples: 100\n`);
  const rules = loadRules([rulesDir]);
  const items = rules.map((rule) => ({ rule, window: WINDOW }));
  return { input, profile, rules, items };
}

type Prepared = Awaited<ReturnType<typeof prepare>>;

/** The embedded store: EVENTS events stored once (kept with --db), then three measured ticks. */
async function benchEmbedded(db: string, { input, profile, rules, items }: Prepared): Promise<void> {
  const existed = existsSync(db);
  const store = await openStore(db);
  const refs = new EmbeddedReferenceStore(store);
  await refs.save(profile);
  const have = (await store.all<{ n: number }>('SELECT count(*) AS n FROM predictions'))[0]!.n;
  if (!existed || have < EVENTS) {
    const t0 = Date.now();
    const ctx = createNormalizeContext(input, { hostName: 'bench', reference: createReferenceInfo([modelReference(profile)]) });
    const gen = createGenerator({ seed: 42, startMs: START, intervalMs: INTERVAL, drift: [allDrift(Math.floor(EVENTS / 2))] });
    const sink = new EmbeddedSink({ store });
    let offset = 0;
    for (let i = 0; i < EVENTS; i += 20_000) {
      const batch: OutEvent[] = [];
      for (let k = i; k < Math.min(EVENTS, i + 20_000); k++) {
        const line = gen.next();
        const r = normalizeLine(line, { key: 'bench', path: '/bench.jsonl', offset }, ctx);
        offset += line.length + 1;
        if (r.ok) batch.push(r.event);
      }
      await sink.send({ events: batch, bytes: 0 });
    }
    await sink.stop();
    console.log(`stored ${EVENTS} events in ${((Date.now() - t0) / 1000).toFixed(1)} s (setup, not measured)`);
  }
  const backend = new EmbeddedBackend(store);
  await evaluateRules(items, { backend, references: refs }); // warm-up: caches, first-query compilation
  const runs: number[] = [];
  let last;
  for (let i = 0; i < 3; i++) {
    backend.statements = 0;
    const t = performance.now();
    last = await evaluateRules(items, { backend, references: refs });
    runs.push(performance.now() - t);
  }
  const errors = last!.evaluations.flatMap((e) => e.results.filter((r) => r.status === 'error').map((r) => `${r.rule}:${r.field}: ${r.error}`));
  const drifted = last!.evaluations.flatMap((e) => e.results.filter((r) => r.drifted).map((r) => `${r.rule}:${r.field}`));
  const results = last!.evaluations.reduce((n, e) => n + e.results.length, 0);
  console.log(`embedded: ${rules.length} rules, ${results} results over ${EVENTS} events: ${runs.map((r) => `${r.toFixed(0)} ms`).join(', ')} (best ${Math.min(...runs).toFixed(0)} ms, target < 2000 ms); ${backend.statements} SQL statements, ${last!.roundTrips} phases`);
  console.log(`  drifted: ${drifted.join(', ') || 'none'}`);
  if (errors.length) console.log(`  ERRORS: ${errors.join('; ')}`);
  console.log(`  peak RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  await store.close();

}

/** Only what this benchmark made on the engine. */
async function cleanEngine(client: EngineClient, prefix: string): Promise<void> {
  await client.request({ method: 'DELETE', path: `/_data_stream/${prefix}-*` }).catch(() => undefined);
  await client.request({ method: 'DELETE', path: `/${prefix}-*`, querystring: { expand_wildcards: 'all' } }).catch(() => undefined);
  for (const kind of ['_index_template', '_component_template']) {
    const got = await client.request<Record<string, { name: string }[]>>({ method: 'GET', path: `/${kind}/${prefix}-*` }).catch(() => undefined);
    for (const t of Object.values(got?.body ?? {}).flat()) await client.request({ method: 'DELETE', path: `/${kind}/${encodeURIComponent(t.name)}` }).catch(() => undefined);
  }
}

/**
 * The search engine: the same six rules on the real OpenSearch of test/engine (DRIFTBEAT_TEST_ENGINE_URL,
 * else one started here), after setup's templates, over --es-events stored events: time per tick and round trips.
 */
async function benchEngine(prepared: Prepared): Promise<void> {
  const shared = process.env.DRIFTBEAT_TEST_ENGINE_URL;
  const engine = shared ? undefined : await startEngine();
  const url = shared ?? engine!.url;
  const prefix = `bench-rules-${Date.now().toString(36)}`;
  const setupConfig = loadConfig('bench.yml', { text: `output:\n  elasticsearch: { hosts: [${JSON.stringify(url)}], index_prefix: ${prefix} }\n`, env: {} }).config;
  const client = new EngineClient(setupConfig.output.elasticsearch!);
  try {
    const setupLines: string[] = [];
    const setup = await runSetup({ config: setupConfig, steps: ['templates'], out: (l) => setupLines.push(l) });
    if (!setup.ok) throw new Error(`setup failed:\n${setupLines.join('\n')}`);
    await loadEngine(client, prefix, url, prepared);
    await measureEngine(client, prefix, prepared.items);
  } finally {
    await cleanEngine(client, prefix);
    await client.close();
    await engine?.stop();
  }
}

/** Stores the reference and ES_EVENTS events (half of them drifted), then refreshes: setup, not measured. */
async function loadEngine(client: EngineClient, prefix: string, url: string, { input, profile }: Prepared): Promise<void> {
  await new ElasticsearchReferenceStore(client, { indexPrefix: prefix }).save(profile);
  const ctx = createNormalizeContext(input, { hostName: 'bench', reference: createReferenceInfo([modelReference(profile)]) });
  const gen = createGenerator({ seed: 42, startMs: START, intervalMs: (EVENTS * INTERVAL) / ES_EVENTS, drift: [allDrift(Math.floor(ES_EVENTS / 2))] });
  const tLoad = Date.now();
  for (let k = 0; k < ES_EVENTS; k += 5000) {
    const ops: unknown[] = [];
    for (let j = k; j < Math.min(ES_EVENTS, k + 5000); j++) {
      const r = normalizeLine(gen.next(), { key: 'es', path: '/es.jsonl', offset: j * 400 }, ctx);
      if (r.ok) ops.push({ create: { _index: predictionsStream(prefix, 'fraud'), _id: r.event.id } }, r.event.doc);
    }
    const res = await client.bulk({ operations: ops });
    if (res.errors) throw new Error('the engine refused bench documents');
  }
  await client.request({ method: 'POST', path: `/${prefix}-*,.ds-${prefix}-*/_refresh`, querystring: { expand_wildcards: 'all' } });
  console.log(`engine ${url}: ${ES_EVENTS} events stored in ${((Date.now() - tLoad) / 1000).toFixed(1)} s (setup, not measured)`);
}

/** Three measured ticks of all the rules, then one without the psi rule to count its _msearch. */
async function measureEngine(client: EngineClient, prefix: string, items: Prepared['items']): Promise<void> {
  const esb = new ElasticsearchBackend(client, { indexPrefix: prefix });
  const esRefs = new ElasticsearchReferenceStore(client, { indexPrefix: prefix });
  const esRuns: number[] = [];
  let withBins: Awaited<ReturnType<typeof evaluateRules>> | undefined;
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    withBins = await evaluateRules(items, { backend: esb, references: esRefs });
    esRuns.push(performance.now() - t0);
  }
  const esResults = withBins!.evaluations.reduce((n, e) => n + e.results.length, 0);
  const noBinsRules = items.filter((x) => x.rule.name !== 'b-drift');
  const before = esb.requests;
  const noBins = await evaluateRules(noBinsRules, { backend: esb, references: esRefs });
  console.log(`engine: ${items.length} rules, ${esResults} results over ${ES_EVENTS} events: ${esRuns.map((r) => `${r.toFixed(0)} ms`).join(', ')} (best ${Math.min(...esRuns).toFixed(0)} ms); ${withBins!.roundTrips} _msearch per tick (a psi rule needs bins); without it ${noBinsRules.length} rules -> ${esb.requests - before} _msearch`);
  const esErrors = [...withBins!.evaluations, ...noBins.evaluations].flatMap((e) => e.results.filter((r) => r.status === 'error').map((r) => `${r.rule}:${r.field}: ${r.error}`));
  if (esErrors.length) console.log(`  ERRORS: ${esErrors.join('; ')}`);
}
async function main(): Promise<void> {
  console.log(machineLine());
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-rules-bench-'));
  const db = arg('db', join(dir, 'bench.duckdb'));
  try {
    const prepared = await prepare(dir);
    await benchEmbedded(db, prepared);
    await benchEngine(prepared);
  } finally {
    if (!process.argv.includes('--db')) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
