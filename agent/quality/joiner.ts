/**
 * The join at ingest: a Sink for the feedback pipeline, plus the ack gate between that pipeline and
 * the registry.
 *
 *   feedback lines ──Pipeline──▶ JoinSink.send(batch)
 *        ├─ predictions found (one batched lookup) ─▶ outcome documents ─▶ store (replace by id)
 *        ├─ not stored yet ─▶ PendingSet (bounded, persisted); retried every retry_interval,
 *        │                    given up (counted, dead-lettered) after give_up_after
 *        └─ not comparable (no prediction.<join.prediction>, ...) ─▶ dead letter
 *   Pipeline ack(file, end) ─▶ AckGate ─▶ registry.ack(file, min(end, first waiting line of file))
 *
 * So an offset moves only past lines whose outcome is joined, given up or dead-lettered; a crash
 * reads the waiting lines (and any joined after them) again, and the store's replace-by-id makes the
 * second join a no-op. send() waits while the pending set is full (backpressure on the feedback log).
 */
import type { Logger } from 'pino';
import type { JoinConfig } from '../config/schema.ts';
import { backoffDelay } from '../lib/backoff.ts';
import type { PredictionDocument } from '../normalize/document.ts';
import type { Batch, DeadLetterWriter, DeliveryReport, Sink } from '../sinks/sink.ts';
import { outcomesGivenUp, outcomesJoined, outcomesPending, outcomesRefused } from './metrics.ts';
import type { FeedbackEvent } from './feedback.ts';
import { buildOutcome, type OutcomeDocument } from './outcome.ts';
import type { PendingSet } from './pending.ts';
import type { OutcomeStore } from './store.ts';

/** Ids per lookup request (a terms query or an IN list) unless the store says otherwise (OutcomeStore.lookupChunk). */
export const LOOKUP_CHUNK = 1000;

export class AckGate {
  readonly #held = new Map<string, number>();
  readonly #sent = new Map<string, number>();
  constructor(private readonly pending: PendingSet, private readonly ack: (key: string, end: number) => void) {}

  /** The pipeline's acknowledgement: every line of `key` before `end` is settled by the sink. */
  offer(key: string, end: number): void {
    this.#held.set(key, Math.max(end, this.#held.get(key) ?? 0));
    this.forward(key);
  }

