import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../sinks/embedded/store.ts';
import { EmbeddedSink } from '../sinks/embedded/sink.ts';
import { EmbeddedReferenceStore } from '../reference/store-embedded.ts';
import type { ReferenceProfile } from '../reference/profile.ts';
import { buildDataset, WINDOW, START } from '../../test/fixtures/plans/dataset.ts';
import { rulesExplainCommand, rulesTestCommand } from './commands.ts';

let dir: string;
let db: string;
let configFile: string;
let ruleFile: string;
let profile: ReferenceProfile;

interface Printed { status: string; results: { field: string; segment: string; version?: string; reference: string; status: string; value: number | null; details: { reason?: string; reference_missing_share?: number } }[] }

async function saveProfile(p: ReferenceProfile): Promise<void> {
  const store = await openStore(db);
  try {
    await new EmbeddedReferenceStore(store).save(p);
  } finally {
    await store.close();
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'driftbeat-segments-'));
  const data = await buildDataset(dir);
  profile = data.profile;
  db = join(dir, 'db.duckdb');
  const store = await openStore(db);
  await new EmbeddedReferenceStore(store).save(data.profile);
  const sink = new EmbeddedSink({ store });
  await sink.send({ events: data.events, bytes: 0 });
  await sink.stop();
  await store.close();
  configFile = join(dir, 'driftbeat.yml');
  writeFileSync(configFile, `output:\n  embedded:\n    path: ${db}\n`);
  // No `version`, segments per model.version: each segment must use its own version's profile.
  ruleFile = join(dir, 'missing-per-version.yml');
  writeFileSync(ruleFile, "type: missing_spike\nname: na-per-version\nmodel: fraud\nfields: [dist_km]\nwindow: 1h\nschedule: '0 * * * *'\ndelay: 0s\nmin_samples: 10\ngroup_by: [model.version]\n");
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(): Promise<Printed> {
  const out = await rulesTestCommand({ ruleFile, configFile, from: WINDOW.from, to: WINDOW.to, json: true });
  assert.equal(out.exitCode, 0, out.text);
  return JSON.parse(out.text) as Printed;
}

describe('model_quality with group_by model.version and absolute bounds', () => {
  it('needs no profile: no segment reports no_reference (a version without a profile is judged like the others)', async () => {
    const qualityFile = join(dir, 'quality-per-version.yml');
    writeFileSync(qualityFile, "type: model_quality\nname: quality-per-version\nmodel: fraud\nmetrics:\n  accuracy: { min: 0.5 }\nwindow: 1h\nschedule: '0 * * * *'\ndelay: 0s\ngroup_by: [model.version]\n");
    const out = await rulesTestCommand({ ruleFile: qualityFile, configFile, from: WINDOW.from, to: WINDOW.to, json: true });
    assert.equal(out.exitCode, 0, out.text);
    const j = JSON.parse(out.text) as Printed;
    assert.ok(j.results.length > 0, out.text);
    assert.deepEqual(j.results.filter((r) => r.status === 'no_reference').map((r) => `${r.segment}: ${r.details.reason}`), []);
  });
});

describe('group_by model.version without a version: each segment against its own version', () => {
  it('a version without a profile reports no_reference with the reason, never another version\'s numbers', async () => {
    const j = await run();
    const v142 = j.results.find((r) => r.segment === 'model.version=1.4.2')!;
    assert.equal(v142.reference, 'profile:fraud@1.4.2');
    assert.equal(v142.version, '1.4.2');
    assert.equal(v142.status, 'drifted');
    const v150 = j.results.find((r) => r.segment === 'model.version=1.5.0')!;
    assert.equal(v150.status, 'no_reference');
    assert.equal(v150.version, '1.5.0');
    assert.equal(v150.value, null);
    assert.match(v150.details.reason!, /no reference profile for model "fraud" version "1\.5\.0" \(profiles: 1\.4\.2\).*driftbeat reference build --model fraud --version 1\.5\.0/);
  });

  it('a newer profile of another version does not become the champion\'s reference', async () => {
    const dist = profile.fields.find((f) => f.field === 'features.dist_km')!;
    // A 1.5.0 profile built later, in which dist_km is missing half of the time.
    await saveProfile({ ...profile, version: '1.5.0', built_at: new Date(START + 1000).toISOString(), fields: profile.fields.map((f) => ({ ...f, version: '1.5.0', ...(f === dist ? { missing_share: 0.5, missing_count: Math.round(f.count / 2) } : {}) })) });
    const j = await run();
    const v142 = j.results.find((r) => r.segment === 'model.version=1.4.2')!;
    assert.equal(v142.reference, 'profile:fraud@1.4.2');
    assert.equal(v142.details.reference_missing_share, dist.missing_share);
    const v150 = j.results.find((r) => r.segment === 'model.version=1.5.0')!;
    assert.equal(v150.reference, 'profile:fraud@1.5.0');
    assert.equal(v150.details.reference_missing_share, 0.5);
    assert.equal(v150.status, 'ok');
  });
});

describe('rules explain of a per-version rule', () => {
  it('shows one plan per profiled version, each against its own profile', async () => {
    const out = await rulesExplainCommand({ ruleFile, configFile, from: WINDOW.from, to: WINDOW.to });
    assert.equal(out.exitCode, 0, out.text);
    assert.match(out.text, /# rule na-per-version \(missing_spike\) for model\.version 1\.4\.2 against profile:fraud@1\.4\.2/);
    assert.match(out.text, /# rule na-per-version \(missing_spike\) for model\.version 1\.5\.0 against profile:fraud@1\.5\.0/);
  });
});
