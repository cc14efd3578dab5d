import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputSchema } from '../../config/schema.ts';
import { createLogger } from '../../telemetry/logger.ts';
import { filesOpen, linesRead, registryLagBytes } from '../../telemetry/metrics.ts';
import { Registry } from './registry.ts';
import { FileSource, type RawLine } from './source.ts';
import { TOO_LONG_HEAD_BYTES } from './lines.ts';

const cleanups = new WeakMap<TestContext, (() => Promise<void>)[]>();

/** A temp dir removed after the test, once everything registered with onCleanup has run (last first). */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-src-'));
  const list: (() => Promise<void>)[] = [];
  cleanups.set(t, list);
  t.after(async () => {
    for (const fn of list.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function onCleanup(t: TestContext, fn: () => Promise<void>): void {
  cleanups.get(t)!.push(fn);
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Harness {
  src: FileSource;
  reg: Registry;
  lines: RawLine[];
  texts: () => string[];
  logs: string[];
}

/** A source over `dir` with fast polling; lines are copied as they come (they may be buffer views). */
async function harness(
  t: TestContext,
  dir: string,
  input: Record<string, unknown> = {},
  extra: { onLines?: (l: RawLine[]) => void | Promise<void>; watch?: boolean; closeInactive?: number; reg?: Registry; start?: boolean } = {},
): Promise<Harness> {
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const reg = extra.reg ?? (await Registry.open(join(dir, 'data'), { logger }));
  const lines: RawLine[] = [];
  const src = new FileSource({
    input: InputSchema.parse({ paths: [join(dir, 'logs', '*.jsonl')], model: { name: 'm' }, scan_frequency: '100ms', ...input }),
    inputId: 'in1',
    registry: reg,
    logger,
    pollMin: 10,
    pollMax: 50,
    watch: extra.watch ?? false,
    closeInactive: extra.closeInactive,
    onLines: (ls) => {
      for (const l of ls) lines.push({ ...l, line: Buffer.from(l.line) });
      return extra.onLines?.(ls);
    },
  });
  onCleanup(t, async () => {
    await src.stop();
    await reg.close();
  });
  if (extra.start !== false) await src.start();
  return { src, reg, lines, logs, texts: () => lines.map((l) => l.line.toString()) };
}

function logsDir(dir: string): string {
  const d = join(dir, 'logs');
  mkdirSync(d, { recursive: true });
  return d;
}

test('source: growth and a line written in two appends', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'a.jsonl');
  writeFileSync(f, '{"n":1}\n{"n":');
  const h = await harness(t, dir);
  await until('first line', () => h.lines.length === 1);
  assert.deepEqual(h.texts(), ['{"n":1}']);
  appendFileSync(f, '2}\n{"n":3}\n');
  await until('three lines', () => h.lines.length === 3);
  assert.deepEqual(h.texts(), ['{"n":1}', '{"n":2}', '{"n":3}']);
  assert.deepEqual(h.lines.map((l) => [l.offset, l.end]), [[0, 8], [8, 16], [16, 24]]);
  assert.equal(new Set(h.lines.map((l) => l.key)).size, 1);
  assert.equal(h.lines[0]!.path, f);
});

test('source: \\r\\n line endings', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(logsDir(dir), 'w.jsonl'), '{"a":1}\r\n{"a":2}\r\n');
  const h = await harness(t, dir);
  await until('two lines', () => h.lines.length === 2);
  assert.deepEqual(h.texts(), ['{"a":1}', '{"a":2}']);
  assert.equal(h.lines[1]!.end, 18);
});

test('source: a new file matching the glob is found while running (file-system events, no scan for 60 s)', async (t) => {
  const dir = tempDir(t);
  const logs = logsDir(dir);
  const h = await harness(t, dir, { scan_frequency: '60s' }, { watch: true });
  writeFileSync(join(logs, 'ignored.txt'), 'no\n');
  writeFileSync(join(logs, 'new.jsonl'), 'hello\n');
  await until('the new file to be read', () => h.lines.length === 1);
  assert.deepEqual(h.texts(), ['hello']);
  // The watcher must also wake the harvester on growth: appends come in well before any scan.
  appendFileSync(join(logs, 'new.jsonl'), 'again\n');
  await until('the append', () => h.lines.length === 2);
});

