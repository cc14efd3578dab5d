/**
 * `driftbeat run`: builds the components from the config and runs them until stopped.
 *
 *   FileSource (per input) ──lines──▶ Pipeline ──batches──▶ Sink (Elasticsearch | embedded)
 *        ▲                                │
 *        └──── Registry.ack(file, end) ◀──┘        RuleRunner (when rules.path is set)
 *
 * Building is separate from running (as Vector does). stop() is safe without start and safe twice,
 * drains what it can within `drainTimeoutMs`, and leaves unacknowledged lines to the next start.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { resolvePath } from './config/load.ts';
import { createNormalizeContext, normalizeLine, type NormalizeContext } from './normalize/normalize.ts';
import { FileDeadLetter } from './pipeline/deadletter.ts';
import type { NormalizeWorker } from './pipeline/offload.ts';
import { Pipeline, slabPoolFor } from './pipeline/pipeline.ts';
import { openOutputs, type Outputs } from './outputs.ts';
import type { ReferenceStore } from './reference/profile.ts';
import { loadReferenceInfo } from './reference/load-info.ts';
import type { Sink } from './sinks/sink.ts';
import { FileSource } from './sources/file/source.ts';
import { lockDataDir, type DataLock } from './sources/file/lock.ts';
import { FeedbackService, isFeedback } from './quality/service.ts';
import { Registry } from './sources/file/registry.ts';
import { startTelemetryServer, type Health, type TelemetryServer } from './telemetry/http.ts';

export interface AgentOptions {
  config: Config;
  /** The config file: with the embedded output and the HTTP endpoint, CLI commands run in the agent on it (agent/remote.ts). */
  configFile?: string;
  logger: Logger;
  /** Read every input to its current end, deliver everything, and return. */
  once?: boolean;
  /** How long stop() waits for in-flight batches before leaving them to the next start. */
  drainTimeoutMs?: number;
  /** Extra services started with the agent (the rule runner), stopped before the ship path. */
  services?: AgentService[];
  /**
   * Normalize and encode in a worker thread when the output is Elasticsearch (default true;
   * the environment variable DRIFTBEAT_NORMALIZE_WORKER=0 turns it off).
   */
  normalizeWorker?: boolean;
}

export interface AgentService {
  name: string;
  start(agent: Agent): Promise<void>;
  stop(): Promise<void>;
}

/** Prediction bytes not yet acknowledged (queued, or in the files) above which the ship path counts as busy (the join waits). */
export const SHIP_BACKLOG_BYTES = 2 * 1024 * 1024;

/** How often reference profiles are reloaded while running. */
export const REFERENCE_REFRESH_MS = 5 * 60_000;

export function inputIdOf(input: Config['inputs'][number], index: number): string {
  return input.id ?? input.model.name ?? `input-${index}`;
}

export class Agent {
  readonly config: Config;
  readonly logger: Logger;
  readonly dataDir: string;
  /** The one connection to the output (agent/outputs.ts), shared with the services (rules, alerts). */
  readonly outputs: Outputs;
  sink: Sink | undefined;
  pipeline: Pipeline | undefined;
  registry: Registry | undefined;
  readonly normalizers = new Map<string, NormalizeContext>();
  private sources: FileSource[] = [];
  /** The joins of `kind: feedback` inputs (agent/quality/service.ts). */
  feedback: FeedbackService | undefined;
  private telemetry: TelemetryServer | undefined;
  private lock: DataLock | undefined;
  private readonly options: AgentOptions;
  private stopping: Promise<void> | undefined;
  private references: Promise<ReferenceStore> | undefined;
  private fatal: Error | undefined;
  private referenceTimer: NodeJS.Timeout | undefined;
  private unpublish: (() => void) | undefined;
  private stopSignal: (() => void) | undefined;
  /** What the services report for /healthz (e.g. `rules`: loaded and invalid rule files). */
  private readonly details = new Map<string, { status: 'ok' | 'degraded' } & Record<string, unknown>>();
  private readonly stopped = new Promise<void>((resolve) => { this.stopSignal = resolve; });

