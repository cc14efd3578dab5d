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
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Agent } from '../agent/agent.ts';
import { runSetup } from '../agent/assets/setup.ts';
import type { EngineClient } from '../agent/engine/client.ts';
import { AlertManager } from '../agent/alerts/manager.ts';
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
import { activeChanges, DAY_MS, DEMO_CHANGES, DEMO_MODEL, DEMO_VERSIONS, HOUR_MS, ModelWriter } from './model.ts';
import { writeTrainingCsv } from './training.ts';
import { DEMO_INDEX_PREFIX, DEMO_RULES_DIR, prepareWorkspace, type Logger, type Workspace } from './data-folder.ts';
import { LabelWriter } from './labels.ts';
import { alertLine, collapseQuiet, fmtInt, ingestLine, styleFor, summarize, summaryTable, type AlertKind, type OutStream, type Style, type SummaryRow } from './terminal.ts';

export { DEMO_INDEX_PREFIX, DEMO_MARKER, DEMO_RULES_DIR, demoConfigText, prepareDataDir } from './data-folder.ts';

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

type RuleDeps = Awaited<ReturnType<typeof buildDeps>>;

/** The run's options with their defaults filled in. */
interface Settings {
  hours: number;
  hourMs: number;
  linesPerHour: number;
  startMs: number;
  dataDir: string;
  ingestTimeoutMs: number;
  engineUrl?: string;
  signal?: AbortSignal;
}

function demoSettings(opts: DemoOptions): Settings {
  const fast = opts.fast ?? false;
  return {
    hours: opts.hours ?? 24,
    hourMs: opts.hourMs ?? (fast ? 0 : 2000),
    linesPerHour: opts.linesPerHour ?? (fast ? 2000 : 3000),
    startMs: opts.startMs ?? yesterday(),
    dataDir: resolve(opts.dataDir ?? 'demo-data'),
    ingestTimeoutMs: opts.ingestTimeoutMs ?? 60_000,
    engineUrl: opts.engineUrl,
    signal: opts.signal,
  };
}

/** A path as a person would type it: relative under the working directory, else absolute. */
function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

function printIntro(screen: Screen, s: Settings): void {
  const { style } = screen;
  screen.line(style.bold(`driftbeat demo: model "${DEMO_MODEL}" in two versions (${DEMO_VERSIONS.map((v) => `${v.version}: ${Math.round(v.share * 100)}% of traffic`).join(', ')})`));
  screen.line(`${s.hours} simulated hours of ~${fmtInt(s.linesPerHour)} predictions/hour${s.hourMs > 0 ? `, one hour every ${s.hourMs / 1000} s` : ', as fast as the agent ingests'}; simulated day ${new Date(s.startMs).toISOString().slice(0, 10)} (UTC).`);
  screen.line('Scheduled changes:');
  for (const c of DEMO_CHANGES) {
    const span = `${String(c.fromHour).padStart(2, '0')}:00-${String(c.toHour).padStart(2, '0')}:00`;
    screen.line(`  ${style.cyan(span)}  ${c.description}${c.versions.length < DEMO_VERSIONS.length ? ` (${c.versions.join(', ')} only)` : ''}  ${style.dim(`-> ${c.rule}`)}`);
  }
  screen.line();
}

/** Step 1: the training CSV and the reference profile built from it, one per demo version. */
async function trainReference(screen: Screen, config: Config, dataDir: string) {
  const trainDir = join(dataDir, 'training');
  mkdirSync(trainDir, { recursive: true });
  const trainFile = join(trainDir, `${DEMO_MODEL}-train.csv`);
  const rows = writeTrainingCsv(trainFile);
  screen.line(`[1/4] training data: ${rel(trainFile)} (${fmtInt(rows)} rows)`);
  const input = config.inputs[0]!;
  const startedMs = Date.now();
  const base = await buildReference({ input, model: DEMO_MODEL, version: DEMO_VERSIONS[0]!.version, dataPath: trainFile });
  // Both versions were trained on the same data: one build, saved under each version.
  const profiles = DEMO_VERSIONS.map((v) => ({ ...base, version: v.version, fields: base.fields.map((f) => ({ ...f, version: v.version })) }));
  return { base, profiles, startedMs };
}

