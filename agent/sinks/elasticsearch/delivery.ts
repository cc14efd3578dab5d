/**
 * The bookkeeping of one ElasticsearchSink.send(): the items (encoded here or handed over
 * encoded), which of them wait for a request, which wait for a retry after a backoff, each
 * item's retry budget, and the report. No I/O of its own: dead items go to a callback.
 */
import type { PredictionDocument } from '../../normalize/document.ts';
import type { DeliveryReport, EncodedItems, OutEvent } from '../sink.ts';
import { itemReason, type ItemOutcome, type ResponsePlan } from './encode.ts';

/** A dead-lettered item, for the dead-letter index written at the end of the send. */
export interface Dead {
  ev: OutEvent;
  outcome: ItemOutcome;
  reason: string;
}

export class Delivery {
  readonly report: DeliveryReport = { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 };
  readonly dead: Dead[] = [];
  /** Consecutive backoffs without progress (reset when a request leaves nothing to retry). */
  backoffAttempt = 0;
  private readonly attempts: Uint32Array;
  /** Requests to make now, in order (each a list of item indexes). */
  private queue: number[][];
  /** Items that wait for a backoff before their next request. */
  private again: number[] = [];

  constructor(
    readonly items: BulkItems,
    private readonly maxRetries: number,
    private readonly onDead: (d: Dead) => void,
  ) {
    const all = new Array<number>(items.count);
    for (let i = 0; i < all.length; i++) all[i] = i;
    this.queue = [all];
    this.attempts = new Uint32Array(items.count);
  }

  get done(): boolean {
    return this.queue.length === 0 && this.again.length === 0;
  }

  /** The next request's items, or undefined when only retries wait (back off, then requeue()). */
  next(): number[] | undefined {
    return this.queue.shift();
  }

  get waitingRetries(): number {
    return this.again.length;
  }

  /** After a backoff: the items that waited become one request. */
  requeue(): void {
    this.report.retries += this.again.length;
    this.queue = [this.again];
    this.again = [];
  }

  /** Items neither stored, duplicate nor dead-lettered yet. */
  get unsettled(): number {
    const r = this.report;
    return this.items.count - r.indexed - r.duplicates - r.deadLettered;
  }

  /** Sends these items next, before anything else queued (a split half, a retried request). */
  sendFirst(...chunks: number[][]): void {
    this.queue.unshift(...chunks);
  }

  kill(i: number, outcome: ItemOutcome, reason: string): void {
    const d: Dead = { ev: this.items.event(i), outcome, reason };
    this.dead.push(d);
    this.onDead(d);
    this.report.deadLettered++;
  }

  /** Counts one more attempt for an item; false (and dead-lettered) when its budget is spent. */
  mayRetry(i: number, outcome: ItemOutcome): boolean {
    this.attempts[i]!++;
    if (this.maxRetries >= 0 && this.attempts[i]! > this.maxRetries) {
      this.kill(i, outcome, `gave up after ${this.maxRetries} retries: ${itemReason(outcome)}`);
      return false;
    }
    return true;
  }

  /** Applies one bulk answer; returns how many items wait for a retry and the last cause. */
  settle(plan: ResponsePlan): { retried: number; cause: string } {
    let retried = 0;
    let cause = '';
    for (const { item, outcome } of plan.failed) {
      if (outcome.kind !== 'retryable') {
        this.kill(item, outcome, itemReason(outcome));
      } else if (this.mayRetry(item, outcome)) {
        this.again.push(item);
        retried++;
        cause = outcome.errorType ?? `http_${outcome.status}`;
      }
    }
    this.report.indexed += plan.indexed;
    this.report.duplicates += plan.duplicates;
    if (retried === 0 && this.again.length === 0) this.backoffAttempt = 0;
    return { retried, cause };
  }
}

export interface BulkItems {
  readonly count: number;
  /** The request body for these items (in this order). */
  body(chunk: readonly number[]): string | Buffer;
  /** Encoded size of item i in bytes. */
  bytes(i: number): number;
  /** Item i as an event, for the dead letter (only called on failures). */
  event(i: number): OutEvent;
}

export class Encoded implements BulkItems {
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

export class PreEncoded implements BulkItems {
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
