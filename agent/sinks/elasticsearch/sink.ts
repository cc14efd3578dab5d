/**
 * The Elasticsearch/OpenSearch sink: `_bulk` `create` with deterministic ids, our own retry loop.
 *
 * send(batch) resolves once every event is settled (indexed, duplicate or dead-lettered):
 *   encode once -> POST /_bulk -> classify items -> resend only the retryable ones with backoff.
 * Whole-request failures (network, 5xx, 429) resend the same items; a 413 splits the batch in
 * halves; 401/403 reject with a permanent SinkError so the agent stops with its offsets intact.
 * Retries run forever by default (max_retries: -1); the AbortSignal interrupts a backoff wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ElasticsearchOutputConfig } from '../../config/schema.ts';
import { SinkError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import * as metrics from '../../telemetry/metrics.ts';
import type { PredictionDocument } from '../../normalize/document.ts';
import type { Batch, DeadLetterWriter, DeliveryReport, EncodedItems, OutEvent, Sink } from '../sink.ts';
import { EngineClient, EngineUnsupportedError } from '../../engine/client.ts';
import { describeRequestError, isAbortError } from './client.ts';
import { deadLetterIndex } from './config.ts';
import { BulkEncoder, itemReason, parseBulkResponse, type ItemOutcome } from './encode.ts';
import { backoffDelay } from '../../lib/backoff.ts';
import { decideRequest, type RequestDecision } from './retry.ts';

export interface ElasticsearchSinkOptions {
  config: ElasticsearchOutputConfig;
  deadLetter: DeadLetterWriter;
  logger?: Logger;
  /** The process's engine client (agent/outputs.ts); without one, the sink builds and closes its own. */
  client?: EngineClient;
  /** Instance name in messages and metrics. */
  name?: string;
  /** Random source of the backoff jitter (tests). */
  random?: () => number;
  /** Bound on start()'s connection check, ms; default min(timeout, 10s). */
  startTimeoutMs?: number;
}

export interface ConnectionCheck {
  ok: boolean;
  /** Elasticsearch or OpenSearch, once it answered. */
  engine?: string;
  /** Version number, e.g. 8.15.0 or 2.19.6. */
  version?: string;
  clusterName?: string;
  /** What is wrong and what to check (when not ok). */
  problem?: string;
  /** Retrying cannot help: bad credentials, neither Elasticsearch nor OpenSearch, unsupported version. */
  fatal: boolean;
  /** Failure kind (network, timeout, http_401, not_elasticsearch, unsupported_version...). */
  kind?: string;
}

// Only the fields a bulk classification reads: a 2000-item response shrinks ~5x.
const BULK_FILTER_PATH = 'errors,items.*.status,items.*.error.type,items.*.error.reason';

interface Dead {
  ev: OutEvent;
  outcome: ItemOutcome;
  reason: string;
}

export class ElasticsearchSink implements Sink {
  readonly name: string;
  readonly acceptsEncoded = true;
  readonly client: EngineClient;
  private readonly config: ElasticsearchOutputConfig;
  private readonly deadLetter: DeadLetterWriter;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly ownsClient: boolean;
  private readonly encoder: BulkEncoder;
  private readonly startTimeoutMs: number;
  private stopped = false;

  constructor(opts: ElasticsearchSinkOptions) {
    this.config = opts.config;
    this.name = opts.name ?? 'elasticsearch';
    this.deadLetter = opts.deadLetter;
    this.log = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.ownsClient = opts.client === undefined;
    this.client = opts.client ?? new EngineClient(opts.config, { name: 'sink' });
    this.encoder = new BulkEncoder(opts.config.indexPrefix);
    this.startTimeoutMs = opts.startTimeoutMs ?? Math.min(opts.config.timeout, 10_000);
  }

