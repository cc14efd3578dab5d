import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { InputSchema, ElasticsearchOutputSchema } from '../config/schema.ts';
import { createNormalizeContext, normalizeLine, type NormalizeContext } from '../normalize/normalize.ts';
import { createReferenceInfo } from '../normalize/reference-info.ts';
import { BulkEncoder } from '../sinks/elasticsearch/encode.ts';
import { ElasticsearchSink } from '../sinks/elasticsearch/sink.ts';
import type { Batch, DeadLetterEntry, DeliveryReport, Sink } from '../sinks/sink.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { testEngine } from '../../test/support/engine.ts';
import { installTemplates } from '../../test/support/engine-setup.ts';
import { startFaultProxy } from '../../test/support/fault-proxy.ts';
import { encodePacked } from './encode-batch.ts';
import { NormalizeWorker } from './offload.ts';
import { forEachLine, forEachLineYielding, PackedLines, SLAB_BYTES, SlabPool } from './packed.ts';
import { Pipeline, type PipelineLine } from './pipeline.ts';

const FIXED_NOW = () => new Date('2026-11-01T00:00:00.000Z');
const KEY = '2049-77-abcd';
const PATH = '/var/log/model/preds.jsonl';

function ctxFor(now?: () => Date): NormalizeContext {
  const input = InputSchema.parse({ paths: [PATH], model: { name: 'fraud' }, fields: { id: 'request_id' } });
  return createNormalizeContext(input, { hostName: 'host-1', ...(now ? { now } : {}) });
}

function record(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
    request_id: `req-${i}`,
    features: { amount: i / 10, country: ['FR', 'DE', 'ÉIRE'][i % 3], ...extra },
    prediction: { score: (i % 100) / 100 },
  });
}

/** Lines as the file source hands them over: offsets continue from `start`. */
function linesOf(texts: string[], start = 0, key = KEY, path = PATH): PipelineLine[] {
  let offset = start;
  return texts.map((t) => {
    const line = Buffer.from(t);
    const l: PipelineLine = { key, path, offset, end: offset + line.length + 1, line, tooLong: false };
    offset = l.end;
    return l;
  });
}

/** A sink that keeps what it is sent; `gate` lets a test hold a batch's answer. */
class MemorySink implements Sink {
  readonly name = 'memory';
  readonly acceptsEncoded = true;
  readonly items: string[] = [];
  gate: ((batch: Batch) => Promise<void>) | undefined;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async send(batch: Batch): Promise<DeliveryReport> {
    await this.gate?.(batch);
    if (batch.encoded) {
      const { body, ends } = batch.encoded;
      for (let i = 0; i < ends.length; i++) this.items.push(body.toString('utf8', i === 0 ? 0 : ends[i - 1], ends[i]));
    } else {
      const enc = new BulkEncoder('driftbeat');
      for (const e of batch.events) this.items.push(enc.encode(e));
    }
    return { indexed: batch.encoded ? batch.encoded.ends.length : batch.events.length, duplicates: 0, deadLettered: 0, retries: 0 };
  }
  ids(): string[] {
    return this.items.map((s) => (JSON.parse(s.slice(0, s.indexOf('\n'))) as { create: { _id: string } }).create._id);
  }
}

const workers: NormalizeWorker[] = [];
after(async () => {
  for (const w of workers) await w.close();
});

function setup(o: { worker: boolean; budget?: number; batch?: number; ctx?: NormalizeContext; maxInFlight?: number }) {
  const ctx = o.ctx ?? ctxFor();
  const sink = new MemorySink();
  const dead: DeadLetterEntry[] = [];
  const acks: [string, number][] = [];
  const pool = new SlabPool(64);
  let offload: NormalizeWorker | undefined;
  if (o.worker) {
    offload = new NormalizeWorker({ inputs: [{ id: 'fraud', ctx }], indexPrefix: 'driftbeat', pool, maxInFlight: o.maxInFlight ?? 2 });
    workers.push(offload);
  }
  const p = new Pipeline({
    sink,
    deadLetter: { write: (e) => dead.push(e) },
    ack: (key, end) => acks.push([key, end]),
    logger: silentLogger,
    budgetBytes: o.budget ?? 1 << 20,
    batchMaxDocs: o.batch ?? 100,
    batchMaxBytes: 1 << 20,
    flushIntervalMs: 20,
    maxInFlight: o.maxInFlight ?? 2,
    pool,
    ...(offload ? { offload } : {}),
  });
  p.addInput('fraud', (line, meta) => normalizeLine(line, meta, ctx));
  return { p, sink, dead, acks, ctx };
}

