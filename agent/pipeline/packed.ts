/**
 * The lines of one batch, packed: their bytes copied into fixed-size slabs (64 KiB ArrayBuffers
 * recycled through a pool), with typed arrays for the line ends and file offsets, and one small
 * record per run of lines from the same file.
 *
 * Why: the tailer hands over one object per line holding a view into its 64 KiB read chunk.
 * Queued as is, 64 MiB of lines are ~180k long-lived objects the GC keeps walking plus every
 * chunk a line still points at; and buffers of every size coming and going fragment the C heap,
 * so the process kept ~2x the queue's size resident. Slabs of one size, reused, keep the queue's
 * memory at its budget; copying ~350 bytes per line costs less than what it saves. Slabs are
 * transferred to the normalize worker and back without a copy (see offload.ts).
 *
 * The per-line numbers live in one pooled ArrayBuffer per batch as well, the line table: file
 * offsets, line ends, and room for the bulk items' ends that the encoder writes. Typed arrays made
 * per batch instead (~56 KiB of them in two threads) are freed only when V8 collects their
 * old-generation wrappers, which it does late: they kept ~20 MiB more resident (bench/RESULTS.md).
 */
import { timeSlice } from '../lib/time-slice.ts';

/** A run of consecutive lines of one input and one file. */
export interface Segment {
  input: string;
  key: string;
  path: string;
  count: number;
}

/** What crosses to the worker: plain data and ArrayBuffers only (structured-clone friendly). */
export interface PackedData {
  slabs: ArrayBuffer[];
  /** Lines in each slab. */
  slabLines: number[];
  /** End of line i within its slab (a line starts where the previous one of its slab ended, or at 0). */
  ends: Uint32Array;
  /** Byte offset of each line's start in its file. */
  offsets: Float64Array;
  /** The buffer behind `ends` and `offsets` (transferred with the slabs, given back to the pool). */
  table: ArrayBuffer;
  segments: Segment[];
}

export const SLAB_BYTES = 64 * 1024;

/** A line table holds, per line: its file offset (8 bytes), its end (4), its bulk item's end (4). */
const TABLE_BYTES_PER_LINE = 16;

interface TableViews { offsets: Float64Array; ends: Uint32Array; items: Uint32Array }

function tableViews(table: ArrayBuffer): TableViews {
  const lines = table.byteLength / TABLE_BYTES_PER_LINE;
  return { offsets: new Float64Array(table, 0, lines), ends: new Uint32Array(table, 8 * lines, lines), items: new Uint32Array(table, 12 * lines, lines) };
}

/** Where the encoder writes the end of each bulk item (at most one per line). */
export function itemEndsOf(p: PackedData): Uint32Array {
  return tableViews(p.table).items;
}

/** Free tables kept per size, beyond which given-back ones are left to the GC (one per batch is in use). */
const MAX_FREE_TABLES = 32;

/**
 * Free slabs and line tables, reused batch after batch. A line longer than a slab gets a buffer of
 * its own, and a table grown or cut to size is allocated as such; neither is pooled.
 */
export class SlabPool {
  private readonly free: ArrayBuffer[] = [];
  /** Free line tables by byte size: only the sizes asked of takeTable. */
  private readonly freeTables = new Map<number, ArrayBuffer[]>();
  constructor(private readonly max: number) {}

  take(): ArrayBuffer {
    return this.free.pop() ?? new ArrayBuffer(SLAB_BYTES);
  }

  give(slab: ArrayBuffer): void {
    if (slab.byteLength === SLAB_BYTES && this.free.length < this.max) this.free.push(slab);
  }

  /** A line table for `lines` lines. */
  takeTable(lines: number): ArrayBuffer {
    const bytes = lines * TABLE_BYTES_PER_LINE;
    let free = this.freeTables.get(bytes);
    if (free === undefined) this.freeTables.set(bytes, (free = []));
    return free.pop() ?? new ArrayBuffer(bytes);
  }

  /** Gives back a table no batch uses any more (an empty or detached one is ignored, one given twice kept once). */
  giveTable(table: ArrayBuffer): void {
    const free = this.freeTables.get(table.byteLength);
    if (table.byteLength === 0 || free === undefined || free.length >= MAX_FREE_TABLES || free.includes(table)) return;
    free.push(table);
  }

  get size(): number {
    return this.free.length;
  }
}

export class PackedLines {
  slabs: ArrayBuffer[] = [];
  slabLines: number[] = [];
  /** This batch's line table (from the pool) and its views. */
  table: ArrayBuffer;
  ends: Uint32Array;
  offsets: Float64Array;
  segments: Segment[] = [];
  count = 0;
  /** Bytes of the slabs held: what this batch costs in memory. */
  memory = 0;
  private cur: Uint8Array | undefined;
  private curUsed = 0;
  private last: Segment | undefined;