  /**
   * Checks the cluster once. A cluster that is down is not fatal (send() retries until it is back);
   * bad credentials or a server that is neither Elasticsearch 8+ nor OpenSearch 2.7+ are.
   */
  async start(): Promise<void> {
    const c = await this.checkConnection(this.startTimeoutMs);
    if (c.ok) {
      this.log.info({ output: this.name, 'engine.name': c.engine, 'engine.version': c.version, 'elasticsearch.cluster.name': c.clusterName }, `output "${this.name}": connected to ${c.engine} ${c.version}${c.clusterName ? ` (cluster ${c.clusterName})` : ''}`);
      return;
    }
    if (c.fatal) {
      const code = c.kind === 'http_401' || c.kind === 'http_403' ? 'ERR_SINK_AUTH' : 'ERR_SINK_UNSUPPORTED';
      throw new SinkError(code, c.problem ?? `output "${this.name}": connection check failed`, { permanent: true });
    }
    this.log.warn({ output: this.name }, `${c.problem}; documents wait in the input files and are sent once the engine answers`);
  }

  /** GET / : which engine, which version, and whether the credentials work. Never throws. */
  async checkConnection(timeoutMs = this.startTimeoutMs): Promise<ConnectionCheck> {
    try {
      const info = await this.client.info({ timeoutMs });
      const c: ConnectionCheck = { ok: true, fatal: false, engine: this.client.knownDialect.label, version: info.version };
      if (info.clusterName !== undefined) c.clusterName = info.clusterName;
      return c;
    } catch (err) {
      if (err instanceof EngineUnsupportedError) return { ok: false, fatal: true, kind: err.kind, problem: `output "${this.name}": ${err.message}` };
      const d = decideRequest(describeRequestError(err), { output: this.name, prefix: this.config.indexPrefix });
      return { ok: false, fatal: d.action === 'fatal', kind: d.kind, problem: d.message.replace(/; retrying$/, '') };
    }
  }