test('source: a new file is found by the periodic scan alone (no file-system events)', async (t) => {
  const dir = tempDir(t);
  const h = await harness(t, dir, {}, { watch: false });
  const logs = logsDir(dir);
  writeFileSync(join(logs, 'late.jsonl'), 'x\n');
  await until('the scan to find the file', () => h.lines.length === 1);
});

test('source: rename rotation reads the old file to its end and the new one from 0, nothing lost or repeated', async (t) => {
  const dir = tempDir(t);
  const logs = logsDir(dir);
  const f = join(logs, 'p.jsonl');
  const writer = openSync(f, 'a');
  t.after(() => closeSync(writer));
  for (let i = 0; i < 100; i++) writeSync(writer, `{"i":${i}}\n`);
  const h = await harness(t, dir, { paths: [join(logs, '*.jsonl')] });
  await until('the first 100 lines', () => h.lines.length === 100);
  renameSync(f, join(logs, 'p.jsonl.1'));
  // The model server still holds the old descriptor for a moment after the rename.
  for (let i = 100; i < 150; i++) writeSync(writer, `{"i":${i}}\n`);
  writeFileSync(f, Array.from({ length: 30 }, (_, i) => `{"i":${150 + i}}\n`).join(''));
  await until('180 lines', () => h.lines.length >= 180);
  await new Promise((r) => setTimeout(r, 300)); // would-be duplicates have time to show up
  const got = h.texts().map((s) => JSON.parse(s).i as number).sort((a, b) => a - b);
  assert.deepEqual(got, Array.from({ length: 180 }, (_, i) => i));
  const keys = new Set(h.lines.map((l) => l.key));
  assert.equal(keys.size, 2, 'the rotated file and the new file are two identities');
  const newLines = h.lines.filter((l) => JSON.parse(l.line.toString()).i >= 150);
  assert.equal(newLines[0]!.offset, 0);
});

test('source: a rotated file that still matches the glob is followed to its new name, not read again', async (t) => {
  const dir = tempDir(t);
  const logs = logsDir(dir);
  const f = join(logs, 'p.jsonl');
  writeFileSync(f, 'a\nb\n');
  const h = await harness(t, dir, { paths: [join(logs, 'p.jsonl*')] });
  await until('two lines', () => h.lines.length === 2);
  renameSync(f, `${f}.1`);
  appendFileSync(`${f}.1`, 'c\n');
  writeFileSync(f, 'd\n');
  await until('four lines', () => h.lines.length === 4);
  await until('the rename to be noticed', () => h.src.openFiles().some((o) => o.path === `${f}.1`));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(h.texts().sort(), ['a', 'b', 'c', 'd']);
  const old = h.reg.get(h.lines[0]!.key)!;
  assert.equal(old.path, `${f}.1`);
});

test('source: copytruncate (truncated, then rewritten shorter) restarts at 0 under a new key', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'c.jsonl');
  writeFileSync(f, 'old-1\nold-2\nold-3\n');
  const h = await harness(t, dir);
  await until('old lines', () => h.lines.length === 3);
  truncateSync(f, 0);
  await new Promise((r) => setTimeout(r, 150));
  appendFileSync(f, 'new-1\n');
  await until('new line', () => h.lines.length === 4);
  assert.deepEqual(h.texts(), ['old-1', 'old-2', 'old-3', 'new-1']);
  assert.equal(h.lines[3]!.offset, 0);
  assert.notEqual(h.lines[3]!.key, h.lines[0]!.key, 'new content must not reuse the event ids of the old');
  // The old identity stays, without its inode, for a copy of the old content (copytruncate) to resume from.
  assert.equal(h.reg.get(h.lines[0]!.key)?.dev, '', 'the old identity no longer names the inode');
  const cur = h.reg.get(h.lines[3]!.key)!;
  assert.equal(h.reg.findByInode(cur.input, cur.dev, cur.ino).length, 1, 'one identity per inode');
  assert.equal(h.reg.get(h.lines[3]!.key)?.offset, 0);
});

