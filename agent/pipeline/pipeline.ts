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
 *
 * Lines are copied into the batch as they arrive (packed.ts): the queue then costs its byte size
 * and a few typed arrays, not one object per line. With `offload` (the Elasticsearch output),
 * a sealed batch goes to the normalize worker (offload.ts), which returns the bulk body; up to
 * `maxInFlight` batches are encoded ahead of the requests, so both cores stay busy. Without it
 * (the embedded store needs document objects), batches are normalized here just before sending.
 */
import type { Logger } from 'pino';
import { SinkError } from '../errors.ts';
import type { RawLine } from '../sources/file/source.ts';
import type { Batch, DeadLetterWriter, DeliveryReport, OutEvent, Sink } from '../sinks/sink.ts';
import { deadLetters, queueBudgetBytes, queueBytes as queueBytesGauge } from '../telemetry/metrics.ts';
import { DEAD_LETTER_LINE_BYTES, type EncodedBatch } from './encode-batch.ts';
import { forEachLineYielding, PackedLines, SLAB_BYTES, SlabPool } from './packed.ts';

/** One line as the file source hands it over. */
export type PipelineLine = RawLine;

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
  /**
   * Normalizes and encodes batches elsewhere (the worker of offload.ts); the sink must accept
   * encoded batches. Inputs are then normalized by the offloader's contexts, not addInput's functions.
   */
  offload?: { encode(lines: PackedLines): Promise<EncodedBatch>; release(body: Buffer): void; close(): Promise<void> };
  /** Line slabs, shared with the offloader (which returns them); default: the pipeline's own. */
  pool?: SlabPool;
}

/** A pool that can hold the whole budget in slabs, so a full queue never allocates again. */
export function slabPoolFor(budgetBytes: number): SlabPool {
  return new SlabPool(Math.ceil(budgetBytes / SLAB_BYTES) + 64);
}

interface OpenBatch extends Batch {
  /** Raw lines waiting to be normalized when the batch is sent (too-long lines are not kept). */
  lines: PackedLines;
  /** Lines of this batch, kept or not (too long, already dead-lettered). */
  lineCount: number;
  /** Highest end offset per file key among all lines of this batch (good and bad). */
  acks: Map<string, number>;
  /** Bytes of the raw lines (batch size bound). */
  lineBytes: number;
  /** Memory the batch holds of the budget: its slabs (what queue_bytes and the budget count). */
  memBytes: number;
  /** The line table the encoded body's item ends are a view of, once the worker gave it back. */
  table?: ArrayBuffer;
  openedAt: number;
}

interface InflightBatch {
  batch: OpenBatch;
  done: boolean;
}

const EMPTY_REPORT: DeliveryReport = Object.freeze({ indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 });

export interface PipelineStats {
  linesIn: number;
  eventsOut: number;
  deadLettered: number;
  indexed: number;
  duplicates: number;
  retries: number;
}

// What a batch holds once its lines are normalized or handed to the worker.
const EMPTY_LINES = new PackedLines(new SlabPool(0), 0);

export class Pipeline {
  readonly stats: PipelineStats = { linesIn: 0, eventsOut: 0, deadLettered: 0, indexed: 0, duplicates: 0, retries: 0 };
  private readonly o: PipelineOptions;
  private current: OpenBatch;
  private readonly pending: OpenBatch[] = [];
  private readonly inflight: InflightBatch[] = [];
  /** Normalized (or encoded) batches waiting for a request slot, in order. */
  private readonly ready: InflightBatch[] = [];
  private sending = 0;
  private encoding = 0;
  private queued = 0;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private fatal: Error | undefined;
  private readonly abort = new AbortController();
  private readonly normalizers = new Map<string, NormalizeFn>();
  private readonly pool: SlabPool;

