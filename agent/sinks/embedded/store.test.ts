import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DriftbeatError } from '../../errors.ts';
import { migrate } from './schema.ts';
import { EmbeddedStoreError, isoFromMicros, openStore } from './store.ts';
import { workspace } from '../../../test/support/workspace.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

test('rows come back as plain values: numbers, ISO timestamps, lists, maps, structs, parsed JSON', async (t) => {
  const store = await openStore(join(workspace('store', t), 'a.duckdb'));
  t.after(() => store.close());
  const rows = await store.all(`SELECT
      42::BIGINT AS big, 9007199254740993::BIGINT AS huge, 1.5::DECIMAL(4,1) AS dec, 3::INTEGER AS int,
      TIMESTAMPTZ '2024-05-01 12:00:00.123456+00' AS tstz, TIMESTAMP '2024-05-01 12:00:00' AS ts,
      DATE '2024-05-01' AS d, ['a', 'b'] AS list, MAP {'k': 'v'} AS m, {'x': 1, 'y': 'z'} AS s,
      '{"a": [1, 2]}'::JSON AS j, NULL AS n, true AS b, 'text' AS str`);
  assert.deepEqual(rows, [
    {
      big: 42, huge: 9007199254740993n, dec: 1.5, int: 3,
      tstz: '2024-05-01T12:00:00.123456Z', ts: '2024-05-01T12:00:00.000Z',
      d: '2024-05-01', list: ['a', 'b'], m: { k: 'v' }, s: { x: 1, y: 'z' },
      j: { a: [1, 2] }, n: null, b: true, str: 'text',
    },
  ]);
});

test('parameters: positional and named, Dates and ISO strings compare as instants, arrays as lists', async (t) => {
  const store = await openStore(join(workspace('store', t), 'p.duckdb'));
  t.after(() => store.close());
  await store.ensure('CREATE TABLE IF NOT EXISTS ev (ts TIMESTAMPTZ, tags VARCHAR[])');
  assert.equal(await store.run('INSERT INTO ev VALUES ($1, $2), ($3, $4)', ['2024-05-01T10:00:00+02:00', ['a'], new Date('2024-05-01T09:00:00Z'), ['b', 'c']]), 2);
  const rows = await store.all('SELECT ts, tags FROM ev WHERE ts >= $from ORDER BY ts', { from: new Date('2024-05-01T08:00:00Z') });
  assert.deepEqual(rows, [
    { ts: '2024-05-01T08:00:00.000Z', tags: ['a'] },
    { ts: '2024-05-01T09:00:00.000Z', tags: ['b', 'c'] },
  ]);
});

test('the session time zone is UTC whatever the host zone is', async (t) => {
  const store = await openStore(join(workspace('store', t), 'tz.duckdb'));
  t.after(() => store.close());
  const [r] = await store.all<{ tz: string; day: string }>(
    `SELECT current_setting('TimeZone') AS tz, date_trunc('day', TIMESTAMPTZ '2024-05-01 23:30:00+00')::VARCHAR AS day`,
  );
  assert.deepEqual(r, { tz: 'UTC', day: '2024-05-01 00:00:00+00' });
});

test('one instance per file: two opens share it, including through a symlinked folder', async (t) => {
  const dir = workspace('store', t);
  symlinkSync(dir, join(dir, 'link'));
  const a = await openStore(join(dir, 'shared.duckdb'));
  const b = await openStore(join(dir, 'link', 'shared.duckdb'));
  await a.ensure('CREATE TABLE IF NOT EXISTS t (x INTEGER)');
  await a.run('INSERT INTO t VALUES (1)');
  assert.deepEqual(await b.all('SELECT x FROM t'), [{ x: 1 }]);
  await a.close();
  // b still works after a closed: the instance lives until its last handle closes.
  await b.run('INSERT INTO t VALUES (2)');
  assert.deepEqual(await b.all('SELECT sum(x) AS s FROM t'), [{ s: 3 }]);
  await b.close();
  await b.close();
  await assert.rejects(b.all('SELECT 1'), (e: unknown) => e instanceof EmbeddedStoreError && e.code === 'ERR_EMBEDDED_CLOSED');
  // Reopening after the last close works (the file lock was released).
  const c = await openStore(join(dir, 'shared.duckdb'));
  assert.deepEqual(await c.all('SELECT count(*) AS n FROM t'), [{ n: 2 }]);
  await c.close();
});