test('source: killed after a truncation, before the registry flush: the new content comes back under the same key', async (t) => {
  // A registry that writes at most once a minute: after its first write, only what the source
  // persists itself is on disk when the "kill" comes.
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'c.jsonl');
  writeFileSync(f, 'old-1\nold-2\nold-3\n');
  const reg1 = await Registry.open(join(dir, 'data'), { flushInterval: 60_000 });
  const h1 = await harness(t, dir, {}, { reg: reg1 });
  await until('old lines', () => h1.lines.length === 3);
  truncateSync(f, 0);
  await new Promise((r) => setTimeout(r, 150));
  appendFileSync(f, 'new-1\n');
  await until('the new line', () => h1.lines.length === 4);
  const key = h1.lines[3]!.key;
  await h1.src.stop(); // the kill: the registry object is left as it was, never flushed again
  // The file grows past what its fingerprint covered when the truncation was seen.
  appendFileSync(f, 'new-2\n');
  const h2 = await harness(t, join(dir), {}, { reg: await Registry.open(join(dir, 'data'), { flushInterval: 60_000 }) });
  await until('the unacknowledged lines again', () => h2.lines.length === 2);
  assert.deepEqual(h2.texts(), ['new-1', 'new-2']);
  assert.deepEqual(h2.lines.map((l) => l.key), [key, key], 'the same key, so the same event ids: a sink sees the re-read lines as duplicates');
});

test('source: killed after opening a short new file, before the registry flush: its lines come back under the same key', async (t) => {
  const dir = tempDir(t);
  const reg1 = await Registry.open(join(dir, 'data'), { flushInterval: 60_000 });
  // Its one immediate write spent (on an entry of another input): the next waits a minute.
  reg1.upsert({ key: 'other', path: '/elsewhere', dev: '1', ino: '1', fingerprint: '', fingerprintLength: 0, input: 'other' });
  await reg1.flush();
  const h1 = await harness(t, dir, {}, { reg: reg1 });
  const f = join(logsDir(dir), 'n.jsonl');
  writeFileSync(f, 'a-1\n');
  await until('the first line (a young short file is opened after 2 s)', () => h1.lines.length === 1, 8000);
  const key = h1.lines[0]!.key;
  await h1.src.stop();
  appendFileSync(f, 'a-2\n');
  const h2 = await harness(t, dir, {}, { reg: await Registry.open(join(dir, 'data'), { flushInterval: 60_000 }) });
  await until('both lines', () => h2.lines.length === 2);
  assert.deepEqual(h2.lines.map((l) => l.key), [key, key]);
});

for (const pushback of [false, true]) {
  test(`source: copytruncate of a file shorter than fingerprint_bytes${pushback ? ' that grew while the pipeline pushed back' : ''} gives every line once`, async (t) => {
    const dir = tempDir(t);
    const f = join(logsDir(dir), 'c.jsonl');
    writeFileSync(f, 'a-01\n');
    // With pushback the pipeline holds the first batch (an outage): the fingerprint covers 5 bytes when the copy is taken.
    let release!: () => void, calls = 0;
    const held = new Promise<void>((r) => (release = r));
    const h = await harness(t, dir, { fingerprint_bytes: 64 }, { onLines: () => (pushback && ++calls === 1 ? held : undefined) });
    await until('the first line (a young short file is opened after 2 s)', () => h.lines.length === 1, 8000);
    const key = h.lines[0]!.key;
    const n = pushback ? 20 : 8; // 100 bytes, past the 64-byte fingerprint; or 40, still short
    appendFileSync(f, Array.from({ length: n - 1 }, (_, i) => `a-${String(i + 2).padStart(2, '0')}\n`).join(''));
    if (!pushback) await until('the appended lines', () => h.lines.length === 8);
    writeFileSync(join(dir, 'logs', 'c-1.jsonl'), readFileSync(f)); // copytruncate: the copy, then the truncate
    truncateSync(f, 0);
    await new Promise((r) => setTimeout(r, 300));
    release();
    await until('every line of the copy', () => new Set(h.texts()).size === n, 8000);
    await new Promise((r) => setTimeout(r, 2500)); // a copy read again from 0 (young: after 2 s) would show by now
    assert.deepEqual(h.texts(), Array.from({ length: n }, (_, i) => `a-${String(i + 1).padStart(2, '0')}`), 'each line once, in order: the copy is not read again from 0');
    assert.ok(h.lines.every((l) => l.key === key), "the copy goes on under the file's key (same event ids)");
    if (pushback) assert.ok(h.logs.some((l) => l.includes('c-1.jsonl is a copy of') && l.includes('starts with all')), 'the log says the copy was recognised (without pushback it was read to its end first: the copy holds nothing new, skipped silently)');
  });
}