  constructor(options: PipelineOptions) {
    this.o = options;
    this.pool = options.pool ?? slabPoolFor(options.budgetBytes);
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
    if (!this.normalizers.has(inputId)) throw new Error(`no input "${inputId}" registered in the pipeline`);
    let b = this.current;
    // Hot path: lines are copied raw into the batch's slabs (the budget counts the slabs, so it
    // bounds memory); they are normalized just before their batch is sent. The ack map is touched
    // only when the file changes.
    let lastKey = '';
    let lastEnd = -1;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      const size = l.end - l.offset;
      b.lineBytes += size;
      b.lineCount++;
      let mem = 0;
      if (l.tooLong) {
        // Settled here (dead letter first, acknowledged with its batch): never worth a trip to a worker.
        this.deadLetterLine(l.path, l.offset, l.line, 'line longer than max_line_bytes', 'ERR_LINE_TOO_LONG');
      } else {
        mem = b.lines.push(inputId, l.key, l.path, l.offset, l.line);
      }
      b.memBytes += mem;
      this.queued += mem;
      this.stats.linesIn++;
      if (l.key !== lastKey) {
        if (lastKey) b.acks.set(lastKey, lastEnd);
        lastKey = l.key;
      }
      lastEnd = l.end;
      if (b.lines.count >= this.o.batchMaxDocs || b.lineBytes >= this.o.batchMaxBytes) {
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

  /**
   * Turns a batch's raw lines into events in this thread; lines that cannot become documents go to
   * the dead letter. It yields to the event loop every few milliseconds: done in one go (5,000 lines,
   * ~25 ms) it held up each statement of the transaction DuckDB was running meanwhile, and the
   * store and the normalizing took turns instead of overlapping (bench/RESULTS.md).
   */
  private async normalizeBatch(b: OpenBatch): Promise<void> {
    const p = b.lines.toData();
    await forEachLineYielding(p, (i, line, seg) => {
      const offset = p.offsets[i]!;
      const r = this.normalizers.get(seg.input)!(line, { key: seg.key, path: seg.path, offset });
      if (r.ok) {
        b.events.push(r.event);
        b.bytes += r.event.bytes;
        this.stats.eventsOut++;
      } else if (!r.skip) {
        this.deadLetterLine(seg.path, offset, line, r.reason, r.code);
      }
      // Skipped lines (blank) are settled with the batch: acknowledged, neither sent nor dead-lettered.
    });
    // Documents do not point into the slabs (normalize decodes each line to a string first).
    for (const slab of p.slabs) this.pool.give(slab);
    this.pool.giveTable(p.table);
    b.lines = EMPTY_LINES;
  }

  /** Takes the worker's answer for a batch: dead-letters its rejected lines, keeps the body. */
  private takeEncoded(b: OpenBatch, r: EncodedBatch): void {
    const p = b.lines;
    let seg = 0;
    let segEnd = p.segments[0]?.count ?? 0;
    for (const rej of r.rejects) {
      if (rej.skip) continue;
      // Rejects come in line order: walk the segments along to find each one's file.
      while (rej.index >= segEnd && seg < p.segments.length - 1) segEnd += p.segments[++seg]!.count;
      this.deadLetterLine(p.segments[seg]!.path, rej.offset, rej.line ?? '', rej.reason, rej.code);
    }
    b.encoded = { body: r.body, ends: r.ends };
    b.table = r.table;
    b.bytes = r.body.length;
    this.stats.eventsOut += r.ends.length;
    b.lines = EMPTY_LINES;
  }

  /** Seals the open batch and resolves once everything handed over so far is settled and acknowledged. */
  async flush(): Promise<void> {
    if (this.current.lineCount > 0) this.seal();
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
    void this.o.offload?.close();
  }

  private newBatch(): OpenBatch {
    return { events: [], bytes: 0, lines: new PackedLines(this.pool, Math.min(this.o.batchMaxDocs, 4096)), lineCount: 0, acks: new Map(), lineBytes: 0, memBytes: 0, openedAt: Date.now() };
  }

  private deadLetterLine(file: string, offset: number, line: Buffer | string, reason: string, code: string): void {
    this.stats.deadLettered++;
    deadLetters.inc({ reason: code });
    const text = typeof line === 'string' ? line : line.subarray(0, DEAD_LETTER_LINE_BYTES).toString('utf8');
    this.o.deadLetter.write({ reason, file, offset, line: text });
  }

  private seal(): void {
    const b = this.current;
    this.current = this.newBatch();
    if (b.lineCount > 0) {
      const released = b.lines.compact();
      b.memBytes -= released;
      this.queued -= released;
      this.pending.push(b);
    }
  }

  private armTimer(): void {
    if (this.timer || this.current.lineCount === 0) return;
    const wait = Math.max(0, this.current.openedAt + this.o.flushIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.current.lineCount > 0) {
        this.seal();
        this.pump();
      }
    }, wait);
    this.timer.unref?.();
  }

