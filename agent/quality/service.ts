/**
 * The feedback side of `driftbeat run`: for each `kind: feedback` input, a FileSource (the same
 * tailing and registry as prediction logs) feeding its own Pipeline whose sink is the join.
 *
 *   FileSource ──lines──▶ Pipeline(parseFeedback) ──batches──▶ JoinSink ──▶ outcomes (store)
 *        ▲                     │ ack(file, end)
 *        └── Registry ◀── AckGate (held back at the first waiting outcome of each file)
 *
 * Kept apart from the prediction pipeline so the join's lookups never sit in front of prediction
 * batches (the ship path's speed is unchanged when both run).
 */
import { join as joinPath } from 'node:path';
import type { Logger } from 'pino';
import type { Config, InputConfig } from '../config/schema.ts';
import type { Outputs } from '../outputs.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import type { DeadLetterWriter, OutEvent } from '../sinks/sink.ts';
import { FileSource } from '../sources/file/source.ts';
import type { Registry } from '../sources/file/registry.ts';
import { feedbackContext, parseFeedback } from './feedback.ts';
import { AckGate, JoinSink } from './joiner.ts';
import { PendingSet } from './pending.ts';
import type { OutcomeStore } from './store.ts';

export function isFeedback(input: InputConfig): boolean {
  return input.kind === 'feedback';
}

/** The outcome store of the configured output. */
export async function outcomeStoreFor(outputs: Outputs): Promise<OutcomeStore> {
  if (outputs.kind === 'embedded') {
    const { EmbeddedOutcomeStore } = await import('./store-embedded.ts');
    return new EmbeddedOutcomeStore(await outputs.embeddedStore!());
  }
  const { ElasticsearchOutcomeStore } = await import('./store-elasticsearch.ts');
  return new ElasticsearchOutcomeStore(outputs.engine!, { indexPrefix: outputs.indexPrefix! });
}

export interface FeedbackDeps {
  config: Config;
  outputs: Outputs;
  registry: Registry;
  deadLetter: DeadLetterWriter;
  logger: Logger;
  dataDir: string;
  onFatal: (err: Error) => void;
}

interface Running {
  id: string;
  source: FileSource;
  pipeline: Pipeline;
  sink: JoinSink;
}

export class FeedbackService {
  readonly #deps: FeedbackDeps;
  readonly #running: Running[] = [];
  #store: OutcomeStore | undefined;

  constructor(deps: FeedbackDeps) {
    this.#deps = deps;
  }

  get sinks(): JoinSink[] {
    return this.#running.map((r) => r.sink);
  }

  /** Builds and starts one join per feedback input; `inputs` are [id, config] pairs. */
  async start(inputs: readonly [string, InputConfig][]): Promise<void> {
    if (!inputs.length) return;
    const { config, registry, deadLetter, logger, dataDir } = this.#deps;
    const store = (this.#store = await outcomeStoreFor(this.#deps.outputs));
    for (const [id, input] of inputs) {
      const join = input.join ?? (await import('../config/schema.ts')).JoinSchema.parse({});
      const pending = new PendingSet(joinPath(dataDir, 'feedback', `${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.pending.json`), join.maxPending);
      const gate = new AckGate(pending, (key, end) => registry.ack(key, end));
      const log = logger.child({ 'input.id': id });
      const sink = new JoinSink({ model: input.model.name!, join, store, pending, gate, deadLetter, logger: log });
      const out = config.output;
      const pipeline = new Pipeline({
        sink,
        deadLetter,
        ack: (key, end) => gate.offer(key, end),
        logger: log,
        // A small share of the queue: outcomes are small and the join is the bottleneck anyway.
        budgetBytes: Math.max(1024 * 1024, Math.floor(config.queue.maxBytes / 4)),
        batchMaxDocs: Math.min(out.elasticsearch?.bulkMaxDocs ?? out.embedded!.batchMaxDocs, 5000),
        batchMaxBytes: 4 * 1024 * 1024,
        flushIntervalMs: out.elasticsearch?.flushInterval ?? out.embedded!.flushInterval,
        maxInFlight: 1,
        onFatal: this.#deps.onFatal,
      });
      const ctx = feedbackContext(input);
      pipeline.addInput(id, (line, meta) => {
        const r = parseFeedback(line, meta, ctx);
        if (!r.ok) return r;
        // The pipeline carries any object as an event; the join sink reads it back as a FeedbackEvent.
        const event: OutEvent = { id: r.event.id, doc: r.event as unknown as OutEvent['doc'], bytes: line.length };
        return { ok: true, event };
      });
      const source = new FileSource({ input, inputId: id, registry, logger: log, onLines: (lines) => pipeline.onLines(id, lines), consumerCopies: true });
      await sink.start();
      this.#running.push({ id, source, pipeline, sink });
      await source.start();
    }
    logger.info({ inputs: inputs.length }, `feedback: ${inputs.length} input(s) joined with their predictions in ${store.name}`);
  }

  /** Reads every feedback file to its end and joins what it can now (run --once, after the predictions are stored). */
  async runOnce(): Promise<void> {
    for (const r of this.#running) {
      await this.#store?.refreshPredictions?.(r.sink.model);
      await r.source.readToEnd();
      await r.pipeline.flush();
      await r.sink.retry();
    }
  }

  async stop(): Promise<void> {
    for (const r of this.#running) await r.source.stop();
    for (const r of this.#running) r.sink.release();
    for (const r of this.#running) {
      await r.pipeline.flush().catch(() => undefined);
      r.pipeline.stop();
      await r.sink.stop();
    }
  }
}
