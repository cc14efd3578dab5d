/**
 * Packed lines -> one bulk NDJSON body (pure). What the normalize worker runs per batch; also
 * callable in-thread (tests, benchmarks).
 *
 * The body is written straight into one Buffer, item by item, recording where each item ends, so
 * the sink can send it as is and cut out single items for retries without encoding anything again.
 */
import type { NormalizeContext } from '../normalize/context.ts';
import { normalizeLine } from '../normalize/line.ts';
import { REJECT_CODES } from '../normalize/reject.ts';
import type { BulkEncoder } from '../sinks/elasticsearch/encode.ts';
import type { EncodedItems } from '../sinks/sink.ts';
import { DEAD_LETTER_LINE_BYTES } from './deadletter.ts';
import { forEachLine, itemEndsOf, type PackedData } from './packed.ts';

/** A line that did not become a document (index into the batch, offset in its file). */
export interface LineRejection {
  index: number;
  offset: number;
  reason: string;
  code: string;
  /** Blank line: settle it, do not dead-letter it. */
  skip?: boolean;
  /** The start of the raw line, for the dead letter (absent when skip). */
  line?: string;
}

export interface EncodedBatch extends EncodedItems {
  /** The batch's line table, which `ends` is a view of: back to the pool once the body is sent. */
  table: ArrayBuffer;
  rejects: LineRejection[];
  /** Growth of each input's NormalizeContext stats (values unparsed, features overflowed). */
  stats: Record<string, { unparsed: number; overflow: number }>;
}

/** How much of a rejected line goes to the dead letter (one constant, in deadletter.ts). */
export { DEAD_LETTER_LINE_BYTES };

/** Returns a buffer of at least `bytes` (the worker recycles the bodies the main thread sent back). */
export type BodyAlloc = (bytes: number) => Buffer;

const newBody: BodyAlloc = (bytes) => Buffer.from(new ArrayBuffer(bytes));

export function encodePacked(p: PackedData, contexts: ReadonlyMap<string, NormalizeContext>, encoder: BulkEncoder, alloc: BodyAlloc = newBody): EncodedBatch {
  const n = p.ends.length;
  let lineBytes = 0;
  for (let s = 0, i = 0; s < p.slabs.length; s++) {
    i += p.slabLines[s]!;
    if (i > 0) lineBytes += p.ends[i - 1]!;
  }
  // Documents come out ~1.5x the size of their lines (event, host, log fields); grown if not enough.
  let body = alloc(Math.ceil(lineBytes * 1.7) + n * 64 + 1024);
  let used = 0;
  const itemEnds = itemEndsOf(p);
  let items = 0;
  const rejects: LineRejection[] = [];
  const before = new Map<string, { unparsed: number; overflow: number }>();
  for (const [id, ctx] of contexts) before.set(id, { unparsed: ctx.stats.unparsed, overflow: ctx.stats.overflow });

  forEachLine(p, (i, line, seg) => {
    const ctx = contexts.get(seg.input);
    const offset = p.offsets[i]!;
    if (ctx === undefined) {
      rejects.push({ index: i, offset, reason: `no input "${seg.input}" in the normalize worker`, code: REJECT_CODES.INTERNAL, line: preview(line) });
      return;
    }
    const r = normalizeLine(line, { key: seg.key, path: seg.path, offset }, ctx);
    if (!r.ok) {
      rejects.push(r.skip ? { index: i, offset, reason: r.reason, code: r.code, skip: true } : { index: i, offset, reason: r.reason, code: r.code, line: preview(line) });
      return;
    }
    const item = encoder.encode(r.event);
    // A UTF-16 unit is at most 3 UTF-8 bytes: with that much room, write() never truncates.
    const room = used + item.length * 3;
    if (room > body.length) {
      const bigger = alloc(Math.max(body.length * 2, room));
      body.copy(bigger, 0, 0, used);
      body = bigger;
    }
    used += body.write(item, used, 'utf8');
    itemEnds[items++] = used;
  });

  const stats: EncodedBatch['stats'] = {};
  for (const [id, ctx] of contexts) {
    const b = before.get(id)!;
    if (ctx.stats.unparsed !== b.unparsed || ctx.stats.overflow !== b.overflow) {
      stats[id] = { unparsed: ctx.stats.unparsed - b.unparsed, overflow: ctx.stats.overflow - b.overflow };
    }
  }
  return { body: body.subarray(0, used), ends: itemEnds.subarray(0, items), table: p.table, rejects, stats };
}

function preview(line: Buffer): string {
  return line.subarray(0, DEAD_LETTER_LINE_BYTES).toString('utf8');
}