for (const when of ['while reading', 'at open after a restart'] as const) {
  test(`source: a short file's longer fingerprint (${when}) is on disk before its lines are delivered: a copy taken while the agent is down is known`, async (t) => {
    const dir = tempDir(t);
    const f = join(logsDir(dir), 'c.jsonl');
    const run = async () => harness(t, dir, { fingerprint_bytes: 64 }, { reg: await Registry.open(join(dir, 'data'), { flushInterval: 60_000 /* at a "kill", only what the source persists is on disk */ }) });
    writeFileSync(f, ''); // empty: its first identity has a 0-byte fingerprint (a prefix of anything)
    const h1 = await run();
    await until('the empty file opened (a young short file is opened after 2 s)', () => h1.src.openFiles().length === 1, 8000);
    const key = h1.src.openFiles()[0]!.key;
    if (when === 'at open after a restart') await h1.src.stop(); // killed before the file had content
    appendFileSync(f, 'a-01\na-02\n');
    const h2 = when === 'while reading' ? h1 : await run();
    await until('the lines', () => h2.lines.length === 2);
    assert.deepEqual(h2.lines.map((l) => l.key), [key, key]);
    await h2.src.stop(); // killed after delivering them
    writeFileSync(join(dir, 'logs', 'c-1.jsonl'), readFileSync(f)); // copytruncate while the agent is down
    truncateSync(f, 0);
    const h3 = await run();
    await until('the copy read', () => h3.lines.length >= 2, 8000);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(h3.lines.map((l) => [l.line.toString(), l.key === key]), [['a-01', true], ['a-02', true]], "the copy goes on under the file's key: a sink sees its lines as the ones it has");
    appendFileSync(f, 'b-01\n');
    await until('the new line', () => h3.lines.length === 3, 8000);
    assert.deepEqual([h3.lines[2]!.line.toString(), h3.lines[2]!.key === key, h3.lines[2]!.offset], ['b-01', false, 0], 'the live file, empty again on its first inode: new lines, new ids (its identity key would repeat the first one)');
  });
}

test('source: truncated and rewritten longer than the read offset between two looks is caught by the fingerprint', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'c.jsonl');
  writeFileSync(f, 'first-a\n');
  const h = await harness(t, dir, { fingerprint_bytes: 16 });
  await until('first line', () => h.lines.length === 1);
  await new Promise((r) => setTimeout(r, 100)); // the harvester now waits at the end of the file
  // One write: the harvester never sees the file shorter than its offset.
  writeFileSync(f, 'second-1\nsecond-2\nsecond-3\n');
  await until('rewritten lines', () => h.lines.length === 4);
  assert.deepEqual(h.texts(), ['first-a', 'second-1', 'second-2', 'second-3']);
  assert.equal(h.lines[1]!.offset, 0);
});

test('source: a deleted file is read to its end, then closed', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'd.jsonl');
  writeFileSync(f, 'a\n');
  const before = (await filesOpen.get()).values[0]?.value ?? 0;
  const h = await harness(t, dir);
  await until('first line', () => h.lines.length === 1);
  assert.equal((await filesOpen.get()).values[0]?.value, before + 1);
  const fd = openSync(f, 'a');
  unlinkSync(f);
  writeSync(fd, 'b\nc\n');
  closeSync(fd);
  await until('the lines written after the unlink', () => h.lines.length === 3);
  await until('the harvester to close', () => h.src.openFiles().length === 0);
  assert.deepEqual(h.texts(), ['a', 'b', 'c']);
  assert.equal((await filesOpen.get()).values[0]?.value, before);
  assert.ok(h.logs.some((l) => l.includes('was removed')));
});

test('source: a 5 MB line is flagged tooLong with its offsets and the next line is intact', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'big.jsonl');
  const big = 'x'.repeat(5 * 1024 * 1024);
  writeFileSync(f, `first\n${big}\nnext\n`);
  const h = await harness(t, dir, { max_line_bytes: '64KiB' });
  await until('three lines', () => h.lines.length === 3);
  assert.deepEqual(h.lines.map((l) => l.tooLong), [false, true, false]);
  assert.equal(h.lines[1]!.line.length, TOO_LONG_HEAD_BYTES);
  assert.deepEqual([h.lines[1]!.offset, h.lines[1]!.end], [6, 6 + big.length + 1]);
  assert.equal(h.texts()[2], 'next');
});

