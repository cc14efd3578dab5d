/**
 * Issue 11 item 6, measured on the real engine: `_bulk` `create` answers 409 only against the data
 * stream's write index. After a rollover, a line sent again is indexed a second time, in the new
 * write index. README "What the agent guarantees" states the window; this test asserts exactly it.
 *
 * "Sent again" is made as the agent makes it after a crash: the engine has the lines, the registry
 * does not (the agent died before its registry write); here the registry file is removed between
 * two runs of the real command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogWriter, startAgent } from './support/agent-process.ts';
import { testEngine } from './support/engine.ts';

test('a line re-sent after a rollover is indexed again in the new write index; without a rollover it answers 409', { timeout: 120_000 }, async (t) => {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-rollover-'));
  const stream = `${prefix}-predictions-fraud`;
  try {
    mkdirSync(join(dir, 'logs'));
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id }
output:
  elasticsearch: { hosts: ["${engine.url}"], index_prefix: ${prefix} }
path: { data: "${dir}/data" }
http: { enabled: false }
`);
    const run = async (args: string[]) => {
      const a = startAgent([...args, '-c', cfg]);
      assert.equal(await a.exited, 0, a.output());
    };
    /** The agent died after the engine indexed, before its registry write: everything is sent again. */
    const resend = async () => {
      rmSync(join(dir, 'data', 'registry'), { recursive: true, force: true });
      await run(['run', '--once']);
    };
    /** Copies per event id, and the backing indices holding them. */
    const copies = async () => {
      await engine.request('POST', `/${stream}/_refresh`);
      const r = await engine.request('POST', `/${stream}/_search`, {
        size: 0,
        aggs: { per_id: { terms: { field: 'event.id', size: 1000 }, aggs: { where: { terms: { field: '_index' } } } } },
      });
      const buckets = r.body.aggregations.per_id.buckets as { key: string; doc_count: number; where: { buckets: { key: string }[] } }[];
      return new Map(buckets.map((b) => [b.key, { n: b.doc_count, indices: b.where.buckets.map((w) => w.key).sort() }]));
    };

    await run(['setup', '--templates']);
    const log = new LogWriter(join(dir, 'logs', 'preds.jsonl'));
    log.write(200);
    await run(['run', '--once']);
    assert.equal((await copies()).size, 200);

    // Sent again with no rollover in between: every line answers 409, nothing is indexed twice.
    await resend();
    const before = await copies();
    assert.deepEqual([...before.values()].filter((c) => c.n !== 1), []);
    const first = before.get('req-0')!.indices[0]!;

    // The stream rolls over (ILM/ISM conditions, or by hand), then the same lines are sent again.
    const rolled = await engine.request('POST', `/${stream}/_rollover`);
    assert.equal(rolled.body.rolled_over, true);
    await resend();
    const after = await copies();
    assert.equal(after.size, 200);
    assert.deepEqual([...after.values()].filter((c) => c.n !== 2), [], 'each re-sent line is indexed a second time');
    assert.deepEqual(after.get('req-0')!.indices, [first, rolled.body.new_index]);

    // Only once per rollover: sent again into the same write index, they answer 409; lines first
    // written after the rollover are never duplicated.
    log.write(50);
    await run(['run', '--once']);
    await resend();
    const last = await copies();
    assert.equal(last.size, 250);
    assert.equal([...last.values()].filter((c) => c.n === 2).length, 200);
    assert.equal([...last.values()].filter((c) => c.n === 1).length, 50);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