/** A search engine keeps what earlier demo runs stored: start from nothing, then install the templates. */
async function resetEngine(screen: Screen, engine: EngineClient, runConfig: Config, engineUrl: string | undefined): Promise<void> {
  await emptyDemoIndices(engine);
  const setupLines: string[] = [];
  const setup = await runSetup({ config: runConfig, steps: ['templates'], out: (l) => setupLines.push(l) });
  if (!setup.ok) throw new DriftbeatError('ERR_DEMO_SETUP', `driftbeat setup failed on ${engineUrl}:\n${setupLines.join('\n')}`);
  screen.line(`      ${setupLines[0] ?? 'setup'}: templates installed (${setup.actions.filter((a) => a.result === 'created').length} created)`);
}

/** What the day produced, gathered hour by hour. */
interface Tally {
  fired: FiredAlert[];
  recovered: FiredAlert[];
  events: { kind: AlertKind; result: RuleResult }[];
  results: RuleResult[];
}

/** The alert manager on the simulated clock, printing its alerts through a terminal notifier. */
async function startAlertManager(runConfig: Config, agent: Agent, logger: Logger, screen: Screen, clock: { now: number }, startMs: number): Promise<AlertManager> {
  const terminal: Notifier = {
    name: 'terminal',
    type: 'log',
    async send(msg: AlertMessage) {
      screen.line(alertLine(msg.kind, msg.result, startMs, screen.style));
    },
  };
  const manager = new AlertManager({
    config: runConfig,
    store: await agent.outputs.stateStore(),
    logger,
    notifiers: new Map([['terminal', terminal]]),
    now: () => new Date(clock.now),
  });
  await manager.start();
  return manager;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoReport> {
  const t0 = Date.now();
  const out = opts.out ?? process.stdout;
  const screen = new Screen(out, styleFor(out, opts.env));
  const s = demoSettings(opts);
  const ws = prepareWorkspace(s);
  const where = ws.storePath ? `embedded store ${rel(ws.storePath)}` : `${s.engineUrl} (indices ${DEMO_INDEX_PREFIX}-*)`;
  printIntro(screen, s);

  const { base, profiles, startedMs } = await trainReference(screen, ws.config, s.dataDir);
  // The agent, in-process; the rule engine and the alert manager share its connection to the store.
  const agent = new Agent({ config: ws.runConfig, logger: ws.logger, drainTimeoutMs: 10_000 });
  const engine = agent.outputs.engine;
  if (engine) await resetEngine(screen, engine, ws.runConfig, s.engineUrl);
  // Saved before the agent starts: it loads the vocabularies then, so OOV words are counted at ingest.
  const refs = await agent.outputs.referenceStore();
  for (const p of profiles) await refs.save(p);
  screen.line(`[2/4] reference profiles: ${profiles.map((p) => `${p.model}@${p.version}`).join(', ')} (${base.fields.length} fields: ${base.fields.map((f) => f.field.replace(/^\w+\./, '')).join(', ')}) in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);

  // Rules, evaluated by the demo itself on the simulated clock.
  const rules = loadRules([DEMO_RULES_DIR], { notifiers: Object.keys(ws.config.notifiers) });
  const tally: Tally = { fired: [], recovered: [], events: [], results: [] };
  const clock = { now: s.startMs };
  let deps: RuleDeps | undefined;
  let manager: AlertManager | undefined;
  let writer: ModelWriter;
  try {
    await agent.start();
    deps = await buildDeps(ws.runConfig, agent.outputs);
    manager = await startAlertManager(ws.runConfig, agent, ws.logger, screen, clock, s.startMs);
    screen.line(`[3/4] agent started: ${rel(join(s.dataDir, 'logs'))}/*.jsonl -> ${where}; ${rules.length} rules from ${rel(DEMO_RULES_DIR)}`);
    screen.line(`[4/4] the simulated day (each line: the hour just ingested, then the alerts of its window)`);
    screen.line();
    writer = await simulateDay({ s, screen, agent, engine, deps, manager, rules, logger: ws.logger, logFile: ws.logFile, clock, tally });
  } finally {
    screen.clearLive();
    await manager?.stop(5000).catch(() => undefined);
    await deps?.close();
    await agent.stop();
    ws.logDest.end();
  }

  const summary = summarize(tally.results, tally.events, s.startMs);
  const indexed = agent.pipeline!.stats.indexed;
  screen.line();
  screen.line(screen.style.bold(`Summary: ${fmtInt(writer.linesWritten)} predictions written, ${fmtInt(indexed)} stored; ${tally.results.length} results from ${rules.length} rules; ${tally.fired.length} alerts fired, ${tally.recovered.length} recovered`));
  screen.line(summaryTable(collapseQuiet(summary), screen.style));
  screen.line();
  printNextSteps(screen, s, ws);
  screen.line(screen.style.dim(`(finished in ${((Date.now() - t0) / 1000).toFixed(1)} s)`));

  return {
    dataDir: s.dataDir, configFile: ws.configFile, startMs: s.startMs, hours: s.hours,
    linesWritten: writer.linesWritten, indexed,
    results: tally.results, fired: tally.fired, recovered: tally.recovered, summary, elapsedMs: Date.now() - t0,
  };
}

/** Where the data was left and the commands to look at it. */
function printNextSteps(screen: Screen, s: Settings, ws: Workspace): void {
  const { storePath } = ws;
  const cfg = rel(ws.configFile);
  const w = DEMO_CHANGES[0]!;
  const from = new Date(s.startMs + w.fromHour * HOUR_MS).toISOString();
  const to = new Date(s.startMs + (w.fromHour + 1) * HOUR_MS).toISOString();
  screen.line(`Data left in ${rel(s.dataDir)}/ (logs, training CSV, ${storePath ? 'DuckDB store, ' : ''}agent log driftbeat.log)${storePath ? '' : ` and in ${s.engineUrl}`}. Try:`);
  screen.line(`  driftbeat rules test ${rel(join(DEMO_RULES_DIR, `${w.rule}.yml`))} -c ${cfg} --from ${from} --to ${to}`);
  screen.line(`  driftbeat alerts list -c ${cfg} --all`);
  if (storePath) screen.line(`  duckdb ${rel(storePath)} "SELECT model_version, count(*) FROM predictions GROUP BY 1"   # with the DuckDB CLI`);
  else {
    screen.line(`  curl '${s.engineUrl}/${DEMO_INDEX_PREFIX}-predictions-*/_count'`);
    screen.line(`  curl '${s.engineUrl}/${DEMO_INDEX_PREFIX}-results/_search?q=drifted:true&size=3&pretty'`);
  }
}

/** Everything the simulated day needs; `clock.now` is the simulated time the alert manager reads too. */
interface Day {
  s: Settings;
  screen: Screen;
  agent: Agent;
  engine: EngineClient | undefined;
  deps: RuleDeps;
  manager: AlertManager;
  rules: Rule[];
  logger: Logger;
  logFile: string;
  clock: { now: number };
  tally: Tally;
}

/** The demo's traffic: predictions and, behind them, their outcomes. */
interface Traffic {
  writer: ModelWriter;
  labels: LabelWriter;
}

/** Step 4: each simulated hour written, ingested, then the rule windows that ended evaluated. */
async function simulateDay(day: Day): Promise<ModelWriter> {
  const { s, agent } = day;
  const labels = new LabelWriter(join(s.dataDir, 'logs', 'labels'));
  const writer = new ModelWriter({ outDir: join(s.dataDir, 'logs'), linesPerHour: s.linesPerHour, startMs: s.startMs, onLine: (l) => labels.predicted(l) });
  const traffic: Traffic = { writer, labels };
  const joinSink = agent.feedback!.sinks[0]!;
  const lastEnd = new Map<string, number>(day.rules.map((r) => [r.name, s.startMs]));
  // Pacing is against the start of the day, so the time spent evaluating is caught up, not added.
  const dayRealStart = Date.now();
  for (let h = 0; h < s.hours; h++) {
    const hourStart = s.startMs + h * HOUR_MS;
    const realStart = Date.now();
    const indexedBefore = agent.pipeline!.stats.indexed;
    await writeHour(day, traffic, hourStart, { realStart, paceBase: dayRealStart + h * s.hourMs, indexedBefore });
    await waitFor(() => delivered(agent) >= writer.linesWritten, s.ingestTimeoutMs, () => agentFailure(agent, day.logFile, writer.linesWritten, delivered(agent)));
    // The outcomes known by now, joined with their (stored) predictions.
    const settled = () => joinSink.stats.joined + joinSink.stats.refused + joinSink.stats.givenUp;
    await waitFor(() => settled() >= labels.linesWritten, s.ingestTimeoutMs, () => new DriftbeatError('ERR_DEMO_JOIN', `demo: only ${settled()} of ${labels.linesWritten} outcomes were joined in time; see the agent log ${day.logFile}`));
    day.screen.line(ingestLine({ ...status(day, writer), docsPerSec: docsPerSec(agent, indexedBefore, realStart), changes: changesAt(hourStart) }, day.screen.style));
    const jobs = dueJobs(day.rules, lastEnd, day.clock.now);
    if (jobs.length > 0) await evaluateWindows(day, jobs);
  }
  return writer;
}

/** Lines the agent has taken care of: stored, recognised as duplicates or dead-lettered. */
function delivered(agent: Agent): number {
  const s = agent.pipeline!.stats;
  return s.indexed + s.duplicates + s.deadLettered;
}

function docsPerSec(agent: Agent, indexedBefore: number, realStartMs: number): number {
  const secs = Math.max(0.001, (Date.now() - realStartMs) / 1000);
  return (agent.pipeline!.stats.indexed - indexedBefore) / secs;
}

function status(day: Day, writer: ModelWriter) {
  const simNow = day.clock.now;
  return { simMs: simNow, dayStartMs: day.s.startMs, linesWritten: writer.linesWritten, indexed: day.agent.pipeline?.stats.indexed ?? 0, docsPerSec: 0, changes: changesAt(simNow - 1) };
}

/** Writes one simulated hour of traffic: in one go when fast, else in 10 paced steps with a live status line. */
async function writeHour(day: Day, traffic: Traffic, hourStart: number, pace: { realStart: number; paceBase: number; indexedBefore: number }): Promise<void> {
  const { s, clock } = day;
  const steps = s.hourMs > 0 ? 10 : 1;
  for (let step = 1; step <= steps; step++) {
    if (s.signal?.aborted) throw new DriftbeatError('ERR_DEMO_INTERRUPTED', `demo interrupted at simulated ${new Date(clock.now).toISOString()}; what was stored so far is in ${s.dataDir}`);
    clock.now = hourStart + (step * HOUR_MS) / steps;
    traffic.writer.writeUntil(clock.now);
    traffic.labels.writeUntil(clock.now);
    if (s.hourMs > 0) {
      day.screen.live(ingestLine({ ...status(day, traffic.writer), docsPerSec: docsPerSec(day.agent, pace.indexedBefore, pace.realStart) }, day.screen.style));
      await sleep(pace.paceBase + (step * s.hourMs) / steps - Date.now());
    }
  }
}

type Job = { rule: Rule; window: { from: string; to: string } };

/** Windows that ended by `nowMs`, per rule's own schedule; advances `lastEnd`. */
function dueJobs(rules: Rule[], lastEnd: Map<string, number>, nowMs: number): Job[] {
  const jobs: Job[] = [];
  for (const rule of rules) {
    const { windows } = windowsBetween(rule, lastEnd.get(rule.name), nowMs, 24);
    for (const w of windows) {
      jobs.push({ rule, window: toTimeWindow(w) });
      lastEnd.set(rule.name, +w.to);
    }
  }
  return jobs;
}

/** Evaluates the due windows, stores the results and prints the alerts they raise or clear. */
async function evaluateWindows(day: Day, jobs: Job[]): Promise<void> {
  const { deps, manager, tally, screen } = day;
  // What was just indexed becomes searchable at the engine's next refresh: make it now.
  await day.engine?.indices.refresh({ index: `${DEMO_INDEX_PREFIX}-*` });
  const tick = await evaluateRules(jobs, { backend: deps.backend, references: deps.references, logger: day.logger, now: () => new Date(day.clock.now) });
  const results = tick.evaluations.flatMap((e) => e.results);
  await deps.results.write(results);
  tally.results.push(...results);
  const report = await manager.process(results, day.rules);
  for (const t of report.transitions) {
    if (!t.message) continue;
    const a = { rule: t.rule, field: t.field, segment: t.segment, at: t.result.window.to };
    if (t.message === 'firing') tally.fired.push(a);
    if (t.message === 'recovered') tally.recovered.push(a);
    tally.events.push({ kind: t.message, result: t.result });
  }
  // Alerts print through the notifier: wait for them so they follow their hour's line.
  if (report.enqueued > 0) await manager.drain(10_000);
  for (const r of results.filter((x) => x.status === 'error')) screen.line(screen.style.red(`  rule ${r.rule} on ${r.field}: error: ${r.error ?? 'unknown'}`));
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
