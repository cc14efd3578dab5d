/**
 * Rotation with the real logrotate (/usr/sbin/logrotate, its own config and state file in the test's
 * folder) while a writer appends, an outage spans several rotations, and the agent's own node
 * process is SIGKILLed at seeded random moments (restarted after each). Two agents read the same
 * folder, each with its own path.data: one ships to the real engine through the fault proxy (the
 * outage: 503, then refused connections, on _bulk), the other to the embedded store (the outage:
 * the agent stays down across several rotations). The index template is installed first
 * (`driftbeat setup --templates`), as the README asks before a first run.
 *
 * What must hold: every line logrotate kept (the rotated files, .gz included, and the live file)
 * is delivered exactly once, counted by a sequence number inside the line (not by the event id,
 * so a line read twice under two identities shows up). No `fields.id`: ids are file identity +
 * offset, and the sinks' own dedupe cannot hide a double read.
 *
 * copytruncate: lines written between logrotate's copy and its truncate are in no file; no
 * shipper can read them unless it read them from the live file before the truncate. They are
 * counted (and reported in the test's diagnostic), and everything else is asserted.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startAgent, type AgentProcess } from './support/agent-process.ts';
import { embeddedRowsOf, embeddedSeqs, engineSeqs, seqLine as line, tally } from './support/delivered.ts';
import { testEngine } from './support/engine.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { mulberry32 } from '../demo/generate.ts';

const LOGROTATE = '/usr/sbin/logrotate';
const ROTATIONS = 10;
const WRITE_EVERY_MS = 100;
const LINES_PER_WRITE = 10;
const KILLS = 20;

/** A seeded random stream (demo/generate.ts's), so a failing run can be replayed. */
const rng = mulberry32;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logrotate(conf: string, state: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(LOGROTATE, ['-f', '-s', state, conf], (err, _out, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        return reject(new Error(`${LOGROTATE} is not installed: these tests run the real logrotate (Debian: apt-get install logrotate, as root; .ci/run installs it)`));
      }
      // `create` racing the writer's own re-create of the path is reported and harmless: the lines are in the file.
      if (err && !/File exists/.test(stderr)) reject(new Error(`logrotate failed: ${stderr}`));
      else resolve();
    });
  });
}

/** Sequence numbers of every line in the folder: plain files and .gz (what logrotate kept). */
function keptSeqs(logs: string): Set<number> {
  const kept = new Set<number>();
  for (const name of readdirSync(logs)) {
    let buf = readFileSync(join(logs, name));
    if (name.endsWith('.gz')) buf = gunzipSync(buf);
    for (const l of buf.toString('utf8').split('\n')) if (l) kept.add((JSON.parse(l) as { features: { seq: number } }).features.seq);
  }
  return kept;
}

interface Killer {
  kills: number;
  /** The test ended (or timed out): stop restarting. */
  signal: AbortSignal;
  /** Agents running now, killed by PID when the test ends. */
  running: Set<AgentProcess>;
  /** Keep the agent down (the embedded outage): the running one is killed and not restarted. */
  down: boolean;
  /** The rotations are over: until then the kills go on past `kills` (the outage waits to be met). */
  rotated: boolean;
  /** Bytes the agent's registry says are acknowledged (grows when it delivers). */
  acked: () => number;
}

/** Sum of the acknowledged offsets in an agent's registry (0 before its first write). */
function ackedBytes(dataDir: string): number {
  try {
    const reg = JSON.parse(readFileSync(join(dataDir, 'registry', 'filestream.json'), 'utf8')) as { entries: { offset: number }[] };
    return reg.entries.reduce((a, e) => a + e.offset, 0);
  } catch {
    return 0;
  }
}

/**
 * Runs the agent and SIGKILLs its node process at a random moment, `kills` times, restarting after
 * each: one kill in five while it starts (before it logged "driftbeat started"), the others up to
 * 1 s after its registry first moved in this life (it delivered something), while it reads and
 * ships. Counting from its first delivery rather than from its start keeps the kills among
 * deliveries on a loaded machine too, where an agent can take seconds to send its first batch;
 * during an outage nothing is delivered, and the kill comes up to 1 s after 2 s of waiting.
 */
