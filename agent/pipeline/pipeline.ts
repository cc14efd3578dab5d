/**
 * The ship path's middle: raw lines in, batches to the sink, acknowledged offsets out.
 *
 *   lines ──normalize──▶ current batch ──seal──▶ pending ──(≤ maxInFlight)──▶ sink.send()
 *                                                                              │
 *   registry.ack(file, end) ◀── in batch order, from the head of `inflight` ◀──┘
 *
 * Guarantees:
 * - A line's offset is acknowledged only after the sink settled it (indexed, duplicate or
 *   dead-lettered) and every earlier line of every earlier batch was settled too, so the
 *   registry never runs ahead of the sink, whatever order concurrent requests finish in.
 * - Lines that cannot become documents are dead-lettered locally before they are acknowledged.
 * - Memory is bounded by `budgetBytes`: once lines read but not yet acknowledged exceed it,
 *   onLines() returns a promise that resolves when there is room again, and the file readers wait
 *   on it. The log files themselves are the buffer while the output is away.
 */
import type { Logger } from 'pino';
import { SinkError } from '../errors.ts';
import type { Batch, DeadLetterWriter, DeliveryReport, OutEvent, Sink } from '../sinks/sink.ts';
import { deadLetters, queueBudgetBytes, queueBytes as queueBytesGauge } from '../telemetry/metrics.ts';

/** One line as the file source hands it over (see sources/file/source.ts). */
export interface PipelineLine {
  key: string;
  path: string;
  offset: number;
  end: number;
  line: Buffer;
  tooLong: boolean;
}

export type NormalizeResult = { ok: true; event: OutEvent } | { ok: false; reason: string; code: string; skip?: boolean };
export type NormalizeFn = (line: Buffer, meta: { key: string; path: string; offset: number }) => NormalizeResult;

export interface PipelineOptions {
  sink: Sink;
  deadLetter: DeadLetterWriter;
  /** Called in order with the highest settled end offset per file key. */
  ack: (key: string, end: number) => void;
  logger: Logger;
  budgetBytes: number;
  batchMaxDocs: number;
  batchMaxBytes: number;
  flushIntervalMs: number;
  maxInFlight: number;
  /** Called once when the sink fails permanently; the pipeline accepts nothing more. */
  onFatal?: (err: Error) => void;
}

interface OpenBatch extends Batch {
  /** Raw lines waiting to be normalized when the batch is sent, and how. */
  raw: PipelineLine[];
  rawNormalize: NormalizeFn[];
  /** Highest end offset per file key among all lines of this batch (good and bad). */
  acks: Map<string, number>;
  /** Bytes of the raw lines: what this batch holds of the memory budget. */
  lineBytes: number;
  openedAt: number;
}

interface InflightBatch {
  batch: OpenBatch;
  done: boolean;
}

export interface PipelineStats {
  linesIn: number;
  eventsOut: number;
  deadLettered: number;
  indexed: number;
  duplicates: number;
  retries: number;
}

export class Pipeline {
  readonly stats: PipelineStats = { linesIn: 0, eventsOut: 0, deadLettered: 0, indexed: 0, duplicates: 0, retries: 0 };
  private readonly o: PipelineOptions;
  private current: OpenBatch;
  private readonly pending: OpenBatch[] = [];
  private readonly inflight: InflightBatch[] = [];
  private sending = 0;
  private queued = 0;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private fatal: Error | undefined;
  private readonly abort = new AbortController();
  private readonly normalizers = new Map<string, NormalizeFn>();

  constructor(options: PipelineOptions) {
    this.o = options;
    this.current = this.newBatch();
    queueBudgetBytes.set(options.budgetBytes);
  }

  /** Registers how lines of one input become documents. */
  addInput(inputId: string, normalize: NormalizeFn): void {
    this.normalizers.set(inputId, normalize);
  }

  get queuedBytes(): number {
    return this.queued;
  }

  get failed(): Error | undefined {
    return this.fatal;
  }

