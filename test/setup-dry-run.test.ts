/**
 * `driftbeat setup --dry-run` as a user pastes it into Kibana Dev Tools (issue 12, item 12): every
 * line that is not a request is a `#` comment; a watch left out because the cluster is unreachable
 * says so (not "build a profile"), and with the real engine reachable the profile is read and the
 * watch planned; `--kibana` without setup.kibana is a clear error, exit 2; the template `_meta`
 * cites a source file of this repository that defines that mapping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine } from './support/engine.ts';
import { REPO_ROOT, startAgent } from './support/agent-process.ts';

function config(dir: string, host: string, prefix = 'driftbeat'): string {
  const cfg = join(dir, `driftbeat-${prefix}.yml`);
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud }
output:
  elasticsearch: { hosts: ["${host}"], index_prefix: ${prefix} }
path: { data: "${dir}/data" }
rules: { path: "${dir}/rules" }
notifiers:
  slack-ml: { type: webhook, url: "http://127.0.0.1:9/a" }
  oncall-email: { type: webhook, url: "http://127.0.0.1:9/b" }
`);
  return cfg;
}

/** Splits a dry run's stdout into Dev Tools requests; throws on any line that is neither a comment nor part of a request. */
function devToolsRequests(stdout: string): { method: string; path: string; body?: any }[] {
  const blocks = stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n').split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return blocks.map((b) => {
    const [first, ...rest] = b.split('\n');
    const m = /^(PUT|POST|GET|DELETE) (\/\S*)$/.exec(first!);
    assert.ok(m, `a line that is neither a # comment nor a request: ${JSON.stringify(first)}`);
    return { method: m[1]!, path: m[2]!, ...(rest.length ? { body: JSON.parse(rest.join('\n')) } : {}) };
  });
}

test('setup --dry-run: comments and requests only; unreachable cluster said as such; --kibana without setup.kibana exits 2; _meta cites a real file', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-setup-dry-'));
  try {
    mkdirSync(join(dir, 'rules'));
    copyFileSync(join(REPO_ROOT, 'rules', 'fraud-missing-spike.yml'), join(dir, 'rules', 'fraud-missing-spike.yml'));
    copyFileSync(join(REPO_ROOT, 'rules', 'fraud-volume.yml'), join(dir, 'rules', 'fraud-volume.yml'));
    const cfg = config(dir, 'http://127.0.0.1:9');
    const run = startAgent(['setup', '-c', cfg, '--dry-run']);
    assert.equal(await run.exited, 0, run.output());
    const out = run.output();
    const requests = devToolsRequests(out);
    assert.ok(requests.some((r) => r.method === 'PUT' && r.path === '/_index_template/driftbeat-predictions'));
    assert.match(out, /^# kibana: saved object \*: skipped \(setup\.kibana\.host is not set/m);
    assert.match(out, /^# setup --dry-run: \d+ resources planned, nothing sent$/m);
    assert.match(out, /^# watches: rule fraud-missing-spike: no watch: its reference profile could not be read \(.*cannot reach http:\/\/127\.0\.0\.1:9.*\) and the watch needs it; run again when the cluster is reachable$/m);
    assert.doesNotMatch(out, /build a profile/);

    // Every source file a template's _meta cites is in the repository and defines that mapping.
    const cited = requests.flatMap((r) => [r.body?._meta?.description, r.body?.template?._meta?.description].filter(Boolean) as string[])
      .flatMap((d) => [...d.matchAll(/\b(agent\/[\w./-]+\.ts)\b/g)].map((m) => ({ d, file: m[1]! })));
    assert.ok(cited.length > 0, 'the mappings template cites its source');
    for (const { d, file } of cited) {
      assert.ok(existsSync(join(REPO_ROOT, file)), `${file} (cited by "${d}") exists`);
      if (/mappings of prediction documents/.test(d)) assert.match(readFileSync(join(REPO_ROOT, file), 'utf8'), /export function predictionsMappings\(/, `${file} defines the prediction mappings`);
    }

    const kibana = startAgent(['setup', '-c', cfg, '--dry-run', '--kibana']);
    assert.equal(await kibana.exited, 2, kibana.output());
    assert.match(kibana.output(), /setup\.kibana\.host: --kibana imports the saved objects into Kibana, and .* names no Kibana/);
    assert.doesNotMatch(kibana.output(), /failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('setup --dry-run with the real engine reachable reads the stored profile and plans the watch that needs it', { timeout: 60_000 }, async (t) => {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-setup-dry-engine-'));
  try {
    mkdirSync(join(dir, 'rules'));
    copyFileSync(join(REPO_ROOT, 'rules', 'fraud-missing-spike.yml'), join(dir, 'rules', 'fraud-missing-spike.yml'));
    const cfg = config(dir, engine.url, prefix);
    writeFileSync(join(dir, 'train.csv'), 'amount,country\n1.5,US\n,FR\n3.5,DE\n');
    const build = startAgent(['reference', 'build', '-c', cfg, '--model', 'fraud', '--version', '1.5.0', join(dir, 'train.csv')]);
    assert.equal(await build.exited, 0, build.output());
    await engine.refresh(prefix);
    const run = startAgent(['setup', '-c', cfg, '--dry-run']);
    assert.equal(await run.exited, 0, run.output());
    const requests = devToolsRequests(run.output());
    assert.ok(requests.some((r) => r.method === 'PUT' && r.path === `/_watcher/watch/${prefix}-fraud-missing-spike`), run.output());
    assert.doesNotMatch(run.output(), /could not be read|build a profile/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
