/**
 * Copies of a file (a `.gz` of it, a copytruncate copy) are read as its continuation, never as new
 * files: one scan that finds a file and its copy at once reads every line once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputSchema } from '../../config/schema.ts';
import { Registry } from './registry.ts';
import { FileSource } from './source.ts';
import { Head } from './identity.ts';
import { copyOf, type StartContext } from './start.ts';
import { silentLogger } from '../../telemetry/logger.ts';

const lines = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}-line-${String(i).padStart(4, '0')}`);

for (const copy of ['gz', 'plain'] as const) {
  test(`copies: a file and its ${copy === 'gz' ? '.gz' : 'copy'}, both new to the registry and found by one scan, give every line once`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'driftbeat-copies-'));
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const reg = await Registry.open(join(dir, 'data'));
    const got: string[] = [];
    const src = source(dir, 'pred.jsonl*', reg, got);
    t.after(async () => {
      await src.stop();
      await reg.close();
      rmSync(dir, { recursive: true, force: true });
    });
    // What a rotation leaves while compress (or copytruncate's copy) runs: the file and its copy.
    const text = lines('a', 200).join('\n') + '\n';
    writeFileSync(join(logs, 'pred.jsonl.1'), text);
    writeFileSync(join(logs, copy === 'gz' ? 'pred.jsonl.1.gz' : 'pred.jsonl.2'), copy === 'gz' ? gzipSync(text) : text);
    await src.readToEnd();
    const twice = got.filter((l, i) => got.indexOf(l) !== i);
    assert.deepEqual({ lines: got.length, twice: twice.slice(0, 3) }, { lines: 200, twice: [] });
  });
}

/** A source over `<dir>/logs` matching `glob`, not started (readToEnd starts it); lines are collected as text. The test stops it. */
function source(dir: string, glob: string, reg: Registry, got: string[]): FileSource {
  return new FileSource({
    input: InputSchema.parse({ paths: [join(dir, 'logs', glob)], model: { name: 'm' }, scan_frequency: '50ms', fingerprint_bytes: 64 }),
    inputId: 'in1',
    registry: reg,
    pollMin: 10,
    pollMax: 50,
    watch: false,
    onLines: (ls) => {
      for (const l of ls) got.push(l.line.toString());
    },
  });
}

test('copies: a file shorter than fingerprint_bytes, read, then renamed and compressed (the plain file deleted): its .gz is not read again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-copies-'));
  mkdirSync(join(dir, 'logs'));
  const reg = await Registry.open(join(dir, 'data'));
  const got: string[] = [];
  const src = source(dir, 'pred.jsonl*', reg, got);
  t.after(async () => {
    await src.stop();
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const live = join(dir, 'logs', 'pred.jsonl');
  const text = lines('s', 3).join('\n') + '\n'; // 42 bytes: a partial fingerprint
  writeFileSync(live, text);
  await src.readToEnd();
  assert.equal(got.length, 3);
  // logrotate create + compress: rename, gzip the renamed file, delete it.
  renameSync(live, `${live}.1`);
  writeFileSync(`${live}.1.gz`, gzipSync(text));
  unlinkSync(`${live}.1`);
  await src.readToEnd();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(got, lines('s', 3), 'each line once');
});

test('copies: at start, a short file compressed while the agent was down is finished from its .gz', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-copies-'));
  mkdirSync(join(dir, 'logs'));
  const live = join(dir, 'logs', 'pred.jsonl');
  const text = lines('r', 3).join('\n') + '\n';
  writeFileSync(live, text);
  // First run: every line read, only the first acknowledged (the rest was in flight at the kill).
  const reg1 = await Registry.open(join(dir, 'data'));
  const first: string[] = [];
  const src1 = source(dir, 'pred.jsonl', reg1, first);
  await src1.readToEnd();
  await src1.stop();
  const e = reg1.list('in1')[0]!;
  reg1.ack(e.key, text.indexOf('\n') + 1);
  await reg1.close();
  assert.equal(first.length, 3);
  // While the agent is down: rotated, compressed, the plain file deleted. `paths` does not match the .gz.
  renameSync(live, `${live}.1`);
  writeFileSync(`${live}.1.gz`, gzipSync(text));
  unlinkSync(`${live}.1`);
  const reg2 = await Registry.open(join(dir, 'data'));
  const again: string[] = [];
  const src2 = source(dir, 'pred.jsonl', reg2, again);
  t.after(async () => {
    await src2.stop();
    await reg2.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await src2.readToEnd();
  assert.deepEqual(again, lines('r', 3).slice(1), 'the two unacknowledged lines, from the .gz');
});

test('copies: a fingerprint taken of fewer bytes vouches only for those bytes; an empty one for none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-copies-'));
  const reg = await Registry.open(join(dir, 'data'));
  t.after(async () => {
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const input = InputSchema.parse({ paths: [join(dir, '*.jsonl')], model: { name: 'm' }, fingerprint_bytes: 64 });
  const readTo = new Map<string, number>();
  const c: StartContext = { input, inputId: 'in1', registry: reg, logger: silentLogger, known: new Map(), readTo, harvesters: new Map() };
  const copy = new Head(Buffer.from(lines('c', 8).join('\n') + '\n')); // 96 bytes: a whole fingerprint
  const first = copy.bytes.subarray(0, 24); // the two lines the known file had when read
  reg.upsert({ key: 'short', path: '/x/pred.jsonl', dev: '', ino: '', ...fp(first), input: 'in1', offset: 12 });
  readTo.set('short', 24);
  assert.deepEqual(copyOf(c, copy, '/x/copy.jsonl', 96), { kind: 'read', key: 'short', offset: 24, fingerprint: copy.fingerprint, size: 96 });
  // Read past the bytes its fingerprint covers (it could not be upgraded): the copy is read from 0.
  readTo.set('short', 36);
  assert.equal(copyOf(c, copy, '/x/copy.jsonl', 96), undefined);
  // Still being read under that key: the copy waits.
  readTo.set('short', 24);
  assert.deepEqual(copyOf({ ...c, harvesters: new Map([['1:2', { key: 'short' }]]) }, copy, '/x/copy.jsonl', 96), { kind: 'defer' });
  // An empty file's fingerprint is a prefix of anything: never a match.
  reg.remove('short');
  reg.upsert({ key: 'empty', path: '/x/pred.jsonl', dev: '', ino: '', ...fp(Buffer.alloc(0)), input: 'in1', offset: 0 });
  assert.equal(copyOf(c, copy, '/x/copy.jsonl', 96), undefined);
  // Other first bytes: no match.
  reg.upsert({ key: 'other', path: '/x/b.jsonl', dev: '', ino: '', ...fp(Buffer.from('c-line-0000\nX')), input: 'in1', offset: 0 });
  assert.equal(copyOf(c, copy, '/x/copy.jsonl', 96), undefined);
});

function fp(b: Buffer): { fingerprint: string; fingerprintLength: number } {
  const f = new Head(b).fingerprint;
  return { fingerprint: f.hash, fingerprintLength: f.length };
}