  /**
   * Takes lines from one input. Returns a promise when the memory budget is full: the caller
   * must not read more until it resolves (backpressure).
   */
  onLines(inputId: string, lines: readonly PipelineLine[]): void | Promise<void> {
    if (this.fatal) return new Promise(() => {}); // never resolves: readers stop, offsets stay
    const normalize = this.normalizers.get(inputId);
    if (!normalize) throw new Error(`no input "${inputId}" registered in the pipeline`);
    let b = this.current;
    // Hot path: lines are queued raw (they hold about their own size in memory, so the budget
    // bounds memory); they are normalized just before their batch is sent. The ack map is
    // touched only when the file changes.
    let lastKey = '';
    let lastEnd = -1;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      const size = l.end - l.offset;
      this.queued += size;
      b.lineBytes += size;
      b.raw.push(l);
      b.rawNormalize.push(normalize);
      this.stats.linesIn++;
      if (l.key !== lastKey) {
        if (lastKey) b.acks.set(lastKey, lastEnd);
        lastKey = l.key;
      }
      lastEnd = l.end;
      if (b.raw.length >= this.o.batchMaxDocs || b.lineBytes >= this.o.batchMaxBytes) {
        b.acks.set(lastKey, lastEnd);
        lastKey = '';
        this.seal();
        b = this.current;
      }
    }
    if (lastKey) b.acks.set(lastKey, lastEnd);
    queueBytesGauge.set(this.queued);
    this.armTimer();
    this.pump();
    if (this.queued > this.o.budgetBytes) {
      return new Promise((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** Turns a batch's raw lines into events; lines that cannot become documents go to the dead letter. */
  private normalizeBatch(b: OpenBatch): void {
    const { raw, rawNormalize } = b;
    for (let i = 0; i < raw.length; i++) {
      const l = raw[i]!;
      if (l.tooLong) {
        this.deadLetterLine(l, 'line longer than max_line_bytes', 'ERR_LINE_TOO_LONG');
        continue;
      }
      const r = rawNormalize[i]!(l.line, l);
      if (r.ok) {
        b.events.push(r.event);
        b.bytes += r.event.bytes;
        this.stats.eventsOut++;
      } else if (!r.skip) {
        this.deadLetterLine(l, r.reason, r.code);
      }
      // Skipped lines (blank) are settled with the batch: acknowledged, neither sent nor dead-lettered.
    }
    b.raw = [];
    b.rawNormalize = [];
  }

  /** Seals the open batch and resolves once everything handed over so far is settled and acknowledged. */
  async flush(): Promise<void> {
    if (this.current.raw.length > 0) this.seal();
    this.pump();
    if (this.fatal) throw this.fatal;
    if (this.pending.length === 0 && this.inflight.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.fatal) throw this.fatal;
  }

  /** Stops timers and interrupts retry waits; unsettled lines stay unacknowledged (read again next start). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
  }

  private newBatch(): OpenBatch {
    return { events: [], bytes: 0, raw: [], rawNormalize: [], acks: new Map(), lineBytes: 0, openedAt: Date.now() };
  }

  private deadLetterLine(l: PipelineLine, reason: string, code: string): void {
    this.stats.deadLettered++;
    deadLetters.inc({ reason: code });
    this.o.deadLetter.write({ reason, file: l.path, offset: l.offset, line: l.line.subarray(0, 2048).toString('utf8') });
  }

  private seal(): void {
    const b = this.current;
    this.current = this.newBatch();
    if (b.raw.length > 0) this.pending.push(b);
  }

  private armTimer(): void {
    if (this.timer || this.current.raw.length === 0) return;
    const wait = Math.max(0, this.current.openedAt + this.o.flushIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.current.raw.length > 0) {
        this.seal();
        this.pump();
      }
    }, wait);
    this.timer.unref?.();
  }

  private pump(): void {
    while (!this.fatal && this.sending < this.o.maxInFlight && this.pending.length > 0) {
      const batch = this.pending.shift()!;
      this.normalizeBatch(batch);
      const entry: InflightBatch = { batch, done: false };
      this.inflight.push(entry);
      this.sending++;
      const send: Promise<DeliveryReport> = batch.events.length > 0
        ? this.o.sink.send(batch, this.abort.signal)
        : Promise.resolve({ indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 });
      send.then(
        (report) => {
          this.sending--;
          entry.done = true;
          this.stats.indexed += report.indexed;
          this.stats.duplicates += report.duplicates;
          this.stats.deadLettered += report.deadLettered;
          this.stats.retries += report.retries;
          this.commit();
          this.pump();
        },
        (err: unknown) => {
          this.sending--;
          this.fail(err instanceof Error ? err : new Error(String(err)));
        },
      );
    }
    this.notifyIdle();
  }

  /** Acknowledges settled batches in order from the head. */
  private commit(): void {
    while (this.inflight.length > 0 && this.inflight[0]!.done) {
      const { batch } = this.inflight.shift()!;
      for (const [key, end] of batch.acks) this.o.ack(key, end);
      this.queued -= batch.lineBytes;
    }
    queueBytesGauge.set(this.queued);
    if (this.queued <= this.o.budgetBytes && this.roomWaiters.length > 0) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
  }

  private notifyIdle(): void {
    if (this.pending.length === 0 && this.inflight.length === 0 && this.current.raw.length === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private fail(err: Error): void {
    if (this.fatal) return;
    const aborted = this.abort.signal.aborted;
    this.fatal = err;
    if (!aborted) {
      this.o.logger.fatal({ error: err }, err instanceof SinkError ? `output failed permanently: ${err.message}` : `output failed: ${err.message}`);
    }
    this.stop();
    this.o.onFatal?.(err);
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
