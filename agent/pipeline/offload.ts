/**
 * Runs normalize + bulk encoding in a worker thread, so that the main thread only reads files,
 * keeps the queue and talks HTTP (the two halves then use two cores).
 *
 *   main: PackedLines ──transfer──▶ worker: normalize + encode ──transfer──▶ main: bulk body
 *
 * Batches are answered in the order they were sent (one worker, one FIFO port), and nothing is
 * copied across: the packed line buffer and the encoded body are transferred. Reference profiles
 * installed on the main thread's NormalizeContext (setReference) are forwarded before the next
 * batch, so the main context stays the one place to change them.
 *
 * A worker that dies fails every batch it holds; the pipeline then fails like a permanent output
 * error: the agent stops and unacknowledged lines are read again at the next start.
 */
import { Worker } from 'node:worker_threads';
import type { NormalizeContext } from '../normalize/context.ts';
import { featuresOverflow, valuesUnparsed } from '../telemetry/metrics.ts';
import type { EncodedBatch } from './encode-batch.ts';
import type { PackedLines, SlabPool } from './packed.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker.ts';

export interface OffloadInput {
  id: string;
  ctx: NormalizeContext;
}

export interface NormalizeWorkerOptions {
  inputs: OffloadInput[];
  /** Index prefix of the Elasticsearch output (data stream names). */
  indexPrefix: string;
  /**
   * V8 young generation of the worker, MiB (default 16). Its garbage is short-lived (parsed
   * records, documents, strings): 8 cost ~10% more CPU in scavenges, 24+ only added RSS (bench/RESULTS.md).
   */
  youngGenerationMb?: number;
  /** Where the line slabs go once the worker is done with them. */
  pool: SlabPool;
  /** Batches in flight at once (sizes the worker's pool of body buffers). */
  maxInFlight: number;
}

interface Waiting {
  resolve: (r: EncodedBatch) => void;
  reject: (e: Error) => void;
}

export class NormalizeWorker {
  private readonly worker: Worker;
  private readonly inputs: OffloadInput[];
  private readonly generations = new Map<string, number>();
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private failure: Error | undefined;
  private closing = false;
  private readonly exited: Promise<void>;
  private readonly pool: SlabPool;

  constructor(o: NormalizeWorkerOptions) {
    this.inputs = o.inputs;
    this.pool = o.pool;
    const init: WorkerInit = {
      inputs: o.inputs.map(({ id, ctx }) => ({ id, input: ctx.input, hostName: ctx.hostName })),
      indexPrefix: o.indexPrefix,
      maxFreeBodies: 2 * o.maxInFlight + 2,
    };
    // Compiled (dist/*.js): start the worker module itself. From the TypeScript sources: through a
    // small .mjs that registers tsx first.
    const here = import.meta.url;
    const compiled = here.endsWith('.js');
    const entry = new URL(compiled ? './worker.js' : './worker.ts', here);
    this.worker = new Worker(compiled ? entry : new URL('./worker-boot.mjs', here), {
      workerData: { ...init, entry: entry.href },
      // Not the parent's flags (a parent run with --import tsx would load tsx twice).
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: o.youngGenerationMb ?? 16 },
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (err) => this.die(new Error(`the normalize worker failed: ${err.message}; unacknowledged lines are read again at the next start`, { cause: err })));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        if (!this.closing) this.die(new Error(`the normalize worker exited (code ${code}); unacknowledged lines are read again at the next start`));
        resolve();
      });
    });
    for (const { id, ctx } of o.inputs) this.generations.set(id, ctx.referenceGeneration);
  }

  /** Normalizes and encodes a batch. Transfers its slabs (they come back to the pool). */
  encode(lines: PackedLines): Promise<EncodedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    for (const { id, ctx } of this.inputs) {
      if (this.generations.get(id) !== ctx.referenceGeneration) {
        this.generations.set(id, ctx.referenceGeneration);
        this.post({ type: 'reference', input: id, info: ctx.reference });
      }
    }
    const seq = ++this.seq;
    const packed = lines.toData();
    const p = new Promise<EncodedBatch>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    // Ref'd while it holds work: an idle worker must not keep the process alive, a busy one must.
    if (this.waiting.size === 1) this.worker.ref();
    // Moved, not copied: the slabs and the line table (the worker sends them back with the body).
    this.post({ type: 'encode', seq, packed }, [...packed.slabs, packed.table].filter((b) => b.byteLength > 0));
    lines.slabs = [];
    return p;
  }

  /** Gives a sent body back to the worker for reuse. */
  release(body: Buffer): void {
    if (this.failure || body.buffer.byteLength === 0) return;
    const ab = body.buffer as ArrayBuffer;
    this.post({ type: 'release', bodies: [ab] }, [ab]);
  }

  async close(): Promise<void> {
    if (this.closing) return this.exited;
    this.closing = true;
    this.die(new Error('the normalize worker was stopped'));
    await this.worker.terminate();
    await this.exited;
  }

  private post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'metrics') {
      for (const [model, n] of m.unparsed) valuesUnparsed.inc({ model }, n);
      for (const [model, n] of m.overflow) featuresOverflow.inc({ model }, n);
      return;
    }
    for (const slab of m.slabs) this.pool.give(slab);
    const w = this.waiting.get(m.seq);
    if (!w) return;
    this.waiting.delete(m.seq);
    if (this.waiting.size === 0) this.worker.unref();
    const r = m.result;
    // Typed arrays arrive without Buffer's prototype.
    r.body = Buffer.from(r.body.buffer, r.body.byteOffset, r.body.length);
    for (const [id, d] of Object.entries(r.stats)) {
      const ctx = this.inputs.find((i) => i.id === id)?.ctx;
      if (ctx) {
        ctx.stats.unparsed += d.unparsed;
        ctx.stats.overflow += d.overflow;
      }
    }
    w.resolve(r);
  }

  private die(err: Error): void {
    this.failure ??= err;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(this.failure);
  }
}
