/**
 * Holding on to what has been seen: files found while the pipeline is backpressured are opened at
 * once and read in full even if they are renamed and deleted meanwhile; max_open_files bounds the
 * descriptors with a metric and a warning, and every file is still read.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputSchema } from '../../config/schema.ts';
import { createLogger } from '../../telemetry/logger.ts';
import { filesWaiting } from '../../telemetry/metrics.ts';
import { Registry } from './registry.ts';
import { FileSource, type RawLine } from './source.ts';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setup(t: TestContext, input: Record<string, unknown>, onLines: (l: RawLine[]) => void | Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-rot-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logLines.push(s) } });
  const reg = await Registry.open(join(dir, 'data'), { logger });
  const texts: string[] = [];
  const src = new FileSource({
    input: InputSchema.parse({ paths: [join(logs, '*.jsonl')], model: { name: 'm' }, scan_frequency: '50ms', fingerprint_bytes: 16, ...input }),
    inputId: 'in1',
    registry: reg,
    logger,
    pollMin: 10,
    pollMax: 50,
    watch: false,
    chunkBytes: 64,
    onLines: (ls) => {
      for (const l of ls) texts.push(l.line.toString());
      return onLines(ls);
    },
  });
  t.after(async () => {
    await src.stop();
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { logs, src, texts, logLines };
}

const lines = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}-line-${String(i).padStart(4, '0')}`);

test('rotation: a file found under backpressure is opened at once and read in full after it is renamed and deleted', async (t) => {
  let release!: () => void;
  let blocked: Promise<void> | undefined = new Promise((r) => (release = r));
  const h = await setup(t, {}, () => blocked);
  writeFileSync(join(h.logs, 'live.jsonl'), lines('a', 20).join('\n') + '\n');
  await h.src.start();
  await until('the first chunk handed on (now backpressured)', () => h.texts.length > 0);
  // While the pipeline waits: a new file appears, is rotated away (renamed out of the glob) and deleted.
  const rotated = join(h.logs, 'b.jsonl');
  writeFileSync(rotated, lines('b', 20).join('\n') + '\n');
  await until('b.jsonl opened while backpressured', () => h.src.openFiles().some((o) => o.path === rotated));
  renameSync(rotated, join(h.logs, 'b.jsonl.1'));
  unlinkSync(join(h.logs, 'b.jsonl.1'));
  blocked = undefined;
  release();
  await until('every line of both files', () => h.texts.length === 40);
  assert.deepEqual([...h.texts].sort(), [...lines('a', 20), ...lines('b', 20)].sort());
});

test('rotation: max_open_files bounds the descriptors, says so, and every file is still read', async (t) => {
  const h = await setup(t, { max_open_files: 2 }, () => undefined);
  for (const name of ['a', 'b', 'c', 'd', 'e']) writeFileSync(join(h.logs, `${name}.jsonl`), lines(name, 10).join('\n') + '\n');
  let maxOpen = 0;
  let sawWaiting = false;
  const watch = setInterval(async () => {
    maxOpen = Math.max(maxOpen, h.src.openFiles().length);
    if (((await filesWaiting.get()).values[0]?.value ?? 0) > 0) sawWaiting = true;
  }, 2);
  t.after(() => clearInterval(watch));
  await h.src.start();
  await until('every line of the five files', () => h.texts.length === 50);
  clearInterval(watch);
  assert.deepEqual([...h.texts].sort(), ['a', 'b', 'c', 'd', 'e'].flatMap((n) => lines(n, 10)).sort());
  assert.ok(maxOpen <= 2, `at most 2 files open at once (saw ${maxOpen})`);
  assert.ok(sawWaiting, 'driftbeat_files_waiting counted the files that waited');
  assert.ok(h.logLines.some((l) => l.includes('max_open_files (2) reached')), 'a warning says the bound was reached');
});

test('rotation: at start, a known file moved to a `rotated` folder is finished from its acknowledged offset', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-rot-'));
  const logs = join(dir, 'logs');
  const old = join(dir, 'old');
  mkdirSync(logs);
  mkdirSync(old);
  const all = lines('p', 40);
  writeFileSync(join(logs, 'p.jsonl'), all.join('\n') + '\n');
  const input = { paths: [join(logs, '*.jsonl')], rotated: [join(old, '*')], model: { name: 'm' }, scan_frequency: '50ms', fingerprint_bytes: 16 };
  // First run: read the file, acknowledge the first 10 lines only, stop (as a kill would leave it).
  const reg1 = await Registry.open(join(dir, 'data'));
  const firstAcked: RawLine[] = [];
  const src1 = new FileSource({ input: InputSchema.parse(input), inputId: 'in1', registry: reg1, watch: false, pollMin: 10, pollMax: 50, onLines: (ls) => { for (const l of ls) if (firstAcked.length < 10) firstAcked.push(l); } });
  await src1.readToEnd();
  await src1.stop();
  reg1.ack(firstAcked[9]!.key, firstAcked[9]!.end);
  await reg1.close();
  // While it was down, rotation moved the file to another folder (out of `paths`).
  renameSync(join(logs, 'p.jsonl'), join(old, 'p.jsonl.1'));
  const logLines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void logLines.push(s) } });
  const reg2 = await Registry.open(join(dir, 'data'), { logger });
  const texts: string[] = [];
  const src2 = new FileSource({ input: InputSchema.parse(input), inputId: 'in1', registry: reg2, logger, watch: false, pollMin: 10, pollMax: 50, onLines: (ls) => { for (const l of ls) texts.push(l.line.toString()); } });
  t.after(async () => {
    await src2.stop();
    await reg2.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await src2.readToEnd();
  assert.deepEqual(texts, all.slice(10), 'the 30 unacknowledged lines, once');
  assert.ok(logLines.some((l) => l.includes(`resuming ${join(old, 'p.jsonl.1')} (renamed from ${join(logs, 'p.jsonl')})`)), logLines.join(''));
});