  /** Passes on as much of `key` as no waiting outcome holds back (all keys when none given). */
  forward(key?: string): void {
    for (const k of key === undefined ? [...this.#held.keys()] : [key]) {
      const held = this.#held.get(k);
      if (held === undefined) continue;
      const min = this.pending.minOffset(k);
      const to = min === undefined ? held : Math.min(held, min);
      if (to > (this.#sent.get(k) ?? -1)) {
        this.#sent.set(k, to);
        this.ack(k, to);
      }
    }
  }
}

export interface JoinSinkOptions {
  model: string;
  join: JoinConfig;
  store: OutcomeStore;
  pending: PendingSet;
  gate: AckGate;
  deadLetter: DeadLetterWriter;
  logger: Logger;
  now?: () => number;
  /**
   * True while the prediction ship path has a backlog: the join then waits (up to YIELD_MAX_MS per
   * lookup) so that it never slows the shipping of predictions, which share the store and the CPU.
   */
  shipBusy?: () => boolean;
}

/** The longest the join waits for the ship path per lookup: a saturated ship path slows the join to one lookup (1,000 outcomes) a minute, never stops it. */
export const YIELD_MAX_MS = 60_000;

export interface JoinStats {
  joined: number;
  givenUp: number;
  refused: number;
}

export class JoinSink implements Sink {
  readonly name: string;
  readonly model: string;
  readonly stats: JoinStats = { joined: 0, givenUp: 0, refused: 0 };
  readonly #o: JoinSinkOptions;
  readonly #now: () => number;
  /** send() and retries run one at a time, so a lookup and its write are never interleaved with another's. */
  #tail: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: JoinSinkOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.name = `join ${o.model} (${o.store.name})`;
    this.model = o.model;
  }

  async start(): Promise<void> {
    // Not awaited: an engine that refuses for now (429 circuit breaker, found on the real engine)
    // must not stop the agent; the first write creates the index, retried with its batch.
    this.#o.store.init(this.#o.model).catch((err: unknown) => this.#o.logger.warn({ error: err }, `outcomes of ${this.#o.model}: creating the table or index failed, retried with the first write: ${err instanceof Error ? err.message : String(err)}`));
    outcomesPending.set({ model: this.#o.model }, this.#o.pending.size);
    this.#timer = setInterval(() => void this.retry().catch((err: unknown) => this.#o.logger.warn({ error: err }, `retrying waiting outcomes failed: ${String(err)}`)), this.#o.join.retryInterval);
    this.#timer.unref();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async send(batch: Batch, signal?: AbortSignal): Promise<DeliveryReport> {
    // The feedback normalizer puts a FeedbackEvent where a prediction sink gets a document.
    const events = batch.events.map((e) => e.doc as unknown as FeedbackEvent);
    const before = { ...this.stats };
    // Lookups and writes are idempotent, so a failed batch is simply joined again (network, 429, 5xx, a busy store).
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#serial(() => this.#join(events, false));
        break;
      } catch (err) {
        if (this.#stopped || signal?.aborted) throw err;
        const wait = backoffDelay(attempt, { initial: 100, max: 30_000, jitter: 0 });
        this.#o.logger.warn({ error: err }, `joining ${events.length} outcome(s) failed, again in ${wait} ms: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    // Bounded: wait (retrying) while the set is full; reading the feedback log pauses meanwhile.
    while (this.#o.pending.full && !this.#stopped && !signal?.aborted) {
      await new Promise((r) => setTimeout(r, Math.min(this.#o.join.retryInterval, 1000)));
      await this.retry();
    }
    return { indexed: this.stats.joined - before.joined, duplicates: 0, deadLettered: this.stats.refused - before.refused, retries: 0 };
  }

  /** Looks up waiting outcomes again; gives up those older than give_up_after. */
  retry(): Promise<void> {
    return this.#serial(async () => {
      const now = this.#now();
      const waiting: FeedbackEvent[] = [];
      for (const e of this.#o.pending.entries()) {
        if (now - e.firstSeen >= this.#o.join.giveUpAfter) {
          this.#o.pending.delete(e.event.id);
          this.stats.givenUp++;
          outcomesGivenUp.inc({ model: this.#o.model });
          this.#o.deadLetter.write({
            reason: `outcome given up: no prediction with event.id "${e.event.id}" stored within give_up_after (${this.#o.join.giveUpAfter} ms)`,
            file: e.event.path, offset: e.event.offset, model: this.#o.model, doc: { id: e.event.id, actual: e.event.actual, timestamp: new Date(e.event.ts).toISOString() },
          });
        } else waiting.push(e.event);
      }
      await this.#join(waiting, true);
    });
  }

  /**
   * Joins `events` chunk by chunk: one lookup per chunk, one write per chunk, and the lookup of a
   * chunk runs while the previous chunk's write is in flight (writes stay in order, one at a time).
   */
  async #join(events: readonly FeedbackEvent[], fromPending: boolean): Promise<void> {
    const { store, pending, model, gate } = this.#o;
    const now = this.#now();
    const size = store.lookupChunk ?? LOOKUP_CHUNK;
    let writing: Promise<void> = Promise.resolve();
    try {
      for (let i = 0; i < events.length; i += size) {
        await this.#yield();
        const chunk = events.slice(i, i + size);
        const found = await store.findPredictions(model, [...new Set(chunk.map((e) => e.id))]);
        const docs = this.#settle(chunk, found, fromPending, now);
        await writing;
        writing = store.writeOutcomes(model, docs).then(() => {
          this.stats.joined += docs.length;
          outcomesJoined.inc({ model }, docs.length);
        });
        // Handled here so that a failure while the next lookup runs is not an unhandled rejection;
        // the await below (or the next turn's) still throws it.
        writing.catch(() => undefined);
      }
      await writing;
    } finally {
      await writing.catch(() => undefined);
    }
    outcomesPending.set({ model }, pending.size);
    if (fromPending) gate.forward();
  }

  /** The outcome documents of one chunk; what has no stored prediction waits, what cannot be compared is dead-lettered. */
  #settle(chunk: readonly FeedbackEvent[], found: Map<string, PredictionDocument>, fromPending: boolean, now: number): OutcomeDocument[] {
    const { pending, join, model } = this.#o;
    const docs: OutcomeDocument[] = [];
    for (const ev of chunk) {
      const pred = found.get(ev.id);
      if (!pred) {
        if (!fromPending) pending.add(ev, now);
        continue;
      }
      const r = buildOutcome(pred, ev, join, now);
      if (r.ok) docs.push(r.doc);
      else {
        this.stats.refused++;
        outcomesRefused.inc({ model });
        this.#o.deadLetter.write({ reason: r.reason, file: ev.path, offset: ev.offset, model, doc: { id: ev.id, actual: ev.actual } });
      }
      // Joined (or refused) now: an older waiting outcome of this prediction is settled by it.
      const waiting = pending.get(ev.id);
      if (waiting && (waiting.event === ev || ev.ts >= waiting.event.ts)) pending.delete(ev.id);
    }
    return docs;
  }

  async #yield(): Promise<void> {
    const busy = this.#o.shipBusy;
    if (!busy) return;
    const until = Date.now() + YIELD_MAX_MS;
    while (busy() && !this.#stopped && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  /** Stops waiting for room in the pending set (the agent is stopping; the unsettled lines are read again next time). */
  release(): void {
    this.#stopped = true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#tail;
    await this.#o.pending.close();
  }
}
