import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { InputSchema } from '../config/schema.ts';
import { createNormalizeContext, normalizeLine } from '../normalize/normalize.ts';
import { BulkEncoder } from '../sinks/elasticsearch/encode.ts';
import type { Batch, DeliveryReport, Sink } from '../sinks/sink.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { DEAD_LETTER_FILE, DEAD_LETTER_LINE_BYTES, FileDeadLetter, LogSampler } from './deadletter.ts';
import { encodePacked } from './encode-batch.ts';
import { PackedLines, SlabPool } from './packed.ts';
import { Pipeline } from './pipeline.ts';
import { workspace } from '../../test/support/workspace.ts';

const input = InputSchema.parse({ paths: ['/x/*.jsonl'], model: { name: 'fraud' } });
// Under max_line_bytes (1 MiB), so normalize sees it: 40 KiB that are not JSON.
const LONG = '{"timestamp": "2024-05-01T00:00:00Z", "note": "' + 'é'.repeat(20_000) + '", broken';

const nullSink: Sink = {
  name: 'null',
  start: async () => {},
  stop: async () => {},
  send: async (b: Batch): Promise<DeliveryReport> => ({ indexed: b.events.length, duplicates: 0, deadLettered: 0, retries: 0 }),
};

test('the dead letter keeps the first 16 KiB of a long rejected line, as the README says (was 2,048 bytes)', async (t) => {
  assert.equal(DEAD_LETTER_LINE_BYTES, 16 * 1024);
  const dir = workspace('dl', t);
  const dl = new FileDeadLetter(dir);
  const ctx = createNormalizeContext(input, { hostName: 'h' });
  const p = new Pipeline({
    sink: nullSink, deadLetter: dl, ack: () => {}, logger: silentLogger,
    budgetBytes: 1 << 20, batchMaxDocs: 10, batchMaxBytes: 1 << 20, flushIntervalMs: 10, maxInFlight: 1,
  });
  p.addInput('fraud', (line, meta) => normalizeLine(line, meta, ctx));
  const line = Buffer.from(LONG);
  await p.onLines('fraud', [{ key: 'k', path: '/x/a.jsonl', offset: 0, end: line.length + 1, line, tooLong: false }]);
  await p.flush();
  p.stop();
  const [entry] = readFileSync(join(dir, DEAD_LETTER_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: string; reason: string });
  assert.match(entry!.reason, /^not valid JSON/);
  const kept = Buffer.byteLength(entry!.line);
  assert.ok(kept <= DEAD_LETTER_LINE_BYTES && kept > DEAD_LETTER_LINE_BYTES - 4, `kept ${kept} bytes`);
  assert.ok(LONG.startsWith(entry!.line), 'the start of the line, cut at a character boundary');

  // the normalize worker's path cuts at the same constant
  const packed = new PackedLines(new SlabPool(8));
  packed.push('fraud', 'k', '/x/a.jsonl', 0, line);
  const enc = encodePacked(packed.toData(), new Map([['fraud', ctx]]), new BulkEncoder('driftbeat'));
  assert.ok(Buffer.byteLength(enc.rejects[0]!.line!) >= DEAD_LETTER_LINE_BYTES - 3);
});

test('dead-lettered lines are logged: the first ones each, then one per interval with the count suppressed', (t) => {
  const records: Record<string, unknown>[] = [];
  const destination = new Writable({ write(chunk: Buffer, _e, cb) { records.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  let now = 1_000_000;
  const dl = new FileDeadLetter(workspace('dl', t), { logger: createLogger({ destination }), logFirst: 3, logIntervalMs: 10_000, now: () => now });
  for (let i = 0; i < 50; i++) {
    dl.write({ reason: `not valid JSON #${i}`, file: '/x/a.jsonl', offset: i * 10, line: `bad ${i}` });
    now += 100; // 50 lines over 5 s
  }
  now += 10_000;
  dl.write({ reason: 'not valid JSON #50', file: '/x/a.jsonl', offset: 500, line: 'bad 50' });
  assert.equal(records.length, 4, 'three, then one after the interval');
  assert.equal(records[0]!.message, 'dead-lettered (/x/a.jsonl at byte 0): not valid JSON #0');
  assert.equal(records[0]!['log.level'], 'warn');
  assert.equal(records[3]!.message, 'dead-lettered (/x/a.jsonl at byte 500): not valid JSON #50; 47 more dead-lettered since the last such message');
  assert.deepEqual((records[3]!['driftbeat.dead_letter'] as { suppressed: number }).suppressed, 47);
  assert.equal(records[3]!['event.original'], 'bad 50');
});

test('LogSampler: first N, then one per interval', () => {
  const s = new LogSampler(2, 1000);
  assert.deepEqual([0, 1, 2, 3, 999, 1001, 1500, 2002].map((t) => s.take(t)), [0, 0, undefined, undefined, undefined, 3, undefined, 1]);
});