test('packed lines: slabs keep every byte, file offset and file of each line; a small batch gives its slab back', async () => {
  const pool = new SlabPool(8);
  const p = new PackedLines(pool, 4);
  const texts = [record(1), 'x'.repeat(SLAB_BYTES + 10), record(2), '', record(3)];
  let offset = 0;
  texts.forEach((t, i) => {
    p.push('fraud', i < 3 ? 'a' : 'b', i < 3 ? '/a' : '/b', offset, Buffer.from(t));
    offset += t.length + 1;
  });
  assert.equal(p.count, 5);
  const seen: [string, number, string][] = [];
  forEachLine(p.toData(), (i, line, seg) => seen.push([line.toString(), p.offsets[i]!, seg.path]));
  assert.deepEqual(seen.map((s) => s[0]), texts);
  assert.deepEqual(seen.map((s) => s[2]), ['/a', '/a', '/a', '/b', '/b']);
  assert.equal(seen[4]![1], texts.slice(0, 4).reduce((n, t) => n + t.length + 1, 0));
  // The yielding walk gives the same lines, segments and offsets, and lets the event loop turn.
  const again: [string, number, string][] = [];
  let turned = false;
  setImmediate(() => (turned = true));
  await forEachLineYielding(p.toData(), (i, line, seg) => again.push([line.toString(), p.offsets[i]!, seg.path]), 0);
  assert.deepEqual(again, seen);
  assert.ok(turned, 'the event loop had a turn during the walk');

  const small = new PackedLines(pool);
  assert.equal(small.push('fraud', 'a', '/a', 0, Buffer.from(record(9))), SLAB_BYTES);
  const before = pool.size;
  assert.equal(small.compact(), SLAB_BYTES - record(9).length);
  assert.equal(pool.size, before + 1);
  forEachLine(small.toData(), (_i, line) => assert.equal(line.toString(), record(9)));
});

test('line tables: given back, a table serves the next batch; grown or cut to size, every offset and end is kept; given twice, kept once', () => {
  const pool = new SlabPool(8);
  const first = new PackedLines(pool, 16);
  const table = first.table;
  for (let i = 0; i < 40; i++) first.push('fraud', KEY, PATH, i * 100, Buffer.from(record(i)));
  assert.notEqual(first.table, table, 'grown past 16 lines');
  const data = first.toData();
  assert.deepEqual([...data.offsets], Array.from({ length: 40 }, (_, i) => i * 100));
  const lines: string[] = [];
  forEachLine(data, (_i, line) => lines.push(line.toString()));
  assert.deepEqual(lines, Array.from({ length: 40 }, (_, i) => record(i)));
  // The 16-line table went back to the pool when the batch grew: the next batch of that size takes it.
  assert.equal(new PackedLines(pool, 16).table, table);
  const reused = new PackedLines(pool, 16);
  assert.notEqual(reused.table, table);
  pool.giveTable(reused.table);
  pool.giveTable(reused.table);
  const a = new PackedLines(pool, 16);
  const b = new PackedLines(pool, 16);
  assert.equal(a.table, reused.table);
  assert.notEqual(b.table, reused.table, 'a table given twice is handed out once');

  // A trickle batch (one short line) keeps a table of its size while it waits, not 16 lines' worth.
  const small = new PackedLines(pool, 16);
  small.push('fraud', KEY, PATH, 7, Buffer.from(record(1)));
  small.compact();
  assert.equal(small.table.byteLength, 16);
  assert.deepEqual([...small.toData().offsets], [7]);
});

