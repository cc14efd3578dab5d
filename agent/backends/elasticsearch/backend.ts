/**
 * The Elasticsearch rule backend: every query of a call goes out in one `_msearch` (body.ts
 * compiles and parses). A search that fails (a missing index, a bad field) makes only its own
 * queries fail; a request that fails as a whole rejects, and the runner reports every rule of the
 * tick as `error`.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { EngineClient } from '../../engine/client.ts';
import { BackendError } from '../../errors.ts';
import { redact } from '../../telemetry/redact.ts';
import type { Answers, Backend, Query } from '../../rules/query.ts';
import { DEFAULT_MAX_BUCKETS } from './buckets.ts';
import { compileSearches, type CompiledSearch, type EsJson, type EsOptions } from './body.ts';

/** too_many_buckets_exception anywhere in an item's error (its type, root cause or cause). */
function isTooManyBuckets(error: { type?: string; root_cause?: { type?: string }[]; caused_by?: { type?: string } }): boolean {
  return JSON.stringify(error).includes('too_many_buckets_exception');
}

/** search.max_buckets as the cluster has it (persistent, transient, else its default). */
async function readMaxBuckets(client: EngineClient): Promise<number> {
  try {
    const res = await client.request<Record<string, Record<string, unknown> | undefined>>({ method: 'GET', path: '/_cluster/settings', querystring: { include_defaults: true, flat_settings: true, filter_path: '*.search.max_buckets' } });
    const b = res.body ?? {};
    const v = Number(b.transient?.['search.max_buckets'] ?? b.persistent?.['search.max_buckets'] ?? b.defaults?.['search.max_buckets']);
    return Number.isFinite(v) && v > 0 ? v : DEFAULT_MAX_BUCKETS;
  } catch {
    // No cluster:monitor privilege: the default, and a refused body is asked again capped.
    return DEFAULT_MAX_BUCKETS;
  }
}

export class ElasticsearchBackend implements Backend {
  readonly name = 'elasticsearch' as const;
  readonly #client: EngineClient;
  readonly #options: EsOptions;
  /** `_msearch` requests sent (the benchmark counts round trips per tick). */
  requests = 0;

  constructor(client: EngineClient, options: EsOptions = {}) {
    this.#client = client;
    this.#options = options;
  }

  /** The engine's search.max_buckets, read once (a cluster may lower it); the default when it cannot be read. */
  #maxBuckets?: Promise<number>;

  async execute(queries: readonly Query[]): Promise<Answers> {
    const answers: Answers = new Map();
    if (!queries.length) return answers;
    this.#maxBuckets ??= this.#options.maxBuckets !== undefined ? Promise.resolve(this.#options.maxBuckets) : readMaxBuckets(this.#client);
    const options = { ...this.#options, maxBuckets: await this.#maxBuckets };
    const refused = await this.#run(compileSearches(queries, options), answers);
    // Bodies the engine refused for search.max_buckets (many segments x many values): once more,
    // each query alone with its sizes capped to the worst case (buckets.ts), in one more round trip.
    if (refused.length) {
      const again = compileSearches(refused, { ...options, capped: true });
      const still = await this.#run(again, answers);
      for (const q of still) answers.set(q.id, new BackendError('ERR_BACKEND_BUCKETS', `the search of ${q.id} makes more buckets than search.max_buckets even with its sizes capped; lower group_by or top`));
    }
    return answers;
  }

  /** Sends one _msearch; fills `answers`; returns the queries of the bodies refused for too many buckets. */
  async #run(searches: CompiledSearch[], answers: Answers): Promise<Query[]> {
    const body: estypes.MsearchRequestItem[] = searches.flatMap((s) => [s.header, s.body]);
    this.requests++;
    let res: estypes.MsearchResponse;
    try {
      res = await this.#client.msearch({ searches: body });
    } catch (err) {
      throw new BackendError('ERR_BACKEND_ES', redact(`Elasticsearch _msearch of ${searches.length} search(es) failed: ${(err as Error).message}`), { cause: err });
    }
    const refused: Query[] = [];
    searches.forEach((s, i) => {
      const r = res.responses[i] as unknown as EsJson | undefined;
      const error = r?.error as { type?: string; reason?: string; root_cause?: { type?: string; reason?: string }[]; caused_by?: { type?: string } } | undefined;
      if (error && s.queries && isTooManyBuckets(error)) {
        refused.push(...s.queries);
        return;
      }
      if (!r || error) {
        // The engine's outer reason is often only "all shards failed": the root cause says why.
        const root = error?.root_cause?.[0];
        const why = !error ? 'no response' : root?.reason && root.reason !== error.reason ? `${root.type ?? error.type ?? 'error'}: ${root.reason}` : `${error.type ?? 'error'}: ${error.reason ?? ''}`;
        const e = new BackendError('ERR_BACKEND_SEARCH', `Elasticsearch search on ${String(s.header.index)} failed: ${why}`);
        for (const id of s.ids) answers.set(id, e);
        return;
      }
      try {
        for (const [id, a] of s.parse(r)) answers.set(id, a);
      } catch (err) {
        const e = new BackendError('ERR_BACKEND_PARSE', `cannot read the Elasticsearch response of ${String(s.header.index)}: ${(err as Error).message}`, { cause: err });
        for (const id of s.ids) answers.set(id, e);
      }
    });
    return refused;
  }

  explain(queries: readonly Query[]): string {
    const lines = ['POST /_msearch'];
    for (const s of compileSearches(queries, this.#options)) {
      lines.push(`# answers: ${s.ids.join(', ')}`, JSON.stringify(s.header), JSON.stringify(s.body, null, 2));
    }
    return lines.join('\n');
  }

  async close(): Promise<void> {}
}
