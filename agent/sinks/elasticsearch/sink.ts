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
import type { Batch, DeadLetterWriter, DeliveryReport, Sink } from '../sink.ts';
import { EngineClient, EngineUnsupportedError } from '../../engine/client.ts';
import { describeRequestError, isAbortError } from './client.ts';
import { deadLetterIndex } from './config.ts';
import { Delivery, Encoded, PreEncoded, type Dead } from './delivery.ts';
import { BulkEncoder, classifyResponse, itemReason, parseBulkResponse, type ItemOutcome, type ResponsePlan } from './encode.ts';
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

  /** One request at a time until every item is settled; what an answer means is decided by pure functions. */
  async send(batch: Batch, signal?: AbortSignal): Promise<DeliveryReport> {
    const items = batch.encoded ? new PreEncoded(batch.encoded) : new Encoded(this.encoder.encodeAll(batch.events), batch.events);
    const delivery = new Delivery(items, this.config.maxRetries, (d) => this.toDeadLetter(d));
    if (items.count === 0) return delivery.report;
    while (!delivery.done) {
      const chunk = delivery.next();
      if (chunk === undefined) {
        await this.wait(delivery.backoffAttempt++, signal, delivery.waitingRetries);
        delivery.requeue();
        continue;
      }
      if (signal?.aborted) throw this.aborted(signal, delivery.unsettled);
      let response: unknown;
      try {
        response = (await this.client.request(
          { method: 'POST', path: '/_bulk', bulkBody: items.body(chunk), querystring: { filter_path: BULK_FILTER_PATH } },
          signal ? { signal } : {},
        )).body;
      } catch (err) {
        await this.onRequestFailure(delivery, chunk, err, signal);
        continue;
      }
      this.onResponse(delivery, classifyResponse(chunk, parseBulkResponse(response, chunk.length)));
    }
    if (delivery.dead.length > 0) await this.indexDeadLetters(delivery.dead, signal);
    return delivery.report;
  }

  /** The whole request failed: stop (fatal), split it (413), or retry its items after a backoff. */
  private async onRequestFailure(delivery: Delivery, chunk: number[], err: unknown, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted && isAbortError(err)) throw this.aborted(signal, delivery.unsettled);
    const output = this.name;
    const failure = describeRequestError(err);
    const d = decideRequest(failure, { output, prefix: this.config.indexPrefix });
    metrics.outputErrors.inc({ output, kind: d.kind });
    if (d.action === 'fatal') throw this.fatal(d);
    if (d.action === 'split') {
      if (chunk.length === 1) {
        const i = chunk[0]!;
        delivery.kill(i, { kind: 'permanent', status: 413, errorType: 'request_entity_too_large' },
          `request_entity_too_large: document of ${delivery.items.bytes(i)} bytes exceeds the cluster's http.max_content_length`);
      } else {
        const mid = chunk.length >>> 1;
        delivery.sendFirst(chunk.slice(0, mid), chunk.slice(mid));
        this.log.warn({ output, 'bulk.documents': chunk.length }, d.message);
      }
      return;
    }
    const outcome: ItemOutcome = { kind: 'retryable', status: failure.status ?? 0, errorType: d.kind };
    const left = chunk.filter((i) => delivery.mayRetry(i, outcome));
    if (left.length === 0) return;
    metrics.retries.inc({ output, cause: d.kind });
    delivery.report.retries++;
    await this.wait(delivery.backoffAttempt++, signal, left.length, d);
    delivery.sendFirst(left);
  }

  /** A bulk answer: settle its items, count them, stop if the engine refused them for lack of rights. */
  private onResponse(delivery: Delivery, plan: ResponsePlan): void {
    const output = this.name;
    const { retried, cause } = delivery.settle(plan);
    if (plan.indexed) metrics.docsIndexed.inc({ output }, plan.indexed);
    if (plan.duplicates) metrics.docsDuplicate.inc({ output }, plan.duplicates);
    if (retried) metrics.retries.inc({ output, cause: `item_${cause}` }, retried);
    if (plan.fatal) {
      throw new SinkError('ERR_SINK_AUTH', `output "${this.name}": Elasticsearch refused documents with ${itemReason(plan.fatal)}; grant create_doc and auto_configure on ${this.config.indexPrefix}-* to the user or API key`, { permanent: true });
    }
  }

  private toDeadLetter({ ev, outcome, reason }: Dead): void {
    this.deadLetter.write({ reason, file: ev.doc.log?.file?.path, offset: ev.doc.log?.offset, doc: ev.doc, model: ev.doc.model?.name });
    metrics.deadLetters.inc({ reason: outcome.errorType ?? `http_${outcome.status}` });
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
