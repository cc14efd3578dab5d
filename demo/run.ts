/**
 * `driftbeat demo`: the whole job on one machine with no cluster, in about a minute.
 *
 *   training CSV ──reference build──▶ profiles (1.4.2, 1.5.0) in the embedded store
 *   demo model ──JSONL──▶ the real agent (tail, normalize, embedded sink) ──▶ DuckDB
 *   every simulated hour: rules over [hh:00, hh+1:00) ──▶ AlertManager ──▶ the terminal
 *
 * The demo drives a compressed clock: it writes one simulated hour of traffic, waits until the
 * agent has stored it, then evaluates the rules whose windows end at that hour by calling the
 * engine with explicit windows (the agent's cron runner would wait for wall-clock time).
 * Everything is left in the data folder with a driftbeat.yml pointing at it, so `driftbeat rules
 * test` and `driftbeat alerts list` work on it afterwards.
 */
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../agent/agent.ts';
import { runSetup } from '../agent/assets/setup.ts';
import type { EngineClient } from '../agent/engine/client.ts';
import { AlertManager } from '../agent/alerts/manager.ts';
import { loadConfig } from '../agent/config/load.ts';
import type { Config } from '../agent/config/schema.ts';
import { DriftbeatError } from '../agent/errors.ts';
import { buildReference } from '../agent/reference/build.ts';
import { evaluateRules } from '../agent/rules/runner.ts';
import { openRuleDeps as buildDeps } from '../agent/outputs.ts';
import type { Notifier } from '../agent/notify/notifier.ts';
import type { AlertMessage } from '../agent/notify/render.ts';
import { loadRules } from '../agent/rules/load.ts';
import type { RuleResult } from '../agent/rules/result.ts';
import type { Rule } from '../agent/rules/schema.ts';
import { toTimeWindow, windowsBetween } from '../agent/rules/window.ts';
import { packagePath } from '../agent/paths.ts';
import { createLogger } from '../agent/telemetry/logger.ts';
import { activeChanges, DAY_MS, DEMO_CHANGES, DEMO_MODEL, DEMO_VERSIONS, HOUR_MS, ModelWriter } from './model.ts';
import { writeTrainingCsv } from './training.ts';
import { LabelWriter } from './labels.ts';
import { alertLine, collapseQuiet, fmtInt, ingestLine, styleFor, summarize, summaryTable, type AlertKind, type OutStream, type Style, type SummaryRow } from './terminal.ts';

// realpath: the folder as the user finds it, whatever link the package was installed through.
export const DEMO_RULES_DIR = realpathSync(packagePath('demo', 'rules'));
/** A file the demo leaves in its data folder; without it the demo refuses to wipe a folder. */
export const DEMO_MARKER = '.driftbeat-demo';
const INPUT_ID = 'demo';

export interface DemoOptions {
  /** Data folder (default ./demo-data): logs, store, registry, outbox, driftbeat.yml. Wiped at start if the demo made it. */
  dataDir?: string;
  /** No pacing: each simulated hour as fast as the agent ingests it (tests, CI). */
  fast?: boolean;
  out?: OutStream;
  /** Simulated hours (default 24). */
  hours?: number;
  /** Predictions per simulated hour over both versions (default 3000; fast: 2000). */
  linesPerHour?: number;
  /** Real milliseconds per simulated hour (default 2000; fast: 0). */
  hourMs?: number;
  /** Simulated start (default: yesterday 00:00 UTC). */
  startMs?: number;
  /** Bound on waiting for the agent to store one hour of traffic (default 60 s). */
  ingestTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Stops the run (Ctrl-C): the agent is stopped cleanly and runDemo rejects. */
  signal?: AbortSignal;
  /**
   * Run into this search engine (Elasticsearch or OpenSearch URL) instead of the embedded store,
   * under the index prefix DEMO_INDEX_PREFIX, which the demo empties first.
   */
  engineUrl?: string;
}

/** The demo's own index prefix in a search engine: emptied at every run, so runs do not mix. */
export const DEMO_INDEX_PREFIX = 'driftbeat-demo';

export interface FiredAlert {
  rule: string;
  field: string;
  segment: string;
  /** Window end (ISO) of the firing. */
  at: string;
}

export interface DemoReport {
  dataDir: string;
  configFile: string;
  startMs: number;
  hours: number;
  linesWritten: number;
  indexed: number;
  results: RuleResult[];
  fired: FiredAlert[];
  recovered: FiredAlert[];
  summary: SummaryRow[];
  elapsedMs: number;
}

