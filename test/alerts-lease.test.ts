/**
 * Two agents against the same real engine (optimistic concurrency with if_seq_no/if_primary_term):
 * one evaluates, the other stands by and takes over within the lease time when the first stops;
 * alerts are neither lost nor sent twice across the handover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigSchema, ElasticsearchOutputSchema } from '../agent/config/schema.ts';
import { EngineClient } from '../agent/engine/client.ts';
import { ElasticsearchLease } from '../agent/alerts/lease.ts';
import { AlertManager } from '../agent/alerts/manager.ts';
import { ElasticsearchStateStore } from '../agent/alerts/state-es.ts';
import { silentLogger } from '../agent/telemetry/logger.ts';
import { at, result } from './support/alert-results.ts';
import { testEngine } from './support/engine.ts';
import { startRecorder } from './support/http-recorder.ts';
import { workspace } from './support/workspace.ts';

const root = workspace('lease');

const TTL = 1000;

const engine = await testEngine();

function agent(prefix: string, name: string) {
  const client = new EngineClient(ElasticsearchOutputSchema.parse({ hosts: [engine.url], index_prefix: prefix }));
  const lease = new ElasticsearchLease({ client, index: `${prefix}-state`, holder: name, ttlMs: TTL, renewMs: 200, logger: silentLogger });
  return { name, client, lease };
}

async function leaseDoc(prefix: string): Promise<{ _seq_no: number; _source: { holder: string; expires_at: number; acquired_at: string } }> {
  return (await engine.request('GET', `/${prefix}-state/_doc/lease:rules`)).body;
}

test('only one agent leads; the other takes over within the lease time after a crash or a clean stop', async (t) => {
  const prefix = engine.prefix(t);
  const a = agent(prefix, 'agent-a');
  const b = agent(prefix, 'agent-b');
  try {
    await Promise.all([a.lease.start(), b.lease.start()]);
    let both = 0;
    let leaders = new Set<string>();
    for (let i = 0; i < 20; i++) {
      if (a.lease.isLeader() && b.lease.isLeader()) both += 1;
      if (a.lease.isLeader()) leaders.add('a');
      if (b.lease.isLeader()) leaders.add('b');
      await sleep(50);
    }
    assert.equal(both, 0, 'never two leaders at once');
    assert.equal(leaders.size, 1, 'the same agent kept the lease while renewing');
    const [first, second] = a.lease.isLeader() ? [a, b] : [b, a];
    const doc = await leaseDoc(prefix);
    assert.equal(doc._source.holder, first.name);
    assert.ok(doc._seq_no > 0, 'renewed in place (if_seq_no/if_primary_term)');

    // crash: no release, the lease must expire first
    const stoppedAt = Date.now();
    await first.lease.stop({ release: false });
    const crashed = (await leaseDoc(prefix))._source;
    while (!second.lease.isLeader() && Date.now() - stoppedAt < 5000) await sleep(20);
    assert.ok(second.lease.isLeader(), 'the standby took over');
    const taken = (await leaseDoc(prefix))._source;
    assert.equal(taken.holder, second.name);
    // Outcomes in the lease document, not elapsed time: taken once the crashed holder's lease expired.
    assert.ok(Date.parse(taken.acquired_at) >= crashed.expires_at, `taken at ${taken.acquired_at}, before the crashed lease expired (${new Date(crashed.expires_at).toISOString()})`);

    // clean stop releases: the first agent (restarted) takes over at its next attempt
    leaders = new Set();
    await first.lease.start();
    assert.equal(first.lease.isLeader(), false, 'stands by while the other holds the lease');
    const held = (await leaseDoc(prefix))._source;
    const releasedAt = Date.now();
    await second.lease.stop();
    while (!first.lease.isLeader() && Date.now() - releasedAt < 5000) await sleep(20);
    assert.ok(first.lease.isLeader());
    const retaken = (await leaseDoc(prefix))._source;
    assert.equal(retaken.holder, first.name);
    assert.ok(Date.parse(retaken.acquired_at) < held.expires_at, 'a released lease is taken without waiting out the ttl');
  } finally {
    await a.lease.stop();
    await b.lease.stop();
    await a.client.close();
    await b.client.close();
  }
});

test('two agents evaluating the same rule: one firing and one recovery message across a handover', async (t) => {
  const prefix = engine.prefix(t);
  const slack = await startRecorder();
  const agents = ['a', 'b'].map((n) => {
    const ag = agent(prefix, `agent-${n}`);
    const cfg = ConfigSchema.parse({
      output: { elasticsearch: { hosts: [engine.url], index_prefix: prefix } },
      path: { data: join(root, n) },
      notifiers: { 'slack-ml': { type: 'slack', webhook_url: `${slack.url}/hook`, retry: { initial_backoff: '10ms' } } },
    });
    let clock = at(0);
    const store = new ElasticsearchStateStore(ag.client, { indexPrefix: prefix });
    const mgr = new AlertManager({ config: cfg, store, logger: silentLogger, lease: ag.lease, now: () => clock });
    return { ...ag, mgr, setClock: (d: Date) => { clock = d; } };
  });
  const rules = [{ name: 'fraud-country', notify: ['slack-ml'] }];
  try {
    for (const ag of agents) {
      await ag.lease.start();
      await ag.mgr.start();
    }
    // Every agent evaluates every window; only the leader's manager acts.
    const tick = async (n: number, drifted: boolean) => {
      const reports = [];
      for (const ag of agents) {
        ag.setClock(at(n));
        reports.push(await ag.mgr.process([result(n, drifted)], rules));
      }
      assert.equal(reports.filter((r) => !r.standby).length <= 1, true, 'at most one agent acts per window');
      return reports;
    };
    await tick(0, false);
    await tick(1, true);
    const leader = agents.find((ag) => ag.lease.isLeader())!;
    const standby = agents.find((ag) => ag !== leader)!;
    await leader.mgr.drain(3000);
    await leader.mgr.stop();
    await leader.lease.stop({ release: false });
    const t0 = Date.now();
    while (!standby.lease.isLeader() && Date.now() - t0 < 5000) await sleep(20);
    await tick(2, true);
    await tick(3, false);
    assert.equal(await standby.mgr.drain(3000), true);
    await sleep(50);
    const texts = slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text.split(' ')[0]);
    assert.deepEqual(texts, ['FIRING', 'RECOVERED']);
  } finally {
    for (const ag of agents) {
      await ag.mgr.stop();
      await ag.lease.stop();
      await ag.client.close();
    }
    await slack.close();
  }
});