  async send(batch: Batch, signal?: AbortSignal): Promise<DeliveryReport> {
    const report: DeliveryReport = { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 };
    const items = batch.encoded ? new PreEncoded(batch.encoded) : new Encoded(this.encoder.encodeAll(batch.events), batch.events);
    const count = items.count;
    if (count === 0) return report;
    const output = this.name;
    const maxRetries = this.config.maxRetries;
    const attempts = new Uint32Array(count);
    const dead: Dead[] = [];

    const kill = (i: number, outcome: ItemOutcome, reason: string) => {
      const ev = items.event(i);
      dead.push({ ev, outcome, reason });
      this.deadLetter.write({ reason, file: ev.doc.log?.file?.path, offset: ev.doc.log?.offset, doc: ev.doc, model: ev.doc.model?.name });
      metrics.deadLetters.inc({ reason: outcome.errorType ?? `http_${outcome.status}` });
      report.deadLettered++;
    };
    /** Counts one more attempt for an item; false (and dead-lettered) when its budget is spent. */
    const mayRetry = (i: number, outcome: ItemOutcome): boolean => {
      attempts[i]!++;
      if (maxRetries >= 0 && attempts[i]! > maxRetries) {
        kill(i, outcome, `gave up after ${maxRetries} retries: ${itemReason(outcome)}`);
        return false;
      }
      return true;
    };

    const all = new Array<number>(count);
    for (let i = 0; i < all.length; i++) all[i] = i;
    let queue: number[][] = [all];
    let again: number[] = [];
    let backoffAttempt = 0;

    while (queue.length > 0 || again.length > 0) {
      if (queue.length === 0) {
        await this.wait(backoffAttempt++, signal, again.length);
        report.retries += again.length;
        queue = [again];
        again = [];
        continue;
      }
      const chunk = queue.shift()!;
      if (signal?.aborted) throw this.aborted(signal, count - report.indexed - report.duplicates - report.deadLettered);

      const body = items.body(chunk);
      let response: unknown;
      try {
        response = (await this.client.request(
          { method: 'POST', path: '/_bulk', bulkBody: body, querystring: { filter_path: BULK_FILTER_PATH } },
          signal ? { signal } : {},
        )).body;
      } catch (err) {
        if (signal?.aborted && isAbortError(err)) throw this.aborted(signal, count - report.indexed - report.duplicates - report.deadLettered);
        const d = decideRequest(describeRequestError(err), { output, prefix: this.config.indexPrefix });
        metrics.outputErrors.inc({ output, kind: d.kind });
        if (d.action === 'fatal') throw this.fatal(d);
        if (d.action === 'split') {
          if (chunk.length === 1) {
            const i = chunk[0]!;
            kill(i, { kind: 'permanent', status: 413, errorType: 'request_entity_too_large' },
              `request_entity_too_large: document of ${items.bytes(i)} bytes exceeds the cluster's http.max_content_length`);
          } else {
            const mid = chunk.length >>> 1;
            queue.unshift(chunk.slice(0, mid), chunk.slice(mid));
            this.log.warn({ output, 'bulk.documents': chunk.length }, d.message);
          }
          continue;
        }
        const outcome: ItemOutcome = { kind: 'retryable', status: describeRequestError(err).status ?? 0, errorType: d.kind };
        const left = chunk.filter((i) => mayRetry(i, outcome));
        if (left.length === 0) continue;
        metrics.retries.inc({ output, cause: d.kind });
        report.retries++;
        await this.wait(backoffAttempt++, signal, left.length, d);
        queue.unshift(left);
        continue;
      }

      const parsed = parseBulkResponse(response, chunk.length);
      let fatal: ItemOutcome | undefined;
      let indexed = 0;
      let duplicates = 0;
      let retried = 0;
      let retryCause = '';
      for (let j = 0; j < chunk.length; j++) {
        const i = chunk[j]!;
        const o = parsed.items[j]!;
        switch (o.kind) {
          case 'created': indexed++; break;
          case 'duplicate': duplicates++; break;
          case 'permanent': kill(i, o, itemReason(o)); break;
          case 'fatal': fatal ??= o; break;
          case 'retryable':
            if (mayRetry(i, o)) {
              again.push(i);
              retried++;
              retryCause = o.errorType ?? `http_${o.status}`;
            }
            break;
        }
      }
      report.indexed += indexed;
      report.duplicates += duplicates;
      if (indexed) metrics.docsIndexed.inc({ output }, indexed);
      if (duplicates) metrics.docsDuplicate.inc({ output }, duplicates);
      if (retried) {
        metrics.retries.inc({ output, cause: `item_${retryCause}` }, retried);
      } else if (again.length === 0) {
        backoffAttempt = 0;
      }
      if (fatal) {
        throw new SinkError('ERR_SINK_AUTH', `output "${this.name}": Elasticsearch refused documents with ${itemReason(fatal)}; grant create_doc and auto_configure on ${this.config.indexPrefix}-* to the user or API key`, { permanent: true });
      }
    }

    if (dead.length > 0) await this.indexDeadLetters(dead, signal);
    return report;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ownsClient) await this.client.close().catch(() => undefined);
  }

  private async wait(attempt: number, signal: AbortSignal | undefined, pending: number, d?: RequestDecision): Promise<void> {
    const ms = backoffDelay(attempt, this.config.backoff, this.random);
    const fields = { output: this.name, 'retry.attempt': attempt + 1, 'retry.delay_ms': ms, 'bulk.documents': pending };
    if (d) this.log.warn(fields, d.message);
    else this.log.warn(fields, `output "${this.name}": ${pending} documents rejected for now (429/5xx per item); retrying`);
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
    } catch (err) {
      if (signal?.aborted) throw this.aborted(signal, pending);
      throw err;
    }
  }

  private aborted(signal: AbortSignal, unsettled: number): SinkError {
    return new SinkError('ERR_SINK_ABORTED', `output "${this.name}": send aborted with ${unsettled} documents unsettled; they stay unacknowledged and are sent again on restart`, { cause: signal.reason });
  }

  private fatal(d: RequestDecision): SinkError {
    const code = d.kind === 'http_401' || d.kind === 'http_403' ? 'ERR_SINK_AUTH' : 'ERR_SINK_REJECTED';
    // No `cause`: the transport error carries the request, headers included.
    return new SinkError(code, d.message, { permanent: true });
  }

  /** Best effort, one attempt: the local dead letter already has these documents. */
  private async indexDeadLetters(dead: Dead[], signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    const index = JSON.stringify(deadLetterIndex(this.config.indexPrefix));
    const now = new Date().toISOString();
    let body = '';
    for (const { ev, outcome, reason } of dead) {
      const doc = ev.doc;
      const entry = {
        '@timestamp': now,
        event: { id: ev.id, original: JSON.stringify(doc) },
        model: doc.model,
        log: doc.log,
        error: { type: outcome.errorType ?? `http_${outcome.status}`, message: reason },
      };
      body += `{"create":{"_index":${index},"_id":${JSON.stringify(ev.id)}}}\n${JSON.stringify(entry)}\n`;
    }
    try {
      const res = (await this.client.request(
        { method: 'POST', path: '/_bulk', bulkBody: body, querystring: { filter_path: BULK_FILTER_PATH } },
        signal ? { signal } : {},
      )).body;
      const failed = parseBulkResponse(res, dead.length).items.filter((o) => o.kind !== 'created' && o.kind !== 'duplicate');
      if (failed.length > 0) {
        this.log.warn({ output: this.name, 'bulk.documents': failed.length }, `output "${this.name}": ${failed.length} documents not written to the dead-letter index ${deadLetterIndex(this.config.indexPrefix)} (${itemReason(failed[0]!)}); they are in the local dead letter`);
      }
    } catch (err) {
      const f = describeRequestError(err);
      this.log.warn({ output: this.name }, `output "${this.name}": could not write to the dead-letter index ${deadLetterIndex(this.config.indexPrefix)} (${f.detail ?? f.status ?? 'error'}); the documents are in the local dead letter`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the items of one send(): encoded here from documents, or handed over already encoded

interface BulkItems {
  readonly count: number;
  /** The request body for these items (in this order). */
  body(chunk: readonly number[]): string | Buffer;
  /** Encoded size of item i in bytes. */
  bytes(i: number): number;
  /** Item i as an event, for the dead letter (only called on failures). */
  event(i: number): OutEvent;
}

class Encoded implements BulkItems {
  readonly count: number;
  constructor(private readonly lines: string[], private readonly events: readonly OutEvent[]) {
    this.count = events.length;
  }
  body(chunk: readonly number[]): string {
    let body = '';
    for (const i of chunk) body += this.lines[i];
    return body;
  }
  bytes(i: number): number {
    return Buffer.byteLength(this.lines[i]!);
  }
  event(i: number): OutEvent {
    return this.events[i]!;
  }
}

class PreEncoded implements BulkItems {
  readonly count: number;
  constructor(private readonly e: EncodedItems) {
    this.count = e.ends.length;
  }
  private start(i: number): number {
    return i === 0 ? 0 : this.e.ends[i - 1]!;
  }
  body(chunk: readonly number[]): Buffer {
    const { body, ends } = this.e;
    // The whole batch in order (nearly always): the buffer as it came, no copy.
    if (chunk.length === ends.length && chunk[0] === 0 && chunk[chunk.length - 1] === ends.length - 1) return body.subarray(0, ends[ends.length - 1]!);
    const parts = new Array<Buffer>(chunk.length);
    let size = 0;
    for (let j = 0; j < chunk.length; j++) {
      const i = chunk[j]!;
      parts[j] = body.subarray(this.start(i), ends[i]!);
      size += parts[j]!.length;
    }
    return Buffer.concat(parts, size);
  }
  bytes(i: number): number {
    return this.e.ends[i]! - this.start(i);
  }
  /** Decodes the item back: its action line holds the _id, its source line the document. */
  event(i: number): OutEvent {
    const text = this.e.body.toString('utf8', this.start(i), this.e.ends[i]!);
    const nl = text.indexOf('\n');
    const action = JSON.parse(text.slice(0, nl)) as { create?: { _id?: string } };
    const doc = JSON.parse(text.slice(nl + 1)) as PredictionDocument;
    return { id: action.create?._id ?? doc.event?.id ?? '', doc, bytes: text.length };
  }
}