  constructor(options: AgentOptions) {
    this.options = options;
    this.config = options.config;
    this.logger = options.logger;
    this.dataDir = resolvePath(options.config.path.data);
    this.outputs = openOutputs(options.config, { name: 'agent' });
  }

  get telemetryUrl(): string | undefined {
    return this.telemetry?.url;
  }

  /** A service's part of /healthz; `degraded` makes the whole status degraded (still HTTP 200: shipping goes on). */
  setHealthDetail(name: string, detail: { status: 'ok' | 'degraded' } & Record<string, unknown>): void {
    this.details.set(name, detail);
  }

  health(): Health {
    if (this.fatal) return { status: 'failed', error: this.fatal.message };
    const degraded = [...this.details.values()].some((d) => d.status === 'degraded');
    return {
      status: degraded ? 'degraded' : 'ok',
      ...Object.fromEntries(this.details),
      queue_bytes: this.pipeline?.queuedBytes ?? 0,
      ...(this.pipeline ? { pipeline: this.pipeline.stats } : {}),
    };
  }

  /** Starts everything; with `once`, also runs to the end and stops. Resolves when the agent has stopped. */
  async run(): Promise<void> {
    try {
      await this.start();
    } catch (err) {
      this.lock?.release();
      throw err;
    }
    if (this.options.once) {
      try {
        await Promise.race([Promise.all(this.sources.map((s) => s.readToEnd())), this.stopped]);
        if (!this.fatal) await this.pipeline!.flush();
        // Outcomes after the predictions they are joined with.
        if (!this.fatal) await this.feedback?.runOnce();
      } finally {
        await this.stop();
      }
      if (this.fatal) throw this.fatal;
      return;
    }
    // Every timer of the sources is unref'd; this one keeps the process up until stop(), so an agent
    // whose inputs match no file yet (and with no HTTP endpoint, no rules) waits for them, as Filebeat does.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    try {
      await this.stopped;
      await this.stopping;
    } finally {
      clearInterval(keepAlive);
    }
    if (this.fatal) throw this.fatal;
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    // One agent per path.data: before anything reads the registry (exit 2 naming the holder).
    this.lock = lockDataDir(this.dataDir, logger);
    if (config.http.enabled && !this.options.once) {
      this.telemetry = await startTelemetryServer(config.http.host, config.http.port, () => this.health());
      logger.info({ url: this.telemetry.url }, `metrics on ${this.telemetry.url}/metrics`);
    }
    this.registry = await Registry.open(this.dataDir, { logger });
    await this.serveCommands();
    const deadLetter = new FileDeadLetter(join(this.dataDir, 'dead-letter'), { logger });
    this.sink = await this.outputs.predictionsSink({ deadLetter, logger });
    const out = config.output;
    const batchMaxDocs = out.elasticsearch?.bulkMaxDocs ?? out.embedded!.batchMaxDocs;
    const host = hostname();
    config.inputs.forEach((input, i) => {
      if (!isFeedback(input)) this.normalizers.set(inputIdOf(input, i), createNormalizeContext(input, { hostName: host }));
    });
    // Normalize + encode on the second core when the sink takes encoded batches (Elasticsearch).
    // DRIFTBEAT_NORMALIZE_WORKER=0 keeps them on the main thread (comparisons, debugging).
    let offload: NormalizeWorker | undefined;
    const pool = slabPoolFor(config.queue.maxBytes);
    // Embedded: two batches, so the next one is normalized and encoded on this thread while DuckDB
    // writes the last on its own (the store queues writes one at a time anyway).
    const maxInFlight = out.elasticsearch?.maxInFlight ?? 2;
    if (this.sink.acceptsEncoded && out.elasticsearch && (this.options.normalizeWorker ?? process.env.DRIFTBEAT_NORMALIZE_WORKER !== '0')) {
      const { NormalizeWorker } = await import('./pipeline/offload.ts');
      offload = new NormalizeWorker({ inputs: [...this.normalizers].map(([id, ctx]) => ({ id, ctx })), indexPrefix: out.elasticsearch.indexPrefix, pool, maxInFlight });
    }
    this.pipeline = new Pipeline({
      sink: this.sink,
      deadLetter,
      ack: (key, end) => this.registry!.ack(key, end),
      logger,
      budgetBytes: config.queue.maxBytes,
      batchMaxDocs,
      batchMaxBytes: out.elasticsearch?.bulkMaxBytes ?? 8 * 1024 * 1024,
      flushIntervalMs: out.elasticsearch?.flushInterval ?? out.embedded!.flushInterval,
      maxInFlight,
      pool,
      onFatal: (err) => {
        this.fatal = err;
        void this.stop();
      },
      ...(offload ? { offload } : {}),
    });
    await this.sink.start();
    if (out.elasticsearch) void this.checkTemplates();
    this.addSources();
    // Types and text vocabularies of reference profiles, for NA rules and OOV counts at ingest.
    // Reloaded periodically, so a profile built while the agent runs is picked up without a restart.
    await this.loadReferences();
    this.referenceTimer = setInterval(() => void this.loadReferences(), REFERENCE_REFRESH_MS);
    this.referenceTimer.unref();
    await Promise.all(this.sources.map((s) => s.start()));
    await this.startFeedback(deadLetter);
    for (const svc of this.options.services ?? []) await svc.start(this);
    logger.info({ inputs: this.sources.length, output: this.sink.name }, `driftbeat started: ${this.sources.length} input(s) -> ${this.sink.name}`);
  }

  /** One file source per prediction input, its lines normalized into the pipeline. */
  private addSources(): void {
    this.config.inputs.forEach((input, i) => {
      if (isFeedback(input)) return;
      const id = inputIdOf(input, i);
      const ctx = this.normalizers.get(id)!;
      this.pipeline!.addInput(id, (line, meta) => normalizeLine(line, meta, ctx));
      this.sources.push(new FileSource({
        input,
        inputId: id,
        registry: this.registry!,
        logger: this.logger.child({ 'input.id': id }),
        onLines: (lines) => this.pipeline!.onLines(id, lines),
        // The pipeline copies each line into its slabs before onLines returns.
        consumerCopies: true,
      }));
    });
  }

  /** The ground-truth join (agent/quality/), when the config has feedback inputs. */
  private async startFeedback(deadLetter: FileDeadLetter): Promise<void> {
    const feedback = this.config.inputs.flatMap((input, i) => (isFeedback(input) ? [[input.id ?? `${input.model.name}-feedback`, input] as const] : []));
    if (feedback.length) {
      this.feedback = new FeedbackService({
        config: this.config, outputs: this.outputs, registry: this.registry!, deadLetter, logger: this.logger, dataDir: this.dataDir,
        onFatal: (err) => { this.fatal = err; void this.stop(); },
        // A backlog is more than one batch's worth of lines waiting, read (queued) or not yet read
        // (the files' unacknowledged bytes, as of the last second: so the join also waits at the
        // start of a backfill and through its last batches): predictions go first.
        shipBusy: () => Math.max(this.pipeline?.queuedBytes ?? 0, this.sources.reduce((n, s) => n + s.lagBytes, 0)) > SHIP_BACKLOG_BYTES,
      });
      await this.feedback.start(feedback.map(([id, input]) => [id, input]));
    }
  }

  /**
   * DuckDB lets one process open the store: with it held here, `rules test`, `alerts list`, ...
   * reach the agent through its loopback endpoint and run here (agent/remote.ts).
   */
  private async serveCommands(): Promise<void> {
    const embedded = this.config.output.embedded;
    if (!this.telemetry || !embedded || !this.options.configFile) return;
    const { publishCommandEndpoint, serveCommand } = await import('./remote.ts');
    const store = resolvePath(embedded.path);
    const configFile = this.options.configFile;
    const { token, remove } = publishCommandEndpoint(this.dataDir, this.telemetry.url, store);
    this.unpublish = remove;
    this.telemetry.serveCommands({
      token,
      handle: (body) => {
        const command = (body as { request?: { command?: unknown } } | null)?.request?.command;
        this.logger.info({ command }, `running "driftbeat ${String(command)}" for the CLI (this agent holds the embedded store)`);
        return serveCommand(configFile, store, body);
      },
    });
  }

  /**
   * Without driftbeat's index template, Elasticsearch would auto-create plain indices with dynamic
   * mappings (strings as text): documents still arrive, but rules cannot aggregate on them. Say so
   * once, at start; never fatal (the cluster may simply be unreachable yet).
   */
  private async checkTemplates(): Promise<void> {
    try {
      const client = this.outputs.engine;
      const name = `${this.outputs.indexPrefix}-predictions`;
      if (client && !(await client.indices.existsIndexTemplate({ name }))) {
        this.logger.warn(`index template ${name} is not installed: run \`driftbeat setup -c <config>\` once, or the predictions are indexed with dynamic mappings that rules cannot aggregate on`);
      }
    } catch {
      // Unreachable or not allowed to read templates (least-privilege role): nothing to say here.
    }
  }

  /** The reference store of the configured output (profiles built by `driftbeat reference build`). */
  referenceStore(): Promise<ReferenceStore> {
    this.references ??= this.outputs.referenceStore();
    this.references.catch(() => (this.references = undefined));
    return this.references;
  }

  private async loadReferences(): Promise<void> {
    try {
      const models = this.config.inputs.every((i) => i.model.name) ? this.config.inputs.map((i) => i.model.name!) : undefined;
      const info = await loadReferenceInfo(await this.referenceStore(), models);
      for (const ctx of this.normalizers.values()) ctx.setReference(info);
    } catch (err) {
      // No profile yet, or the cluster is away: ingest goes on without OOV counts until it loads.
      this.logger.warn({ error: err }, `reference profiles not loaded (OOV counts and reference types wait for them): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Stops reading, drains in-flight batches (bounded), persists acknowledged offsets. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { logger } = this;
    if (this.referenceTimer) clearInterval(this.referenceTimer);
    for (const svc of [...(this.options.services ?? [])].reverse()) {
      await svc.stop().catch((err: unknown) => logger.error({ error: err }, `stopping ${svc.name} failed`));
    }
    await Promise.all(this.sources.map((s) => s.stop()));
    await this.feedback?.stop().catch((err: unknown) => logger.error({ error: err }, 'stopping the feedback join failed'));
    if (this.pipeline && !this.fatal) {
      const drain = this.options.drainTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.pipeline.flush().then(() => false, () => false),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), drain); }),
      ]);
      clearTimeout(timer);
      if (timedOut) logger.warn(`output did not settle within ${drain} ms; unacknowledged lines will be read again at the next start`);
    }
    this.pipeline?.stop();
    await this.registry?.close();
    await this.sink?.stop();
    await this.outputs.close();
    this.unpublish?.();
    await this.telemetry?.close();
    this.lock?.release();
    const s = this.pipeline?.stats;
    if (s) {
      logger.info(
        { 'driftbeat.lines': s.linesIn, 'driftbeat.indexed': s.indexed, 'driftbeat.duplicates': s.duplicates, 'driftbeat.dead_lettered': s.deadLettered },
        `driftbeat stopped: ${s.linesIn} lines read, ${s.indexed} indexed, ${s.duplicates} duplicates, ${s.deadLettered} dead-lettered`,
      );
    }
    this.stopSignal?.();
  }
}
