import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeedbackEvent } from './feedback.ts';
import { AckGate } from './joiner.ts';
import { PendingSet } from './pending.ts';

const ev = (id: string, offset: number, ts = 1000, key = 'f1'): FeedbackEvent => ({ id, actual: { value: 1 }, ts, tsFromRecord: true, key, path: '/l.jsonl', offset });

test('the ack gate never lets the registry pass a waiting outcome, and moves on once it is settled', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-pending-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pending = new PendingSet(join(dir, 'p.json'), 10);
  const acks: [string, number][] = [];
  const gate = new AckGate(pending, (k, e) => acks.push([k, e]));
  gate.offer('f1', 100);
  pending.add(ev('a', 150), 0);
  pending.add(ev('b', 300), 0);
  gate.offer('f1', 400);
  gate.offer('f2', 50);
  assert.deepEqual(acks, [['f1', 100], ['f1', 150], ['f2', 50]]);
  pending.delete('a');
  gate.forward();
  assert.deepEqual(acks.at(-1), ['f1', 300]);
  pending.delete('b');
  gate.forward();
  assert.deepEqual(acks.at(-1), ['f1', 400]);
  gate.forward();
  assert.equal(acks.length, 5, 'nothing is acknowledged twice');
});

test('pending outcomes survive a restart with their first-seen time; the later label time wins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-pending-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'p.json');
  const a = new PendingSet(file, 2);
  a.add(ev('x', 10, 5000), 111);
  assert.equal(a.add(ev('x', 20, 4000), 222).event.offset, 10, 'an older label does not replace a newer one');
  a.add(ev('y', 30), 333);
  assert.ok(a.full);
  await a.close();
  const b = new PendingSet(file, 2);
  assert.deepEqual(b.entries().map((e) => [e.event.id, e.firstSeen]), [['x', 111], ['y', 333]]);
  // The same line read again after the restart keeps its clock.
  assert.equal(b.add(ev('y', 30), 999).firstSeen, 333);
  assert.equal(b.minOffset('f1'), 10);
  await b.close();
});