test('encodePacked gives the same bulk items as normalizing and encoding one event at a time; rejects keep index and text', () => {
  const texts = [record(0), '{"broken', record(1), '   ', record(2), '[1,2]'];
  const pool = new SlabPool(4);
  const p = new PackedLines(pool);
  let offset = 0;
  for (const t of texts) {
    p.push('fraud', KEY, PATH, offset, Buffer.from(t));
    offset += Buffer.byteLength(t) + 1;
  }
  const ctx = ctxFor(FIXED_NOW);
  const r = encodePacked(p.toData(), new Map([['fraud', ctx]]), new BulkEncoder('driftbeat'));

  const ref = ctxFor(FIXED_NOW);
  const enc = new BulkEncoder('driftbeat');
  const expected: string[] = [];
  offset = 0;
  for (const t of texts) {
    const n = normalizeLine(Buffer.from(t), { key: KEY, path: PATH, offset }, ref);
    if (n.ok) expected.push(enc.encode(n.event));
    offset += Buffer.byteLength(t) + 1;
  }
  assert.equal(r.body.toString('utf8'), expected.join(''));
  assert.equal(r.ends.length, 3);
  assert.equal(r.ends[2], r.body.length);
  assert.deepEqual(r.rejects.map((x) => [x.index, x.skip ?? false]), [[1, false], [3, true], [5, false]]);
  // Each reject carries its file offset (the dead letter's; the batch's table is in the worker then).
  assert.deepEqual(r.rejects.map((x) => x.offset), [1, 3, 5].map((i) => texts.slice(0, i).reduce((n, t) => n + Buffer.byteLength(t) + 1, 0)));
  assert.match(r.rejects[0]!.reason, /not valid JSON/);
  assert.equal(r.rejects[0]!.line, '{"broken');
  assert.equal(r.rejects[1]!.line, undefined);
});

for (const worker of [true, false]) {
  test(`pipeline (${worker ? 'normalize worker' : 'in-thread'}): every line sent once, bad lines dead-lettered, offsets acknowledged in order`, async () => {
    const { p, sink, dead, acks } = setup({ worker, batch: 50 });
    const texts: string[] = [];
    for (let i = 0; i < 400; i++) texts.push(i % 97 === 5 ? `not json ${i}` : record(i));
    const lines = linesOf(texts);
    lines[10] = { ...lines[10]!, tooLong: true };
    for (let k = 0; k < lines.length; k += 64) await p.onLines('fraud', lines.slice(k, k + 64));
    await p.flush();

    const bad = new Set(texts.flatMap((t, i) => (t.startsWith('not json') || i === 10 ? [i] : [])));
    const want = texts.flatMap((_, i) => (bad.has(i) ? [] : [`req-${i}`]));
    assert.deepEqual(sink.ids(), want);
    assert.equal(dead.length, bad.size);
    assert.deepEqual(dead.map((d) => d.offset).sort((a, b) => a! - b!), [...bad].map((i) => lines[i]!.offset));
    assert.ok(dead.every((d) => d.file === PATH && d.reason.length > 0));
    assert.ok(dead.some((d) => /max_line_bytes/.test(d.reason)));
    // Acks only move forward and end at the end of the last line.
    for (let k = 1; k < acks.length; k++) assert.ok(acks[k]![1] > acks[k - 1]![1]);
    assert.equal(acks.at(-1)![1], lines.at(-1)!.end);
    assert.equal(p.queuedBytes, 0);
    assert.equal(p.stats.linesIn, 400);
    assert.equal(p.stats.deadLettered, bad.size);
    p.stop();
  });
}