  /** `linesHint` 0: an empty batch that takes no table until a line comes. */
  constructor(private readonly pool: SlabPool, linesHint = 256) {
    this.table = pool.takeTable(linesHint === 0 ? 0 : Math.max(16, linesHint));
    ({ ends: this.ends, offsets: this.offsets } = tableViews(this.table));
  }

  /** Copies one line in; returns the memory newly taken (0 while the current slab has room). */
  push(input: string, key: string, path: string, offset: number, line: Uint8Array): number {
    const len = line.length;
    let taken = 0;
    if (this.cur === undefined || this.curUsed + len > this.cur.length) {
      const slab = len > SLAB_BYTES ? new ArrayBuffer(len) : this.pool.take();
      this.slabs.push(slab);
      this.slabLines.push(0);
      this.cur = new Uint8Array(slab);
      this.curUsed = 0;
      taken = slab.byteLength;
      this.memory += taken;
    }
    if (this.count === this.ends.length) this.growLines();
    this.cur.set(line, this.curUsed);
    this.curUsed += len;
    this.ends[this.count] = this.curUsed;
    this.offsets[this.count] = offset;
    this.count++;
    this.slabLines[this.slabLines.length - 1]!++;
    const s = this.last;
    if (s !== undefined && s.key === key && s.input === input && s.path === path) {
      s.count++;
    } else {
      this.last = { input, key, path, count: 1 };
      this.segments.push(this.last);
    }
    return taken;
  }

  /**
   * Once the batch is complete: a batch of a few lines (sealed by the flush timer) moves them to a
   * buffer of their size and gives its slab back, so that a slow trickle during an outage does
   * not hold a slab per second. Returns the memory released.
   */
  compact(): number {
    if (this.slabs.length !== 1 || this.curUsed >= SLAB_BYTES >>> 2 || this.slabs[0]!.byteLength !== SLAB_BYTES) return 0;
    const small = new ArrayBuffer(Math.max(1, this.curUsed));
    new Uint8Array(small).set(this.cur!.subarray(0, this.curUsed));
    this.pool.give(this.slabs[0]!);
    this.slabs[0] = small;
    this.cur = new Uint8Array(small);
    this.moveTable(this.count);
    const released = this.memory - small.byteLength;
    this.memory = small.byteLength;
    return released;
  }

  /** The packed data (views sized to the lines) for the worker or forEachLine. */
  toData(): PackedData {
    return {
      slabs: this.slabs,
      slabLines: this.slabLines,
      ends: this.ends.subarray(0, this.count),
      offsets: this.offsets.subarray(0, this.count),
      table: this.table,
      segments: this.segments,
    };
  }

  private growLines(): void {
    this.moveTable(Math.max(16, this.ends.length * 2));
  }

  /** Moves the lines' numbers to a table for `lines` lines (grown, or cut to size) and gives the old one back. */
  private moveTable(lines: number): void {
    const old = this.table;
    const from = { ends: this.ends, offsets: this.offsets };
    if (lines === from.ends.length) return;
    this.table = new ArrayBuffer(lines * TABLE_BYTES_PER_LINE);
    ({ ends: this.ends, offsets: this.offsets } = tableViews(this.table));
    this.ends.set(from.ends.subarray(0, this.count));
    this.offsets.set(from.offsets.subarray(0, this.count));
    this.pool.giveTable(old);
  }
}

/** Calls `fn` for every line, in order, with a Buffer view of it and its segment. */
export function forEachLine(p: PackedData, fn: LineFn): void {
  const at = walkStart(p);
  for (let s = 0; s < p.slabs.length; s++) walkSlab(p, s, at, fn);
}

/**
 * As forEachLine, but gives the event loop a turn whenever `sliceMs` have passed (checked between
 * slabs of 64 KiB): a batch normalized in the main thread then does not hold up the I/O callbacks
 * of the batch being written meanwhile (the embedded store's statements each need one).
 */
export async function forEachLineYielding(p: PackedData, fn: LineFn, sliceMs = 2): Promise<void> {
  const at = walkStart(p);
  const turn = timeSlice(sliceMs);
  for (let s = 0; s < p.slabs.length; s++) {
    walkSlab(p, s, at, fn);
    await turn();
  }
}

type LineFn = (i: number, line: Buffer, seg: Segment) => void;
interface WalkState {
  /** The next line's index, its segment and where that segment's lines end. */
  i: number;
  seg: number;
  segEnd: number;
}

function walkStart(p: PackedData): WalkState {
  return { i: 0, seg: 0, segEnd: p.segments.length > 0 ? p.segments[0]!.count : 0 };
}

function walkSlab(p: PackedData, s: number, at: WalkState, fn: LineFn): void {
  const slab = p.slabs[s]!;
  const n = p.slabLines[s]!;
  let start = 0;
  for (let k = 0; k < n; k++, at.i++) {
    while (at.i >= at.segEnd) at.segEnd += p.segments[++at.seg]!.count;
    const end = p.ends[at.i]!;
    fn(at.i, Buffer.from(slab, start, end - start), p.segments[at.seg]!);
    start = end;
  }
}