test('source: resume starts at the acknowledged offset, not the read offset; the registry file holds only acked offsets', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'r.jsonl');
  writeFileSync(f, 'l1\nl2\nl3\nl4\nl5\n');
  const h1 = await harness(t, dir);
  await until('five lines', () => h1.lines.length === 5);
  // Known from the scan that opened the file, nothing acknowledged yet: the ground-truth join
  // waits on it at the start of a backfill (agent.ts, shipBusy).
  await until('the lag of the unacknowledged file', () => h1.src.lagBytes === 15);
  h1.reg.ack(h1.lines[1]!.key, h1.lines[1]!.end);
  // 15 bytes in the file, 6 acknowledged.
  const lag = async () => (await registryLagBytes.get()).values[0]?.value;
  const deadline = Date.now() + 3000;
  while ((await lag()) !== 9 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await lag(), 9);
  assert.equal(h1.src.lagBytes, 9);
  await h1.src.stop();
  await h1.reg.close();
  const onDisk = JSON.parse(readFileSync(join(dir, 'data', 'registry', 'filestream.json'), 'utf8'));
  assert.equal(onDisk.entries.length, 1);
  assert.equal(onDisk.entries[0].offset, 6);
  assert.equal(onDisk.entries[0].path, f);

  appendFileSync(f, 'l6\n');
  const h2 = await harness(t, dir);
  await until('the unacknowledged lines again', () => h2.lines.length === 4);
  assert.deepEqual(h2.texts(), ['l3', 'l4', 'l5', 'l6']);
  assert.equal(h2.lines[0]!.key, h1.lines[0]!.key, 'same file, same key across restarts');
});

test('source: an inode holding other content than the registry remembers (inode reuse) is read from 0', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'i.jsonl');
  writeFileSync(f, '{"first":"file","n":1}\n{"first":"file","n":2}\n');
  const h1 = await harness(t, dir);
  await until('two lines', () => h1.lines.length === 2);
  h1.reg.ack(h1.lines[1]!.key, h1.lines[1]!.end);
  await h1.src.stop();
  await h1.reg.close();
  const ino = statSync(f).ino;
  // Same dev+inode, other first bytes, longer than the old acked offset: a size check alone misses it.
  writeFileSync(f, '{"other":"content","n":1}\n{"other":"content","n":2}\n{"other":"content","n":3}\n');
  assert.equal(statSync(f).ino, ino);
  const h2 = await harness(t, dir);
  await until('all lines of the new content', () => h2.lines.length === 3);
  assert.equal(h2.lines[0]!.offset, 0);
  assert.notEqual(h2.lines[0]!.key, h1.lines[0]!.key);
  assert.ok(h2.logs.some((l) => l.includes('reuses the inode')));
});

test('source: a file that was shorter than fingerprint_bytes is resumed after it grew', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 's.jsonl');
  writeFileSync(f, 'tiny\n');
  const h1 = await harness(t, dir, { fingerprint_bytes: 64 });
  await until('one line', () => h1.lines.length === 1);
  h1.reg.ack(h1.lines[0]!.key, h1.lines[0]!.end);
  appendFileSync(f, 'x'.repeat(100) + '\n');
  await until('the long line', () => h1.lines.length === 2);
  await until('the fingerprint upgrade', () => h1.reg.get(h1.lines[0]!.key)?.fingerprintLength === 64);
  await h1.src.stop();
  await h1.reg.close();
  const h2 = await harness(t, dir, { fingerprint_bytes: 64 });
  await until('the unacked line', () => h2.lines.length === 1);
  assert.equal(h2.lines[0]!.offset, 5);
  assert.equal(h2.lines[0]!.key, h1.lines[0]!.key);
});

test('source: backpressure, an unsettled onLines promise stops reading until it settles', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'b.jsonl');
  writeFileSync(f, Array.from({ length: 20_000 }, (_, i) => `{"i":${i}}`).join('\n') + '\n');
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = await harness(t, dir, {}, { onLines: () => (++calls === 1 ? gate : undefined) });
  await until('the first batch', () => calls === 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(calls, 1, 'no read while the pipeline is full');
  const held = h.lines.length;
  assert.ok(held < 20_000);
  release();
  await until('everything', () => h.lines.length === 20_000);
  assert.ok(calls > 1);
});