/** The demo's driftbeat.yml: absolute paths, so it works from any working directory. */
export function demoConfigText(dataDir: string, engineUrl?: string): string {
  const q = (s: string) => JSON.stringify(s);
  const output = engineUrl
    ? `output:
  elasticsearch:
    hosts: [${q(engineUrl)}]
    index_prefix: ${DEMO_INDEX_PREFIX}
    flush_interval: 100ms`
    : `output:
  embedded:
    path: ${q(join(dataDir, 'driftbeat.duckdb'))}
    flush_interval: 100ms`;
  return `# Written by \`driftbeat demo\`: the ${engineUrl ? `search engine (${engineUrl})` : 'embedded store'} and logs of the last demo run.
#   driftbeat rules test ${relative(process.cwd(), join(DEMO_RULES_DIR, 'demo-unseen-categories.yml'))} -c ${relative(process.cwd(), join(dataDir, 'driftbeat.yml'))} --from ... --to ...
#   driftbeat run -c ${relative(process.cwd(), join(dataDir, 'driftbeat.yml'))} --once     # ingest again, e.g. after editing the logs
inputs:
  - id: ${INPUT_ID}
    paths: [${q(join(dataDir, 'logs', '*.jsonl'))}]
    model: { name: ${DEMO_MODEL}, version_field: model_version }
    fields:
      timestamp: timestamp
      id: request_id
      features: features
      predictions: prediction
      text: [customer_note]
      latency: latency_ms
    scan_frequency: 1s
  - id: ${INPUT_ID}-labels
    kind: feedback
    paths: [${q(join(dataDir, 'logs', 'labels', '*.jsonl'))}]
    model: { name: ${DEMO_MODEL} }
    fields: { id: request_id, actual: is_fraud, timestamp: labelled_at }
    join: { prediction: label, score: score, positive: fraud, retry_interval: 200ms }
    scan_frequency: 1s
${output}
path:
  data: ${q(dataDir)}
rules:
  path: ${q(DEMO_RULES_DIR)}
notifiers:
  terminal: { type: log }
logging:
  level: info
`;
}

/** Empties `dir` if an earlier demo made it; refuses a folder with anything else in it. */
export function prepareDataDir(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      throw new DriftbeatError('ERR_DEMO_DATA_DIR', `demo data folder ${dir} is not empty and was not made by driftbeat demo; pass another folder with --data DIR (it will be created)`);
    }
    for (const e of entries) rmSync(join(dir, e), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARKER), 'This folder was made by `driftbeat demo`; the next demo run empties it.\n');
}