async function killLoop(name: string, args: string[], rand: () => number, k: Killer, kills: number): Promise<void> {
  while (k.kills < kills || !k.rotated) {
    while (k.down && !k.signal.aborted) await sleep(50);
    if (k.signal.aborted) return;
    const agent: AgentProcess = startAgent(args);
    k.running.add(agent);
    const duringStart = rand() < 0.2;
    const after = rand() * 1000;
    const t0 = Date.now();
    const ackedAtStart = k.acked();
    let startedAt = 0;
    let movedAt = 0;
    for (let i = 0; i < 5000 && !k.down && !k.signal.aborted; i++) {
      if (agent.child.exitCode !== null) throw new Error(`${name} agent exited by itself (${agent.child.exitCode}):\n${agent.output()}`);
      if (!startedAt && agent.output().includes('driftbeat started')) startedAt = Date.now();
      if (startedAt && !movedAt && (k.acked() > ackedAtStart || Date.now() - startedAt > 2000)) movedAt = Date.now();
      if (duringStart ? Date.now() - t0 > after / 3 || startedAt : movedAt && Date.now() - movedAt > after) break;
      await sleep(20);
    }
    agent.kill('SIGKILL');
    const how = await agent.exited;
    k.running.delete(agent);
    if (how !== 'SIGKILL') throw new Error(`${name} agent exited with ${how} instead of being killed:\n${agent.output()}`);
    k.kills++;
  }
}

