import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleError, formatProblem } from '../errors.ts';
import { documentFields, loadRules, loadRulesDetailed, type LoadRulesContext } from './load.ts';
import { RULE_TYPES, type Rule } from './schema.ts';

const RULES = 'rules';
const BAD = 'test/fixtures/rules-bad';
/** The notifier names that config.example.yml shows (commented out) under notifiers:. */
const NOTIFIERS = ['slack-ml', 'oncall-email', 'retrain', 'console'];
const FRAUD_FIELDS = ['features.amount', 'features.merchant', 'features.country', 'features.channel', 'features.customer_note', 'prediction.score', 'prediction.label'];
const ctx: LoadRulesContext = {
  notifiers: NOTIFIERS,
  referenceFields: (model) => (model === 'fraud' ? FRAUD_FIELDS : undefined),
};

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-rules-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function messages(paths: string[], c: LoadRulesContext = ctx): string[] {
  try {
    loadRules(paths, c);
  } catch (err) {
    assert.ok(err instanceof RuleError, `expected a RuleError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_RULE_INVALID');
    return err.message.split('\n');
  }
  assert.fail(`expected ${paths.join(', ')} to be rejected`);
}

test('every example rule in rules/ loads, and together they cover every type', () => {
  const files = readdirSync(RULES).filter((f) => f.endsWith('.yml'));
  assert.ok(files.length >= 6);
  for (const f of files) {
    const rules = loadRules([join(RULES, f)], ctx);
    assert.equal(rules.length, 1, f);
    assert.equal(rules[0]!.source.file, join(RULES, f));
  }
  const all = loadRules([RULES], ctx);
  assert.equal(all.length, files.length);
  assert.deepEqual([...new Set(all.map((r) => r.type))].sort(), [...RULE_TYPES].sort());
});

test('example rules load with the values a user wrote, defaults filled in', () => {
  const byName = new Map(loadRules([RULES], ctx).map((r) => [r.name, r]));
  const unseen = byName.get('fraud-unseen-categories') as Extract<Rule, { type: 'unseen_categories' }>;
  assert.deepEqual(unseen.fields, ['features.merchant', 'features.country', 'features.channel']);
  assert.equal(unseen.fieldsDefaulted, false);
  assert.equal(unseen.window, 3_600_000);
  assert.equal(unseen.delay, 300_000);
  assert.equal(unseen.realert, 21_600_000);
  assert.equal(unseen.maxUnseenShare, 0.01);
  assert.equal(unseen.maxUnseenCount, undefined);
  assert.deepEqual(unseen.reference, { kind: 'profile' });

  // name from the file name; fields default to every feature of the profile
  const missing = byName.get('fraud-missing-spike') as Extract<Rule, { type: 'missing_spike' }>;
  assert.equal(missing.type, 'missing_spike');
  assert.deepEqual(missing.fields, ['features.*']);
  assert.equal(missing.fieldsDefaulted, true);
  assert.deepEqual(missing.groupBy, ['model.version']);
  assert.equal(missing.for, 2);
  assert.equal(missing.maxRelativeIncrease, 0.1);
  assert.equal(missing.severity, 'critical');

  const drift = byName.get('fraud-input-drift') as Extract<Rule, { type: 'distribution_shift' }>;
  assert.deepEqual(drift.fields, ['features.amount', 'features.merchant', 'features.country', 'prediction.label']);
  assert.deepEqual(drift.reference, { kind: 'profile', version: '1.5.0' });
  assert.equal(drift.method, 'auto');
  assert.equal(drift.threshold, undefined);

  const champion = byName.get('fraud-challenger-score-shift') as Extract<Rule, { type: 'distribution_shift' }>;
  assert.deepEqual(champion.reference, { kind: 'segment', segment: { 'model.version': '1.4.2' } });

  const volume = byName.get('fraud-volume') as Extract<Rule, { type: 'volume' }>;
  assert.deepEqual(volume.reference, { kind: 'offset', offset: 7 * 86_400_000 });
  assert.equal(volume.minSamples, 0, 'an empty window is the alarm of a volume rule, not no_data');
  assert.deepEqual(volume.fields, []);

  const stats = byName.get('fraud-score-stats') as Extract<Rule, { type: 'prediction_stats' }>;
  assert.deepEqual(stats.stats, { mean: { min: 0.005, max: 0.08 }, p99: { max: 0.98 }, std: {} });
  assert.equal(stats.referenceMeanK, 4);
});

// Each broken fixture and the exact message a user sees.
const EXPECTED: Record<string, string[]> = {
  'unknown-type.yml': [
    `${BAD}/unknown-type.yml:2:7: rule "unknown-type": type: expected one of "unseen_categories", "missing_spike", "oov_rate", "distribution_shift", "prediction_stats", "volume", "model_quality", received string "psi_drift"`,
  ],
  'bad-cron.yml': [
    `${BAD}/bad-cron.yml:5:11: rule "bad-cron": schedule: invalid cron expression "61 * * * *": minute "61" is out of range or malformed (5 or 6 fields: [second] minute hour day-of-month month day-of-week, in UTC, e.g. "*/5 * * * *")`,
  ],
  'unknown-notifier.yml': [
    `${BAD}/unknown-notifier.yml:7:20: rule "unknown-notifier": notify[1]: unknown notifier "pagerduty"; the config defines "slack-ml", "oncall-email", "retrain", "console"`,
  ],
  'window-shorter-than-schedule.yml': [
    `${BAD}/window-shorter-than-schedule.yml:5:9: rule "window-shorter-than-schedule": window: 10m is shorter than the schedule interval 1h ("0 * * * *"), so data between windows would never be checked; use window: 1h or more, or schedule the rule more often`,
  ],
  'field-glob-no-match.yml': [
    `${BAD}/field-glob-no-match.yml:5:19: rule "field-glob-no-match": fields[1]: "merchant_type*" matches no field of the reference profile fraud@1.4.2 (it has features.amount, features.merchant, features.country, features.channel, features.customer_note, prediction.score, prediction.label)`,
  ],
  'wrong-threshold-type.yml': [
    `${BAD}/wrong-threshold-type.yml:8:12: rule "wrong-threshold-type": threshold: expected number, received string "high"`,
  ],
  'unknown-key.yml': [
    `${BAD}/unknown-key.yml:6:1: rule "unknown-key": max_unseen: unknown key (did you mean max_unseen_count or max_unseen_share?)`,
  ],
  'many-problems.yml': [
    `${BAD}/many-problems.yml:5:10: rule "fraud-many-problems": version: expected a string, received number 1.5 (quote versions in YAML: '1.5')`,
    `${BAD}/many-problems.yml:6:9: rule "fraud-many-problems": window: expected a duration such as 1h, received "1 hour"`,
    `${BAD}/many-problems.yml:8:11: rule "fraud-many-problems": severity: expected one of "info", "warning", "critical", received string "urgent"`,
    `${BAD}/many-problems.yml:9:12: rule "fraud-many-problems": reference: expected exactly one of profile, offset or segment, received profile and offset`,
    `${BAD}/many-problems.yml:10:24: rule "fraud-many-problems": min_absolute_increase: expected a value <= 1, received number 2`,
  ],
};

for (const [file, expected] of Object.entries(EXPECTED)) {
  test(`bad rule ${file} gives its exact message`, () => {
    assert.deepEqual(messages([`${BAD}/${file}`]), expected);
  });
}

test('every fixture in rules-bad has an expected message, and a folder reports all files at once in order', () => {
  const files = readdirSync(BAD).filter((f) => f.endsWith('.yml')).sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort());
  assert.deepEqual(messages([BAD]), files.flatMap((f) => EXPECTED[f]!));
});

test('checks that need context are skipped without it', () => {
  // No notifier list (no config at hand) and no reference: only the file itself is judged.
  assert.equal(loadRules([`${BAD}/unknown-notifier.yml`, `${BAD}/field-glob-no-match.yml`], {}).length, 2);
  // A profile that is not known yet skips the field check rather than failing.
  assert.equal(loadRules([`${BAD}/field-glob-no-match.yml`], { referenceFields: () => undefined }).length, 1);
  const none = messages([`${BAD}/unknown-notifier.yml`], { notifiers: [] });
  assert.match(none[0]!, /unknown notifier "slack-ml"; the config defines no notifiers \(add one under notifiers:\)$/);
});

test('duplicate rule names across files, env interpolation, missing paths, non-rule files', () => {
  withTmp((dir) => {
    const body = (extra: string) => `type: volume\nmodel: fraud\nwindow: 1h\nschedule: '0 * * * *'\nmin_count: 1\n${extra}`;
    writeFileSync(join(dir, 'a.yml'), body('name: same\n'));
    writeFileSync(join(dir, 'b.yaml'), body('name: same\n'));
    writeFileSync(join(dir, 'notes.txt'), 'not a rule');
    writeFileSync(join(dir, '.hidden.yml'), 'not: a rule');
    assert.deepEqual(messages([dir]), [
      `${dir}/a.yml:6:7: rule "same": name: rule name "same" is also used by ${dir}/b.yaml; rule names must be unique (alerts and results are keyed by them)`,
      `${dir}/b.yaml:6:7: rule "same": name: rule name "same" is also used by ${dir}/a.yml; rule names must be unique (alerts and results are keyed by them)`,
    ]);

    rmSync(join(dir, 'b.yaml'));
    writeFileSync(join(dir, 'c.yml'), body('notify: ["${TEAM_NOTIFIER}"]\nversion: ${FRAUD_VERSION:-1.4.2}\n'));
    const rules = loadRules([dir], { notifiers: ['slack-ml'], env: { TEAM_NOTIFIER: 'slack-ml' } });
    assert.deepEqual(rules.map((r) => [r.name, r.notify, r.version]), [['same', [], undefined], ['c', ['slack-ml'], '1.4.2']]);
    writeFileSync(join(dir, 'd.yml'), body('model: ${FRAUD_MODEL}\n').replace('model: fraud\n', ''));
    const unset = messages([join(dir, 'd.yml')], { env: {} });
    assert.deepEqual(unset, [`${dir}/d.yml:5:8: rule "d": model: environment variable FRAUD_MODEL is not set (use \${FRAUD_MODEL:-default} for a default)`]);
    rmSync(join(dir, 'd.yml'));

    assert.deepEqual(messages([join(dir, 'nope')]), [`rule path ${join(dir, 'nope')} does not exist (pass a rule file or a folder of *.yml files)`]);
    writeFileSync(join(dir, 'list.yml'), '- type: volume\n');
    assert.deepEqual(messages([join(dir, 'list.yml')]), [`${dir}/list.yml:1:1: rule "list": expected a mapping of rule keys (type, model, window, ...), received array`]);
    writeFileSync(join(dir, 'broken.yml'), 'type: volume\nmodel: [fraud\n');
    assert.match(messages([join(dir, 'broken.yml')])[0]!, new RegExp(`^${dir}/broken\\.yml:\\d+:\\d+: rule "broken": invalid YAML: `));
  });
});

test('problems keep their structure for tools (position, key, subject)', () => {
  const r = loadRulesDetailed([`${BAD}/wrong-threshold-type.yml`, `${RULES}/fraud-volume.yml`], ctx);
  assert.equal(r.rules.length, 1);
  assert.equal(r.perFile.length, 2);
  const [p] = r.problems;
  assert.deepEqual(p?.position, { file: `${BAD}/wrong-threshold-type.yml`, line: 8, col: 12 });
  assert.equal(p?.key, 'threshold');
  assert.equal(p?.subject, 'rule "wrong-threshold-type"');
  assert.equal(formatProblem(p!), EXPECTED['wrong-threshold-type.yml']![0]);
});

test('documentFields turns a profile\'s feature and prediction names into document paths', () => {
  const ref = { features: new Map([['amount', 'num'], ['addr.city', 'cat']]), predictions: new Map([['score', 'num']]) };
  assert.deepEqual(documentFields(ref), ['features.amount', 'features.addr.city', 'prediction.score']);
  assert.equal(loadRules([`${BAD}/field-glob-no-match.yml`], { referenceFields: () => documentFields({ features: new Map([['merchant_type_code', 'cat'], ['country', 'cat']]) }) }).length, 1);
});
