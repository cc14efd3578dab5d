/**
 * Which output the config names, decided once per process, and the one connection to it.
 *
 *   openOutputs(config) ─▶ EngineOutputs (one EngineClient: Elasticsearch 8/9 or OpenSearch 2)
 *                       └▶ EmbeddedOutputs (one DuckDB handle on output.embedded.path)
 *
 * Every component that reads or writes the store gets what it uses from here (the sink, the rule
 * backend, the reference store, the results writer, the alert state store, the lease), never the
 * config's output section, so "which output?" is asked in exactly one place. Components are built
 * lazily and their modules imported only when used: DuckDB's native library alone is ~40 MB of
 * RSS, and an agent without rules never loads the rule engine.
 */
import type { Logger } from 'pino';
import type { Lease } from './alerts/lease.ts';
import type { StateStore } from './alerts/state.ts';
import type { Config, ElasticsearchOutputConfig } from './config/schema.ts';
import { resolvePath } from './config/load.ts';
import { EngineClient } from './engine/client.ts';
import type { ReferenceStore } from './reference/profile.ts';
import type { ResultsWriter } from './results/writer.ts';
import type { Backend } from './rules/query.ts';
import type { RuleDeps } from './rules/runner.ts';
import type { EmbeddedStore, StoreOptions } from './sinks/embedded/store.ts';
import type { DeadLetterWriter, Sink } from './sinks/sink.ts';

export interface SinkDeps {
  deadLetter: DeadLetterWriter;
  logger: Logger;
}

export interface LeaseOptions {
  ttlMs?: number;
  holder?: string;
}

export interface Outputs {
  readonly kind: 'elasticsearch' | 'embedded';
  /** For messages: `Elasticsearch/OpenSearch at http://...`, `embedded store ./data/driftbeat.duckdb`. */
  readonly where: string;
  /** The engine client (search-engine output only). */
  readonly engine?: EngineClient;
  /** Index prefix (search-engine output only). */
  readonly indexPrefix?: string;
  predictionsSink(deps: SinkDeps): Promise<Sink>;
  ruleBackend(): Promise<Backend>;
  referenceStore(): Promise<ReferenceStore>;
  resultsWriter(): Promise<ResultsWriter>;
  /** Alert state; its init() creates indices or tables when missing (on first use with a search engine). */
  stateStore(): Promise<StateStore>;
  /** With a search engine, one of several agents evaluates rules; the embedded store has one process. */
  lease(logger: Logger, options?: LeaseOptions): Promise<Lease>;
  /** The DuckDB handle (embedded output only). */
  embeddedStore?(): Promise<EmbeddedStore>;
  /** Closes the connection (or releases the DuckDB handle). Safe twice. */
  close(): Promise<void>;
}

export interface OpenOutputsOptions {
  /** Shown in the engine's user-agent (e.g. `setup`, `rules`). */
  name?: string;
  /** Use this DuckDB handle instead of opening one (the running agent's own); not closed by close(). */
  store?: EmbeddedStore;
}

export function openOutputs(config: Pick<Config, 'output'>, options: OpenOutputsOptions = {}): Outputs {
  const es = config.output.elasticsearch;
  if (es) return new EngineOutputs(es, options);
  const e = config.output.embedded!;
  return new EmbeddedOutputs(resolvePath(e.path), e.path, options, { memoryLimit: e.memoryLimit, threads: e.threads });
}

class EngineOutputs implements Outputs {
  readonly kind = 'elasticsearch' as const;
  readonly where: string;
  readonly engine: EngineClient;
  readonly indexPrefix: string;
  private readonly config: ElasticsearchOutputConfig;

  constructor(config: ElasticsearchOutputConfig, options: OpenOutputsOptions) {
    this.config = config;
    this.engine = new EngineClient(config, { name: options.name ?? 'agent' });
    this.indexPrefix = config.indexPrefix;
    this.where = `${config.hosts.join(', ')}`;
  }

  async predictionsSink(deps: SinkDeps): Promise<Sink> {
    const { ElasticsearchSink } = await import('./sinks/elasticsearch/sink.ts');
    return new ElasticsearchSink({ config: this.config, client: this.engine, deadLetter: deps.deadLetter, logger: deps.logger });
  }