  private pump(): void {
    const offload = this.o.offload;
    while (!this.fatal && this.pending.length > 0) {
      // In-thread: normalize only what can be sent now. Offloaded: keep up to maxInFlight batches
      // encoded or encoding ahead of the requests, so the worker works while requests are out.
      // In-thread, one batch is normalized at a time (it yields to the event loop, see normalizeBatch).
      if (offload ? this.encoding + this.ready.length >= this.o.maxInFlight : this.encoding > 0 || this.sending + this.ready.length >= this.o.maxInFlight) break;
      const batch = this.pending.shift()!;
      const entry: InflightBatch = { batch, done: false };
      this.inflight.push(entry);
      if (batch.lines.count === 0) {
        this.pool.giveTable(batch.lines.table);
        batch.lines = EMPTY_LINES;
        this.ready.push(entry);
        continue;
      }
      this.encoding++;
      const encoded = offload ? offload.encode(batch.lines).then((r) => this.fatal || this.takeEncoded(batch, r)) : this.normalizeBatch(batch);
      encoded.then(
        () => {
          this.encoding--;
          if (this.fatal) return;
          this.ready.push(entry);
          this.pump();
        },
        (err: unknown) => {
          this.encoding--;
          // Stopping closes the worker and fails what it held: those lines stay unacknowledged.
          if (!this.abort.signal.aborted) this.fail(err instanceof Error ? err : new Error(String(err)));
        },
      );
    }
    this.startSends();
    this.notifyIdle();
  }

  private startSends(): void {
    while (!this.fatal && this.sending < this.o.maxInFlight && this.ready.length > 0) {
      const entry = this.ready.shift()!;
      const batch = entry.batch;
      this.sending++;
      const hasItems = batch.events.length > 0 || (batch.encoded !== undefined && batch.encoded.ends.length > 0);
      const send: Promise<DeliveryReport> = hasItems ? this.o.sink.send(batch, this.abort.signal) : Promise.resolve(EMPTY_REPORT);
      send.then(
        (report) => {
          this.sending--;
          entry.done = true;
          // Free the documents or the body now: the entry may wait for earlier batches to settle.
          batch.events = [];
          if (batch.encoded) this.o.offload?.release(batch.encoded.body);
          if (batch.table) this.pool.giveTable(batch.table);
          delete batch.encoded;
          delete batch.table;
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
  }

  /** Acknowledges settled batches in order from the head. */
  private commit(): void {
    while (this.inflight.length > 0 && this.inflight[0]!.done) {
      const { batch } = this.inflight.shift()!;
      for (const [key, end] of batch.acks) this.o.ack(key, end);
      this.queued -= batch.memBytes;
    }
    queueBytesGauge.set(this.queued);
    if (this.queued <= this.o.budgetBytes && this.roomWaiters.length > 0) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
  }

  private notifyIdle(): void {
    if (this.pending.length === 0 && this.inflight.length === 0 && this.current.lineCount === 0 && this.idleWaiters.length > 0) {
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
