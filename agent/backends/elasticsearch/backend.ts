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
import type { Answers, Backend, Query } from '../../rules/plan.ts';
import { compileSearches, type EsJson, type EsOptions } from './body.ts';

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

  async execute(queries: readonly Query[]): Promise<Answers> {
    const answers: Answers = new Map();
    if (!queries.length) return answers;
    const searches = compileSearches(queries, this.#options);
    const body: estypes.MsearchRequestItem[] = searches.flatMap((s) => [s.header, s.body]);
    this.requests++;
    let res: estypes.MsearchResponse;
    try {
      res = await this.#client.msearch({ searches: body });
    } catch (err) {
      throw new BackendError('ERR_BACKEND_ES', redact(`Elasticsearch _msearch of ${searches.length} search(es) failed: ${(err as Error).message}`), { cause: err });
    }
    searches.forEach((s, i) => {
      const r = res.responses[i] as unknown as EsJson | undefined;
      const error = r?.error as { type?: string; reason?: string; root_cause?: { type?: string; reason?: string }[] } | undefined;
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
    return answers;
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