test('pipeline with the worker: a batch answered late holds back the acks of later batches; the budget pauses the reader', async () => {
  const { p, sink, acks } = setup({ worker: true, batch: 20, budget: 10_000, maxInFlight: 2 });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let first = true;
  sink.gate = async () => {
    if (first) {
      first = false;
      await held;
    }
  };
  const lines = linesOf(Array.from({ length: 200 }, (_, i) => record(i)));
  // A sealed batch of 20 lines keeps ~3 KB (its slab compacted): the fourth fills the budget.
  let paused: Promise<void> | void = undefined;
  let k = 0;
  for (; k < lines.length && !paused; k += 20) paused = p.onLines('fraud', lines.slice(k, k + 20));
  assert.ok(paused instanceof Promise, 'onLines returns a promise once the budget is full');
  // Later batches are delivered while the first is held, but nothing is acknowledged.
  // Bounded wait (at most 10 s: a loaded machine can take seconds to start the worker).
  for (let t = 0; t < 2000 && sink.items.length < 20; t++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(sink.items.length >= 20, 'a later batch was sent while the first was held');
  assert.equal(acks.length, 0);
  release();
  await paused;
  for (; k < lines.length; k += 20) await p.onLines('fraud', lines.slice(k, k + 20));
  await p.flush();
  assert.equal(new Set(sink.ids()).size, 200);
  assert.equal(acks.at(-1)![1], lines.at(-1)!.end);
  for (let j = 1; j < acks.length; j++) assert.ok(acks[j]![1] > acks[j - 1]![1]);
  p.stop();
});

test('pipeline with the worker: a reference profile set on the main context applies to the next batches', async () => {
  const ctx = ctxFor();
  const { p, sink } = setup({ worker: true, ctx, batch: 10 });
  await p.onLines('fraud', linesOf([record(1)]));
  await p.flush();
  ctx.setReference(createReferenceInfo([{ model: 'fraud', features: new Map([['amount', 'num'], ['zip', 'num']]) }]));
  await p.onLines('fraud', linesOf([record(2)], 1000));
  await p.flush();
  const docs = sink.items.map((s) => JSON.parse(s.slice(s.indexOf('\n') + 1)) as { missing: string[] });
  assert.deepEqual(docs[0]!.missing, []);
  assert.deepEqual(docs[1]!.missing, ['zip'], 'the worker knows the reference: zip is absent, so NA');
  p.stop();
});

test('a stopped worker fails its pending batches with a message that says what happens to the lines', async () => {
  const pool = new SlabPool(4);
  const w = new NormalizeWorker({ inputs: [{ id: 'fraud', ctx: ctxFor() }], indexPrefix: 'driftbeat', pool, maxInFlight: 1 });
  const lines = new PackedLines(pool);
  lines.push('fraud', KEY, PATH, 0, Buffer.from(record(1)));
  const r = await w.encode(lines);
  assert.equal(r.ends.length, 1);
  assert.equal(pool.size, 1, 'the slab came back from the worker');
  await w.close();
  const again = new PackedLines(pool);
  again.push('fraud', KEY, PATH, 0, Buffer.from(record(2)));
  await assert.rejects(w.encode(again), /normalize worker was stopped/);
});

test('elasticsearch sink on the real engine with pre-encoded batches: retries only rejected items, dead-letters the refused one with its document', async (t) => {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  await installTemplates(engine.url, prefix);
  const proxy = await startFaultProxy(engine.url);
  t.after(() => proxy.close());
  const ctx = ctxFor(FIXED_NOW);
  const pool = new SlabPool(4);
  const packed = new PackedLines(pool);
  let offset = 0;
  // An earlier run of the agent left features.amount mapped as a number. This run's type memory
  // starts empty and first sees amount as text (req-0): the engine refuses that one line.
  const earlier = `{"create":{"_index":"${prefix}-predictions-fraud","_id":"earlier-1"}}\n${JSON.stringify({ '@timestamp': '2026-10-31T00:00:00Z', features: { amount: 1.5 } })}\n`;
  assert.equal((await engine.request('POST', '/_bulk', earlier)).body.errors, false);
  for (let i = 0; i < 60; i++) {
    const t = record(i, i === 0 ? { amount: 'twelve' } : {});
    packed.push('fraud', KEY, PATH, offset, Buffer.from(t));
    offset += Buffer.byteLength(t) + 1;
  }
  const enc = encodePacked(packed.toData(), new Map([['fraud', ctx]]), new BulkEncoder(prefix));
  // 30% of the items answer 429 the first time (the engine never sees them then).
  const seen = new Set<string>();
  proxy.set({ kind: 'items', reject: (item) => {
    const n = Number(item.id!.slice('req-'.length));
    if (![1, 2, 5].includes(n % 10) || seen.has(item.id!)) return undefined;
    seen.add(item.id!);
    return { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution' };
  } });
  const dead: DeadLetterEntry[] = [];
  const config = ElasticsearchOutputSchema.parse({ hosts: [proxy.url], index_prefix: prefix, backoff: { initial: 2, max: 20 }, timeout: '30s' });
  const sink = new ElasticsearchSink({ config, deadLetter: { write: (e) => dead.push(e) }, random: () => 0.5 });
  try {
    const report = await sink.send({ events: [], bytes: enc.body.length, encoded: { body: enc.body, ends: enc.ends } });
    assert.deepEqual(report, { indexed: 59, duplicates: 0, deadLettered: 1, retries: 18 });
    await engine.refresh(prefix);
    assert.equal((await engine.request('GET', `/${prefix}-predictions-fraud/_count`)).body.count, 59 + 1);
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.reason, /^mapper_parsing_exception: failed to parse field \[features\.amount\]/);
    assert.equal(dead[0]!.offset, 0);
    const one = await engine.request('POST', `/${prefix}-predictions-fraud/_search`, { query: { ids: { values: ['req-1'] } } });
    const src = one.body.hits.hits[0]._source;
    // Typed as text by this run, the later numbers are sent as strings, which the engine coerces.
    assert.equal(src.features.amount, '0.1');
    assert.equal((dead[0]!.doc as { event: { id: string } }).event.id, 'req-0');
  } finally {
    await sink.stop();
  }
});
