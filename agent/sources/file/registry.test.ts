import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DriftbeatError } from '../../errors.ts';
import { Registry } from './registry.ts';
import { workspace } from '../../../test/support/workspace.ts';

const entry = (key: string, input = 'in1') => ({
  key, path: `/var/log/${key}.jsonl`, dev: '2049', ino: '123', fingerprint: 'ab', fingerprintLength: 2, input,
});

function onDisk(dir: string): { version: number; entries: { key: string; offset: number }[] } {
  return JSON.parse(readFileSync(join(dir, 'registry', 'filestream.json'), 'utf8'));
}

async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('registry: acks only move forward, and a reopened registry has the acked offsets', async (t) => {
  const dir = workspace('reg', t);
  const r = await Registry.open(dir);
  r.upsert(entry('k1'));
  r.ack('k1', 100);
  r.ack('k1', 40); // a late ack of an earlier batch
  r.ack('unknown', 5);
  assert.equal(r.get('k1')!.offset, 100);
  await r.close();
  const r2 = await Registry.open(dir);
  assert.equal(r2.get('k1')!.offset, 100);
  assert.equal(r2.get('unknown'), undefined);
  assert.deepEqual(r2.findByInode('in1', '2049', '123').map((e) => e.key), ['k1']);
  assert.deepEqual(r2.findByInode('other', '2049', '123'), []);
  await r2.close();
});

test('registry: upsert of a known key keeps its acked offset', async (t) => {
  const r = await Registry.open(workspace('reg', t));
  r.upsert({ ...entry('k'), offset: 0 });
  r.ack('k', 50);
  r.upsert({ ...entry('k'), fingerprint: 'abcd', fingerprintLength: 4, offset: 0 });
  assert.equal(r.get('k')!.offset, 50);
  assert.equal(r.get('k')!.fingerprintLength, 4);
  await r.close();
});

test('registry: many acks are coalesced into at most one write per flush interval', async (t) => {
  const dir = workspace('reg', t);
  const r = await Registry.open(dir, { flushInterval: 300 });
  r.upsert(entry('k'));
  await r.flush();
  const file = join(dir, 'registry', 'filestream.json');
  const t0 = statSync(file).mtimeMs;
  for (let i = 1; i <= 1000; i++) r.ack('k', i);
  // Not written immediately: the interval has not passed since the last write.
  assert.equal(onDisk(dir).entries[0]!.offset, 0);
  await until('the coalesced write', () => onDisk(dir).entries[0]!.offset === 1000);
  assert.ok(statSync(file).mtimeMs >= t0);
  await r.close();
});

test('registry: writes are atomic, no temp file is left and the file is always whole JSON', async (t) => {
  const dir = workspace('reg', t);
  const r = await Registry.open(dir, { flushInterval: 0 });
  for (let i = 0; i < 50; i++) r.upsert(entry(`k${i}`));
  const reads: number[] = [];
  for (let i = 1; i <= 200; i++) {
    r.ack(`k${i % 50}`, i);
    if (i % 20 === 0) await r.flush();
    if (existsSync(join(dir, 'registry', 'filestream.json'))) reads.push(onDisk(dir).entries.length); // parse never fails
  }
  await r.close();
  assert.ok(reads.every((n) => n === 50));
  assert.deepEqual(readdirSync(join(dir, 'registry')), ['filestream.json']);
  assert.equal(onDisk(dir).version, 1);
});

test('registry: entries not updated for clean_after are removed, unless kept or of another input', async (t) => {
  const dir = workspace('reg', t);
  let now = Date.parse('2024-01-01T00:00:00Z');
  const r = await Registry.open(dir, { cleanAfter: 3600_000, now: () => now });
  r.upsert(entry('old'));
  r.upsert(entry('kept'));
  r.upsert(entry('other', 'in2'));
  now += 2 * 3600_000;
  r.upsert(entry('fresh'));
  assert.equal(r.cleanup(new Set(['kept']), 'in1'), 1);
  assert.deepEqual(r.list().map((e) => e.key).sort(), ['fresh', 'kept', 'other']);
  await r.close();
});

test('registry: a damaged file is refused with a message that says what to do', async (t) => {
  const dir = workspace('reg', t);
  mkdirSync(join(dir, 'registry'));
  writeFileSync(join(dir, 'registry', 'filestream.json'), '{"entries": [');
  await assert.rejects(Registry.open(dir), (err: unknown) => {
    assert.ok(err instanceof DriftbeatError);
    assert.equal(err.code, 'ERR_REGISTRY_CORRUPT');
    assert.match(err.message, /filestream\.json is not valid JSON; fix or delete it/);
    return true;
  });
});

test('registry: close is safe twice', async (t) => {
  const r = await Registry.open(workspace('reg', t));
  r.upsert(entry('k'));
  await r.close();
  await r.close();
});