function yesterday(now = Date.now()): number {
  return Math.floor(now / DAY_MS) * DAY_MS - DAY_MS;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

class Screen {
  private liveShown = false;
  constructor(readonly out: OutStream, readonly style: Style) {}
  line(text = ''): void {
    this.clearLive();
    this.out.write(text + '\n');
  }
  /** A status line redrawn in place; only on a terminal. */
  live(text: string): void {
    if (!this.style.tty) return;
    this.out.write(`\r${text}\x1b[K`);
    this.liveShown = true;
  }
  clearLive(): void {
    if (this.liveShown) this.out.write('\r\x1b[K');
    this.liveShown = false;
  }
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoReport> {
  const t0 = Date.now();
  const out = opts.out ?? process.stdout;
  const style = styleFor(out, opts.env);
  const screen = new Screen(out, style);
  const fast = opts.fast ?? false;
  const hours = opts.hours ?? 24;
  const hourMs = opts.hourMs ?? (fast ? 0 : 2000);
  const linesPerHour = opts.linesPerHour ?? (fast ? 2000 : 3000);
  const startMs = opts.startMs ?? yesterday();
  const dataDir = resolve(opts.dataDir ?? 'demo-data');
  // Paths as a person would type them: relative under the working directory, else absolute.
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };

  prepareDataDir(dataDir);
  const configFile = join(dataDir, 'driftbeat.yml');
  writeFileSync(configFile, demoConfigText(dataDir, opts.engineUrl));
  const { config } = loadConfig(configFile);
  // The demo prints its own story; the agent's JSON log goes to a file, and no port is bound. The
  // demo evaluates the rules itself on the simulated clock, so the agent gets no rules.path (its
  // runner would evaluate wall-clock windows).
  const { path: _rulesPath, ...agentRules } = config.rules;
  const runConfig: Config = { ...config, http: { ...config.http, enabled: false }, rules: agentRules };
  const logFile = join(dataDir, 'driftbeat.log');
  const logDest = pino.destination({ dest: logFile, sync: true });
  const logger = createLogger({ level: 'info', destination: logDest });
  const storePath = config.output.embedded?.path;
  const where = storePath ? `embedded store ${rel(storePath)}` : `${opts.engineUrl} (indices ${DEMO_INDEX_PREFIX}-*)`;

  screen.line(style.bold(`driftbeat demo: model "${DEMO_MODEL}" in two versions (${DEMO_VERSIONS.map((v) => `${v.version}: ${Math.round(v.share * 100)}% of traffic`).join(', ')})`));
  screen.line(`${hours} simulated hours of ~${fmtInt(linesPerHour)} predictions/hour${hourMs > 0 ? `, one hour every ${hourMs / 1000} s` : ', as fast as the agent ingests'}; simulated day ${new Date(startMs).toISOString().slice(0, 10)} (UTC).`);
  screen.line('Scheduled changes:');
  for (const c of DEMO_CHANGES) {
    const span = `${String(c.fromHour).padStart(2, '0')}:00-${String(c.toHour).padStart(2, '0')}:00`;
    screen.line(`  ${style.cyan(span)}  ${c.description}${c.versions.length < DEMO_VERSIONS.length ? ` (${c.versions.join(', ')} only)` : ''}  ${style.dim(`-> ${c.rule}`)}`);
  }
  screen.line();

  // 1. Training data and reference profiles.
  const trainDir = join(dataDir, 'training');
  mkdirSync(trainDir, { recursive: true });
  const trainFile = join(trainDir, `${DEMO_MODEL}-train.csv`);
  const rows = writeTrainingCsv(trainFile);
  screen.line(`[1/4] training data: ${rel(trainFile)} (${fmtInt(rows)} rows)`);
  const input = config.inputs[0]!;
  const tRef = Date.now();
  const base = await buildReference({ input, model: DEMO_MODEL, version: DEMO_VERSIONS[0]!.version, dataPath: trainFile });
  // Both versions were trained on the same data: one build, saved under each version.
  const profiles = DEMO_VERSIONS.map((v) => ({ ...base, version: v.version, fields: base.fields.map((f) => ({ ...f, version: v.version })) }));
  // The agent, in-process; the rule engine and the alert manager share its connection to the store.
  const agent = new Agent({ config: runConfig, logger, drainTimeoutMs: 10_000 });
  const engine = agent.outputs.engine;
  if (engine) {
    // A search engine keeps what earlier demo runs stored: start from nothing, then install the templates.
    await emptyDemoIndices(engine);
    const setupLines: string[] = [];
    const setup = await runSetup({ config: runConfig, steps: ['templates'], out: (l) => setupLines.push(l) });
    if (!setup.ok) throw new DriftbeatError('ERR_DEMO_SETUP', `driftbeat setup failed on ${opts.engineUrl}:\n${setupLines.join('\n')}`);
    screen.line(`      ${setupLines[0] ?? 'setup'}: templates installed (${setup.actions.filter((a) => a.result === 'created').length} created)`);
  }
  // Saved before the agent starts: it loads the vocabularies then, so OOV words are counted at ingest.
  const refs = await agent.outputs.referenceStore();
  for (const p of profiles) await refs.save(p);
  screen.line(`[2/4] reference profiles: ${profiles.map((p) => `${p.model}@${p.version}`).join(', ')} (${base.fields.length} fields: ${base.fields.map((f) => f.field.replace(/^\w+\./, '')).join(', ')}) in ${((Date.now() - tRef) / 1000).toFixed(1)} s`);

  // 2. Rules, evaluated by the demo itself on the simulated clock.
  const rules = loadRules([DEMO_RULES_DIR], { notifiers: Object.keys(config.notifiers) });
  let deps: Awaited<ReturnType<typeof buildDeps>> | undefined;
  const fired: FiredAlert[] = [];
  const recovered: FiredAlert[] = [];
  const events: { kind: AlertKind; result: RuleResult }[] = [];
  const allResults: RuleResult[] = [];
  const terminal: Notifier = {
    name: 'terminal',
    type: 'log',
    async send(msg: AlertMessage) {
      screen.line(alertLine(msg.kind, msg.result, startMs, style));
    },
  };
  let simNow = startMs;
  let writer: ModelWriter | undefined;
  let manager: AlertManager | undefined;
  try {
    await agent.start();
    deps = await buildDeps(runConfig, agent.outputs);
    const stateStore = await agent.outputs.stateStore();
    manager = new AlertManager({
      config: runConfig,
      store: stateStore,
      logger,
      notifiers: new Map([['terminal', terminal]]),
      now: () => new Date(simNow),
    });
    await manager.start();
    screen.line(`[3/4] agent started: ${rel(join(dataDir, 'logs'))}/*.jsonl -> ${where}; ${rules.length} rules from ${rel(DEMO_RULES_DIR)}`);
    screen.line(`[4/4] the simulated day (each line: the hour just ingested, then the alerts of its window)`);
    screen.line();

    const labels = new LabelWriter(join(dataDir, 'logs', 'labels'));
    writer = new ModelWriter({ outDir: join(dataDir, 'logs'), linesPerHour, startMs, onLine: (l) => labels.predicted(l) });
    const join_ = agent.feedback!.sinks[0]!;
    const settled = () => join_.stats.joined + join_.stats.refused + join_.stats.givenUp;
    const lastEnd = new Map<string, number>(rules.map((r) => [r.name, startMs]));
    const delivered = () => {
      const s = agent.pipeline!.stats;
      return s.indexed + s.duplicates + s.deadLettered;
    };
    const steps = hourMs > 0 ? 10 : 1;
    // Pacing is against the start of the day, so the time spent evaluating is caught up, not added.
    const dayRealStart = Date.now();
    for (let h = 0; h < hours; h++) {
      const hourStart = startMs + h * HOUR_MS;
      const realStart = Date.now();
      const paceBase = dayRealStart + h * hourMs;
      const indexedBefore = agent.pipeline!.stats.indexed;
      for (let s = 1; s <= steps; s++) {
        if (opts.signal?.aborted) throw new DriftbeatError('ERR_DEMO_INTERRUPTED', `demo interrupted at simulated ${new Date(simNow).toISOString()}; what was stored so far is in ${dataDir}`);
        simNow = hourStart + (s * HOUR_MS) / steps;
        writer.writeUntil(simNow);
        labels.writeUntil(simNow);
        if (hourMs > 0) {
          const secs = Math.max(0.001, (Date.now() - realStart) / 1000);
          screen.live(ingestLine({ ...status(), docsPerSec: (agent.pipeline!.stats.indexed - indexedBefore) / secs }, style));
          await sleep(paceBase + (s * hourMs) / steps - Date.now());
        }
      }
      await waitFor(() => delivered() >= writer!.linesWritten, opts.ingestTimeoutMs ?? 60_000, () => agentFailure(agent, logFile, writer!.linesWritten, delivered()));
      // The outcomes known by now, joined with their (stored) predictions.
      await waitFor(() => settled() >= labels.linesWritten, opts.ingestTimeoutMs ?? 60_000, () => new DriftbeatError('ERR_DEMO_JOIN', `demo: only ${settled()} of ${labels.linesWritten} outcomes were joined in time; see the agent log ${logFile}`));
      const secs = Math.max(0.001, (Date.now() - realStart) / 1000);
      screen.line(ingestLine({ ...status(), docsPerSec: (agent.pipeline!.stats.indexed - indexedBefore) / secs, changes: changesAt(hourStart) }, style));

      // Windows that ended by now, per rule's own schedule.
      const jobs: { rule: Rule; window: { from: string; to: string } }[] = [];
      for (const rule of rules) {
        const { windows } = windowsBetween(rule, lastEnd.get(rule.name), simNow, 24);
        for (const w of windows) {
          jobs.push({ rule, window: toTimeWindow(w) });
          lastEnd.set(rule.name, +w.to);
        }
      }
      if (jobs.length === 0) continue;
      // What was just indexed becomes searchable at the engine's next refresh: make it now.
      await engine?.indices.refresh({ index: `${DEMO_INDEX_PREFIX}-*` });
      const tick = await evaluateRules(jobs, { backend: deps.backend, references: deps.references, logger, now: () => new Date(simNow) });
      const results = tick.evaluations.flatMap((e) => e.results);
      await deps.results.write(results);
      allResults.push(...results);
      const report = await manager.process(results, rules);
      for (const t of report.transitions) {
        if (!t.message) continue;
        const a = { rule: t.rule, field: t.field, segment: t.segment, at: t.result.window.to };
        if (t.message === 'firing') fired.push(a);
        if (t.message === 'recovered') recovered.push(a);
        events.push({ kind: t.message, result: t.result });
      }
      // Alerts print through the notifier: wait for them so they follow their hour's line.
      if (report.enqueued > 0) await manager.drain(10_000);
      for (const r of results.filter((x) => x.status === 'error')) screen.line(style.red(`  rule ${r.rule} on ${r.field}: error: ${r.error ?? 'unknown'}`));
    }
  } finally {
    screen.clearLive();
    await manager?.stop(5000).catch(() => undefined);
    await deps?.close();
    await agent.stop();
    logDest.end();
  }

  const summary = summarize(allResults, events, startMs);
  const stats = agent.pipeline!.stats;
  screen.line();
  screen.line(style.bold(`Summary: ${fmtInt(writer.linesWritten)} predictions written, ${fmtInt(stats.indexed)} stored; ${allResults.length} results from ${rules.length} rules; ${fired.length} alerts fired, ${recovered.length} recovered`));
  screen.line(summaryTable(collapseQuiet(summary), style));
  screen.line();
  const cfg = rel(configFile);
  const w = DEMO_CHANGES[0]!;
  const from = new Date(startMs + w.fromHour * HOUR_MS).toISOString();
  const to = new Date(startMs + (w.fromHour + 1) * HOUR_MS).toISOString();
  screen.line(`Data left in ${rel(dataDir)}/ (logs, training CSV, ${storePath ? 'DuckDB store, ' : ''}agent log driftbeat.log)${storePath ? '' : ` and in ${opts.engineUrl}`}. Try:`);
  screen.line(`  driftbeat rules test ${rel(join(DEMO_RULES_DIR, `${w.rule}.yml`))} -c ${cfg} --from ${from} --to ${to}`);
  screen.line(`  driftbeat alerts list -c ${cfg} --all`);
  if (storePath) screen.line(`  duckdb ${rel(storePath)} "SELECT model_version, count(*) FROM predictions GROUP BY 1"   # with the DuckDB CLI`);
  else {
    screen.line(`  curl '${opts.engineUrl}/${DEMO_INDEX_PREFIX}-predictions-*/_count'`);
    screen.line(`  curl '${opts.engineUrl}/${DEMO_INDEX_PREFIX}-results/_search?q=drifted:true&size=3&pretty'`);
  }
  screen.line(style.dim(`(finished in ${((Date.now() - t0) / 1000).toFixed(1)} s)`));

  return {
    dataDir, configFile, startMs, hours,
    linesWritten: writer.linesWritten, indexed: stats.indexed,
    results: allResults, fired, recovered, summary, elapsedMs: Date.now() - t0,
  };

  function status() {
    return { simMs: simNow, dayStartMs: startMs, linesWritten: writer?.linesWritten ?? 0, indexed: agent.pipeline?.stats.indexed ?? 0, docsPerSec: 0, changes: changesAt(simNow - 1) };
  }
}

function changesAt(ms: number): string[] {
  return activeChanges(ms).map((c) => `${c.kind.replace('_', ' ')}${c.versions.length < DEMO_VERSIONS.length ? ` (${c.versions.join(', ')})` : ''}`);
}

async function waitFor(cond: () => boolean, timeoutMs: number, onTimeout: () => Error): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw onTimeout();
    await sleep(10);
  }
}

function agentFailure(agent: Agent, logFile: string, written: number, delivered: number): Error {
  const h = agent.health();
  const why = h.status === 'failed' ? `the agent failed: ${h.error}` : `only ${delivered} of ${written} lines were stored in time`;
  return new DriftbeatError('ERR_DEMO_INGEST', `demo: ${why}; see the agent log ${logFile}`);
}

/** Deletes what an earlier demo run stored under the demo's prefix (data streams, indices, templates). */
async function emptyDemoIndices(engine: EngineClient): Promise<void> {
  const ignore = [404] as const;
  await engine.request({ method: 'DELETE', path: `/_data_stream/${DEMO_INDEX_PREFIX}-*` }, { ignore });
  await engine.request({ method: 'DELETE', path: `/${DEMO_INDEX_PREFIX}-*`, querystring: { expand_wildcards: 'all', ignore_unavailable: true } }, { ignore });
}
