import { test } from 'node:test';
import assert from 'node:assert/strict';
import { step, type AlertState } from './lifecycle.ts';
import { at, result } from '../../test/support/alert-results.ts';

/** Runs a sequence of drifted/ok windows and returns the messages sent in order. */
function run(seq: boolean[], policy: Parameters<typeof step>[3] = {}, start?: AlertState) {
  let s = start;
  const messages: string[] = [];
  seq.forEach((d, i) => {
    const o = step(s, result(i, d), at(i), policy);
    s = o.state;
    for (const t of o.transitions) if (t.message) messages.push(`${i}:${t.message}`);
  });
  return { state: s!, messages };
}

test('one firing message, then one recovery message', () => {
  const { state, messages } = run([false, true, true, true, false, false]);
  assert.deepEqual(messages, ['1:firing', '4:recovered']);
  assert.equal(state.status, 'ok');
});

test('for: 3 fires only after three consecutive breaches', () => {
  const { messages } = run([true, true, false, true, true, true, true], { for: 3 });
  assert.deepEqual(messages, ['5:firing']);
});

test('pending alerts that clear send nothing', () => {
  const { state, messages } = run([true, false], { for: 2 });
  assert.deepEqual(messages, []);
  assert.equal(state.status, 'ok');
});

test('realert re-sends every interval while firing', () => {
  const { messages } = run([true, true, true, true, true, false], { realertMs: 2 * 3_600_000 });
  assert.deepEqual(messages, ['0:firing', '2:realert', '4:realert', '5:recovered']);
});

test('no_data and error neither recover nor fire', () => {
  let s = step(undefined, result(0, true), at(0)).state;
  const o = step(s, result(1, false, { status: 'no_data', drifted: false }), at(1));
  assert.equal(o.state.status, 'firing');
  assert.deepEqual(o.transitions, []);
  s = step(o.state, result(2, false, { status: 'error', drifted: false, error: 'boom' }), at(2)).state;
  assert.equal(s.status, 'firing');
});

test('a window already applied is ignored (replay after restart)', () => {
  const first = step(undefined, result(0, true), at(0));
  const again = step(first.state, result(0, true), at(0));
  assert.deepEqual(again.transitions, []);
  const older = step(first.state, result(0, false), at(1));
  assert.equal(older.state.status, 'firing');
});

test('silenced: firing is recorded but not sent; announced when the silence ends while still firing', () => {
  const until = at(1).toISOString();
  let o = step(undefined, result(0, true), at(0), { silencedUntil: until });
  assert.equal(o.state.status, 'firing');
  assert.equal(o.transitions[0]!.message, undefined);
  assert.equal(o.transitions[0]!.silenced, true);
  o = step(o.state, result(1, true), at(1), { silencedUntil: until });
  assert.deepEqual(o.transitions.map((t) => t.message), ['firing']);
  o = step(o.state, result(2, false), at(2));
  assert.deepEqual(o.transitions.map((t) => t.message), ['recovered']);
});

test('a silenced episode that recovers sends no recovery', () => {
  const until = at(5).toISOString();
  const { messages } = run([true, true, false], { silencedUntil: until });
  assert.deepEqual(messages, []);
});

test('the recovery keeps the last breach for the message', () => {
  const { state } = run([true, false]);
  assert.equal(state.lastBreach?.value, 0.125);
  assert.equal(state.status, 'recovered');
});