async function until(what: string, cond: () => boolean, signal: AbortSignal, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (signal.aborted) throw new Error(`aborted waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** How fast the writer goes and what the agents hold: the default, or every file shorter than its fingerprint. */
interface Pace {
  linesPerWrite: number;
  /** fingerprint_bytes of the input (default 1 KiB). */
  fingerprintBytes?: number;
  queueBytes: string;
}

const FAST: Pace = { linesPerWrite: LINES_PER_WRITE, queueBytes: '1MiB' };
/**
 * ~2.3 KB/s and a 64 KiB fingerprint: every file is rotated shorter than its fingerprint, so every
 * identity is a partial one (a copy is known by its first bytes only up to what was read); a
 * 16 KiB queue so that the engine outage holds the harvesters back while the files grow.
 */
const SHORT: Pace = { linesPerWrite: 2, fingerprintBytes: 65536, queueBytes: '16KiB' };

function config(dir: string, data: string, output: string, pace: Pace = FAST): string {
  const file = join(dir, `${data}.yml`);
  writeFileSync(file, `
inputs:
  - paths: ["${dir}/logs/pred.jsonl*"]
    model: { name: fraud }
    scan_frequency: 200ms${pace.fingerprintBytes ? `\n    fingerprint_bytes: ${pace.fingerprintBytes}` : ''}
output:
${output}
path: { data: "${dir}/${data}" }
queue: { max_bytes: ${pace.queueBytes} }
http: { enabled: false }
logging: { level: info }
`);
  return file;
}

/**
 * Runs the ROTATIONS logrotate passes, one every two engine-agent kills, and the outages between
 * them: the engine answers 503 to _bulk over rotations 3-5 and refuses over 6-8; the embedded agent
 * stays down over rotations 4-6.
 */
async function rotateWithOutages(c: { proxy: FaultProxy; conf: string; state: string; rand: () => number; signal: AbortSignal; es: Killer; emb: Killer }): Promise<void> {
  const { proxy, es, emb } = c;
  const bulk = (_m: string, p: string) => p.includes('_bulk');
  for (let rotations = 0; rotations < ROTATIONS; rotations++) {
    await until(`engine-agent kill ${2 * rotations + 1}`, () => es.kills >= 2 * rotations + 1, c.signal);
    await sleep(c.rand() * 400);
    if (rotations === 2) proxy.failNext({ kind: 'status', status: 503 }, 1e9, bulk);
    // Each phase ends only once the engine agent has met it (on a loaded machine an agent can
    // be killed several times before it sends a bulk); the kills go on meanwhile.
    if (rotations === 5) {
      await until('the engine agent met the 503s', () => (proxy.seen.status ?? 0) > 0, c.signal);
      proxy.set({ kind: 'pass' });
      proxy.failNext({ kind: 'refuse' }, 1e9, bulk);
    }
    if (rotations === 8) {
      await until('the engine agent met the refused connections', () => (proxy.seen.refuse ?? 0) > 0, c.signal);
      proxy.set({ kind: 'pass' });
    }
    emb.down = rotations >= 3 && rotations < 6;
    await logrotate(c.conf, c.state);
  }
  emb.down = false;
  es.rotated = emb.rotated = true;
}

/** What the scenario checks once both agents have drained: every kept line delivered once, none dead-lettered, the outage met. */
async function assertDelivered(c: { t: TestContext; mode: string; dir: string; logs: string; seq: number; esKills: number; embKills: number; proxy: FaultProxy; delivered: [string, () => Promise<number[]>][]; rowsOf?: (seqs: number[]) => Promise<string[]> }): Promise<void> {
  const { t, mode, dir, logs, seq, esKills, embKills, proxy } = c;
  const kept = keptSeqs(logs);
  const lostByLogrotate = seq - kept.size;
  if (mode.startsWith('copytruncate')) {
    t.diagnostic(`copytruncate: ${lostByLogrotate} of ${seq} lines were written between copy and truncate (in no file)`);
  } else {
    assert.equal(lostByLogrotate, 0, `logrotate ${mode} keeps every line`);
  }
  const files = readdirSync(logs);
  t.diagnostic(`${mode}: ${seq} lines written, ${kept.size} kept in ${files.length} files (${files.filter((f) => f.endsWith('.gz')).length} .gz); SIGKILLs: ${esKills} (engine agent), ${embKills} (embedded agent)`);
  assert.ok(esKills >= KILLS && embKills >= KILLS);
  const tallies: [string, ReturnType<typeof tally>][] = [];
  for (const [sink, read] of c.delivered) tallies.push([sink, tally(kept, seq, await read())]);
  for (const data of ['data-es', 'data-emb']) {
    const dead = join(dir, data, 'dead-letter', 'dead-letter.ndjson');
    assert.equal(existsSync(dead) ? readFileSync(dead, 'utf8') : '', '', `${data}: no line is dead-lettered`);
  }
  assert.ok(proxy.seen.status! > 0 && proxy.seen.refuse! > 0, `the engine outage happened: ${JSON.stringify(proxy.seen)}`);
  for (const [sink, { missing, twice, strangers }] of tallies) {
    const message = `${sink}, logrotate ${mode}: of ${kept.size} kept lines, first missing ${missing.slice(0, 5)}; first delivered twice ${twice.slice(0, 5)}`;
    // A line stored twice on the embedded store names its rows (two event ids: the file source read
    // it under two keys; one id twice: the sink). The copytruncate duplicates of issue 11 were the
    // first kind (a new key not yet in the registry when the agent was killed).
    if (sink === 'embedded' && twice.length > 0) for (const row of (await c.rowsOf?.(twice.slice(0, 3))) ?? []) t.diagnostic(`  stored: ${row}`);
    assert.deepEqual({ missing: missing.length, twice: twice.length, strangers: strangers.length }, { missing: 0, twice: 0, strangers: 0 }, message);
  }
}

async function scenario(t: TestContext, mode: string, directives: string, seed: number, pace: Pace): Promise<void> {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  const dir = mkdtempSync(join(tmpdir(), `driftbeat-logrotate-${mode.replace(/[^a-z+]+/g, '-')}-`));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const live = join(logs, 'pred.jsonl');
  const conf = join(dir, 'logrotate.conf');
  writeFileSync(conf, `${live} {\n  rotate 1000\n  missingok\n  ${directives.split('\n').join('\n  ')}\n}\n`);
  const state = join(dir, 'logrotate.state');
  const proxy = await startFaultProxy(engine.url);
  const rand = rng(seed);
  let seq = 0;
  let writing = true;
  let embeddedDown = false;
  // Ends every loop and kills every agent by PID when the test ends, also on its timeout.
  const ended = new AbortController();
  const running = new Set<AgentProcess>();
  const stopAll = () => {
    ended.abort();
    for (const a of running) if (a.child.exitCode === null && a.child.signalCode === null) a.kill('SIGKILL');
  };
  t.signal.addEventListener('abort', stopAll);
  try {
    const esCfg = config(dir, 'data-es', `  elasticsearch:\n    hosts: ["${proxy.url}"]\n    index_prefix: ${prefix}\n    bulk_max_docs: 500\n    flush_interval: 100ms\n    backoff: { initial: 50ms, max: 300ms }`, pace);
    const dbPath = join(dir, 'store.duckdb');
    const embCfg = config(dir, 'data-emb', `  embedded: { path: "${dbPath}", batch_max_docs: 500, flush_interval: 100ms }`, pace);
    // As an operator does before the first run: without the index template, the first bulks of
    // several in flight race on dynamic mappings (`prediction.score` 0 maps long, 0.01 float) and
    // the engine refuses the loser with a 400 (dead-lettered: lost to the index). The template
    // maps every number as a double.
    // Straight to the engine: the fault proxy is for the agents' traffic.
    const setupCfg = config(dir, 'data-setup', `  elasticsearch:\n    hosts: ["${engine.url}"]\n    index_prefix: ${prefix}`);
    const setup = startAgent(['setup', '-c', setupCfg, '--templates']);
    running.add(setup);
    assert.equal(await setup.exited, 0, setup.output());
    running.delete(setup);
    const writer = (async () => {
      while (writing) {
        let text = '';
        for (let i = 0; i < pace.linesPerWrite; i++) text += line(seq++) + '\n';
        appendFileSync(live, text);
        await sleep(WRITE_EVERY_MS);
      }
    })();
    const es: Killer = { kills: 0, down: false, rotated: false, signal: ended.signal, running, acked: () => ackedBytes(join(dir, 'data-es')) };
    const emb: Killer = { kills: 0, down: false, rotated: false, signal: ended.signal, running, acked: () => ackedBytes(join(dir, 'data-emb')) };
    // Rotations are spread over the kills (one every two engine-agent kills, at a random moment),
    // so they land while agents run, start and are dead.
    const rotator = rotateWithOutages({ proxy, conf, state, rand, signal: ended.signal, es, emb });
    await Promise.all([
      killLoop('elasticsearch', ['run', '-c', esCfg], rng(seed + 1), es, KILLS),
      killLoop('embedded', ['run', '-c', embCfg], rng(seed + 2), emb, KILLS),
      rotator,
    ]);
    const [esKills, embKills] = [es.kills, emb.kills];
    writing = false;
    await writer;
    proxy.set({ kind: 'pass' });
    // Drain: each agent reads everything to its end, delivers, and exits 0.
    const [esLast, embLast] = [startAgent(['run', '-c', esCfg, '--once']), startAgent(['run', '-c', embCfg, '--once'])];
    running.add(esLast).add(embLast);
    assert.equal(await esLast.exited, 0, esLast.output());
    assert.equal(await embLast.exited, 0, embLast.output());

    await assertDelivered({ t, mode, dir, logs, seq, esKills, embKills, proxy, delivered: [
      ['engine', () => engineSeqs(engine, `${prefix}-predictions-fraud`)],
      ['embedded', () => embeddedSeqs(dbPath)],
    ], rowsOf: (seqs) => embeddedRowsOf(dbPath, seqs) });
  } finally {
    writing = false;
    stopAll();
    await Promise.all([...running].map((a) => a.exited));
    await proxy.close();
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

/** A mode whose failure is known and open: it runs and reports, and does not fail the suite. */
const OPEN_IN_ISSUE_11 =
  'open in issue 11: in 1 of 28 runs here, the embedded agent stored a copy\'s lines twice (read first from the live file under its key, then from the copy under a new key); the unit cases of it pass (agent/sources/file/source.test.ts, copies.test.ts)';

const MODES: [string, string, Pace, string?][] = [
  ['create', 'create', FAST],
  ['create+compress', 'create\ncompress', FAST],
  ['create+delaycompress', 'create\ncompress\ndelaycompress', FAST],
  ['copytruncate', 'copytruncate', FAST],
  // A copy (or .gz) of a file known by a partial fingerprint: read again from 0, or not found at start, before.
  ['copytruncate, files shorter than fingerprint_bytes', 'copytruncate', SHORT, OPEN_IN_ISSUE_11],
  ['create+compress, files shorter than fingerprint_bytes', 'create\ncompress', SHORT],
];

MODES.forEach(([mode, directives, pace, todo], i) => {
  // ~1 min each on a quiet machine; the bound is for a shared, loaded one.
  test(`real logrotate ${mode}: writer, outage across rotations, ${KILLS} SIGKILLs: every kept line exactly once on both sinks`, { timeout: 1_200_000, ...(todo ? { todo } : {}) }, async (t) => {
    await scenario(t, mode, directives, 1000 + i, pace);
  });
});