test('source: lines the pipeline rejected are handed on again, not skipped', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(logsDir(dir), 'x.jsonl'), 'r1\nr2\n');
  let calls = 0;
  const h = await harness(t, dir, {}, { onLines: () => (++calls === 1 ? Promise.reject(new Error('queue closed')) : undefined) });
  await until('the lines again after the failure', () => h.lines.length === 4);
  assert.deepEqual(h.texts(), ['r1', 'r2', 'r1', 'r2']);
  assert.ok(h.logs.some((l) => l.includes('queue closed')));
});

test('source: start_position end skips what a new file already holds', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'e.jsonl');
  writeFileSync(f, 'before\n');
  const h = await harness(t, dir, { start_position: 'end' });
  await new Promise((r) => setTimeout(r, 100));
  appendFileSync(f, 'after\n');
  await until('the new line', () => h.lines.length === 1);
  assert.deepEqual(h.texts(), ['after']);
});

test('source: exclude leaves files out; two paths to one file (symlink) read it once', async (t) => {
  const dir = tempDir(t);
  const logs = logsDir(dir);
  writeFileSync(join(logs, 'keep.jsonl'), 'k\n');
  writeFileSync(join(logs, 'skip.old.jsonl'), 's\n');
  symlinkSync(join(logs, 'keep.jsonl'), join(logs, 'alias.jsonl'));
  const h = await harness(t, dir, { exclude: ['*.old.jsonl'] });
  await h.src.readToEnd();
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(h.texts(), ['k']);
});

test('source: one unreadable file is logged and the others are read', async (t) => {
  const dir = tempDir(t);
  const logs = logsDir(dir);
  writeFileSync(join(logs, 'good.jsonl'), 'g1\n');
  // Reading /proc/self/mem at offset 0 fails with EIO: a real read error without needing a non-root user.
  symlinkSync('/proc/self/mem', join(logs, 'bad.jsonl'));
  const h = await harness(t, dir);
  await until('the good file', () => h.lines.length === 1);
  appendFileSync(join(logs, 'good.jsonl'), 'g2\n');
  await until('the good file to go on', () => h.lines.length === 2);
  await until('a warning about the bad file', () => h.logs.some((l) => l.includes('bad.jsonl') && l.includes('"warn"')));
  // Retried at every scan but logged once.
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(h.logs.filter((l) => l.includes('cannot read') && l.includes('bad.jsonl')).length, 1);
});

test('source: readToEnd resolves once every matching file is read to its current end', async (t) => {
  const dir = tempDir(t);
  const logs = logsDir(dir);
  for (let f = 0; f < 5; f++) writeFileSync(join(logs, `f${f}.jsonl`), Array.from({ length: 1000 }, (_, i) => `{"f":${f},"i":${i}}`).join('\n') + '\npartial');
  const h = await harness(t, dir, {}, { start: false });
  const before = (await linesRead.get()).values.find((v) => v.labels.input === 'in1')?.value ?? 0;
  await h.src.readToEnd();
  assert.equal(h.lines.length, 5000);
  const after = (await linesRead.get()).values.find((v) => v.labels.input === 'in1')?.value ?? 0;
  assert.equal(after - before, 5000);
});

test('source: an inactive file is closed and reopened where it stopped when it grows', async (t) => {
  const dir = tempDir(t);
  const f = join(logsDir(dir), 'q.jsonl');
  writeFileSync(f, 'one\ntw');
  const h = await harness(t, dir, {}, { closeInactive: 100 });
  await until('first line', () => h.lines.length === 1);
  await until('the inactive close', () => h.src.openFiles().length === 0);
  appendFileSync(f, 'o\n');
  await until('the reopened file', () => h.lines.length === 2);
  assert.deepEqual(h.texts(), ['one', 'two']);
  assert.equal(h.lines[1]!.offset, 4);
  assert.equal(h.lines[1]!.key, h.lines[0]!.key);
});

test('source: stop is safe without start and safe twice', async (t) => {
  const dir = tempDir(t);
  const h = await harness(t, dir, {}, { start: false });
  await h.src.stop();
  await h.src.stop();
  await h.src.start(); // after stop: does nothing
  assert.equal(h.src.openFiles().length, 0);
});