test('writes run in call order; a failed transaction rolls back and the queue goes on', async (t) => {
  const store = await openStore(join(workspace('store', t), 'q.duckdb'));
  t.after(() => store.close());
  await store.ensure('CREATE TABLE IF NOT EXISTS log (i INTEGER)');
  const writes = [];
  for (let i = 0; i < 20; i++) writes.push(store.run('INSERT INTO log SELECT coalesce(max(i), -1) + 1 FROM log'));
  const failed = store.transaction(async (tx) => {
    await tx.run('INSERT INTO log VALUES (1000)');
    throw new Error('boom');
  });
  writes.push(store.run('INSERT INTO log SELECT max(i) + 1 FROM log'));
  await assert.rejects(failed, /boom/);
  await Promise.all(writes);
  const rows = await store.all<{ i: number }>('SELECT i FROM log ORDER BY i');
  assert.deepEqual(rows.map((r) => r.i), Array.from({ length: 21 }, (_, i) => i));
});

test('SQL errors name the store file and the statement', async (t) => {
  const store = await openStore(join(workspace('store', t), 'e.duckdb'));
  t.after(() => store.close());
  await assert.rejects(store.all('SELECT * FROM no_such_table'), (e: unknown) => {
    assert.ok(e instanceof EmbeddedStoreError);
    assert.equal(e.code, 'ERR_EMBEDDED_SQL');
    assert.match(e.message, /e\.duckdb.*no_such_table/s);
    return true;
  });
});

test('schema versions: applied once, a newer file is refused with a clear message', async (t) => {
  const path = join(workspace('store', t), 'v.duckdb');
  const store = await openStore(path);
  const steps = ['CREATE TABLE alerts_v (k VARCHAR)', 'ALTER TABLE alerts_v ADD COLUMN n INTEGER'];
  assert.equal(await migrate(store, 'alerts', steps), 2);
  assert.equal(await migrate(store, 'alerts', steps), 2); // idempotent: the ALTER does not run twice
  const versions = await store.all(`SELECT component, version FROM schema_version ORDER BY component`);
  assert.deepEqual(versions, [
    { component: 'alerts', version: 2 },
    { component: 'documents', version: 2 },
  ]);
  await assert.rejects(migrate(store, 'alerts', steps.slice(0, 1)), (e: unknown) => {
    assert.ok(e instanceof DriftbeatError);
    assert.equal(e.code, 'ERR_EMBEDDED_SCHEMA_NEWER');
    assert.match(e.message, /alerts tables are at schema version 2, this driftbeat knows up to 1/);
    return true;
  });
  await store.close();
});

test('a file held by another process fails with ERR_EMBEDDED_LOCKED naming the file', async (t) => {
  const path = join(workspace('store', t), 'locked.duckdb');
  const store = await openStore(path);
  t.after(() => store.close());
  const script = `
    import { openStore } from ${JSON.stringify(join(here, 'store.ts'))};
    try { await openStore(process.argv[1]); console.log('opened'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout.trim()) as { code: string; message: string };
  assert.equal(out.code, 'ERR_EMBEDDED_LOCKED');
  assert.ok(out.message.includes(`"${path}" is locked by`), out.message);
  assert.match(out.message, /\(PID \d+\)/);
  assert.match(out.message, /another driftbeat .* may be running on this file/);
});

test('isoFromMicros keeps microseconds only when present, before 1970 too', () => {
  assert.equal(isoFromMicros(1_714_564_800_000_000n), '2024-05-01T12:00:00.000Z');
  assert.equal(isoFromMicros(1_714_564_800_123_456n), '2024-05-01T12:00:00.123456Z');
  assert.equal(isoFromMicros(-1n), '1969-12-31T23:59:59.999999Z');
});