  async ruleBackend(): Promise<Backend> {
    const { ElasticsearchBackend } = await import('./backends/elasticsearch/backend.ts');
    return new ElasticsearchBackend(this.engine, { indexPrefix: this.indexPrefix });
  }

  async referenceStore(): Promise<ReferenceStore> {
    const { ElasticsearchReferenceStore } = await import('./reference/store-elasticsearch.ts');
    return new ElasticsearchReferenceStore(this.engine, { indexPrefix: this.indexPrefix });
  }

  async resultsWriter(): Promise<ResultsWriter> {
    const { ElasticsearchResultsWriter } = await import('./results/elasticsearch.ts');
    return new ElasticsearchResultsWriter(this.engine, { indexPrefix: this.indexPrefix });
  }

  async stateStore(): Promise<StateStore> {
    const { ElasticsearchStateStore } = await import('./alerts/state-es.ts');
    return new ElasticsearchStateStore(this.engine, { indexPrefix: this.indexPrefix });
  }

  async lease(logger: Logger, options: LeaseOptions = {}): Promise<Lease> {
    const { ElasticsearchLease } = await import('./alerts/lease.ts');
    return new ElasticsearchLease({ client: this.engine, index: `${this.indexPrefix}-state`, logger, ...options });
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

class EmbeddedOutputs implements Outputs {
  readonly kind = 'embedded' as const;
  readonly where: string;
  private readonly path: string;
  private opened: Promise<EmbeddedStore> | undefined;
  private readonly owned: boolean;

  constructor(path: string, shown: string, options: OpenOutputsOptions, private readonly storeOptions: StoreOptions = {}) {
    this.path = path;
    this.where = `embedded store ${shown}`;
    this.owned = options.store === undefined;
    if (options.store) this.opened = Promise.resolve(options.store);
  }

  embeddedStore(): Promise<EmbeddedStore> {
    this.opened ??= import('./sinks/embedded/store.ts').then(({ openStore }) => openStore(this.path, this.storeOptions));
    this.opened.catch(() => (this.opened = undefined));
    return this.opened;
  }

  async predictionsSink(deps: SinkDeps): Promise<Sink> {
    const { EmbeddedSink } = await import('./sinks/embedded/sink.ts');
    return new EmbeddedSink({ store: await this.embeddedStore(), deadLetter: deps.deadLetter, logger: deps.logger });
  }

  async ruleBackend(): Promise<Backend> {
    const { EmbeddedBackend } = await import('./backends/embedded/backend.ts');
    return new EmbeddedBackend(await this.embeddedStore());
  }

  async referenceStore(): Promise<ReferenceStore> {
    const { EmbeddedReferenceStore } = await import('./reference/store-embedded.ts');
    const store = new EmbeddedReferenceStore(await this.embeddedStore());
    await store.init();
    return store;
  }

  async resultsWriter(): Promise<ResultsWriter> {
    const { EmbeddedResultsWriter } = await import('./results/embedded.ts');
    return new EmbeddedResultsWriter(await this.embeddedStore());
  }

  async stateStore(): Promise<StateStore> {
    const { EmbeddedStateStore } = await import('./alerts/state-embedded.ts');
    const store = new EmbeddedStateStore(await this.embeddedStore(), { owned: false });
    await store.init();
    return store;
  }

  async lease(): Promise<Lease> {
    const { LocalLease } = await import('./alerts/lease.ts');
    return new LocalLease();
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened && this.owned) await (await opened.catch(() => undefined))?.close();
  }
}

/**
 * The rule engine's dependencies (agent/rules/runner.ts RuleDeps) from an output: the agent's own
 * (`outputs`, left open by close()), or a connection opened here for one command and closed by close().
 * The composition of rules and backends happens here, at the edge: the engine knows only the interfaces.
 */
export async function openRuleDeps(config: Pick<Config, 'output'>, outputs?: Outputs): Promise<RuleDeps> {
  const out = outputs ?? openOutputs(config, { name: 'rules' });
  try {
    return {
      backend: await out.ruleBackend(),
      references: await out.referenceStore(),
      results: await out.resultsWriter(),
      close: async () => {
        if (!outputs) await out.close();
      },
    };
  } catch (err) {
    if (!outputs) await out.close().catch(() => undefined);
    throw err;
  }
}
