import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { loadConfig } from './load.ts';
import { ConfigSchema } from './schema.ts';
import { interpolateEnv } from './yaml.ts';
import { parseBytes, parseDuration } from './units.ts';
import { redact, clearSecrets } from '../telemetry/redact.ts';

const dir = 'test/fixtures/config';

function problemsOf(file: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(join(dir, file), { env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.message.split('\n');
  }
  assert.fail(`${file} loaded without error`);
}

// OpenTelemetry-style: each broken fixture, its exact messages (all of them, in one pass).
const BAD: Record<string, string[]> = {
  'bad_unknown_key.yml': [`${dir}/bad_unknown_key.yml:4:5: inputs[0].feilds: unknown key`],
  'bad_types.yml': [
    `${dir}/bad_types.yml:2:12: inputs[0].paths: expected array, received string "/var/log/models/fraud/*.jsonl"`,
    `${dir}/bad_types.yml:4:21: inputs[0].max_line_bytes: expected a size such as 1MiB, received "lots"`,
    `${dir}/bad_types.yml:8:20: output.elasticsearch.bulk_max_docs: expected a value > 0, received number -5`,
    `${dir}/bad_types.yml:9:21: output.elasticsearch.flush_interval: expected a duration such as 1s, received "soon"`,
    `${dir}/bad_types.yml:10:15: http.port: expected number, received string "5066"`,
  ],
  'bad_two_outputs.yml': [
    `${dir}/bad_two_outputs.yml:3:12: inputs[0].model: expected one of name or name_field, received neither`,
    `${dir}/bad_two_outputs.yml:5:3: output: expected exactly one of elasticsearch or embedded, received both`,
  ],
  'bad_env.yml': [
    `${dir}/bad_env.yml:8:15: output.elasticsearch.password: environment variable DRIFTBEAT_TEST_UNSET_PASSWORD is not set (use \${DRIFTBEAT_TEST_UNSET_PASSWORD:-default} for a default)`,
  ],
  'bad_yaml.yml': [
    `${dir}/bad_yaml.yml:3:5: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
  ],
  'bad_notifier.yml': [
    `${dir}/bad_notifier.yml:5:11: notifiers.slack-ml.type: expected one of "slack", "email", "webhook", "log", received string "slak"`,
    `${dir}/bad_notifier.yml:8:5: notifiers.mail.to: expected array, received nothing`,
  ],
};

for (const [file, expected] of Object.entries(BAD)) {
  test(`bad config ${file} reports exactly its problems`, () => {
    assert.deepEqual(problemsOf(file), expected);
  });
}

test('config.example.yml loads and fills defaults', () => {
  const { config } = loadConfig('config.example.yml', { env: {} });
  assert.equal(config.inputs.length, 2);
  const feedback = config.inputs[1]!;
  assert.equal(feedback.kind, 'feedback');
  assert.equal(feedback.fields.actual, 'is_fraud');
  assert.equal(feedback.join?.giveUpAfter, 24 * 3600_000);
  assert.equal(feedback.join?.positive, '1');
  const input = config.inputs[0]!;
  assert.equal(input.kind, 'predictions');
  assert.deepEqual(input.paths, ['/var/log/models/fraud/*.jsonl']);
  assert.equal(input.model.name, 'fraud');
  assert.equal(input.model.versionField, 'model_version');
  assert.equal(input.fields.id, 'request_id');
  assert.deepEqual(input.fields.text, ['customer_note']);
  assert.equal(input.maxLineBytes, 1024 * 1024);
  assert.equal(config.output.elasticsearch?.bulkMaxBytes, 5 * 1024 * 1024);
  assert.equal(config.output.elasticsearch?.backoff.max, 60_000);
  assert.equal(config.http.host, '127.0.0.1');
  assert.equal(config.http.port, 5066);
  assert.equal(config.queue.maxBytes, 8 * 1024 * 1024);
  assert.equal(config.path.data, './data');
});

test('config.example.yml documents every key of the schema', () => {
  const text = readFileSync('config.example.yml', 'utf8');
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const keys = new Set<string>();
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.properties && typeof n.properties === 'object') {
      for (const [k, v] of Object.entries(n.properties as Record<string, unknown>)) { keys.add(k); walk(v); }
    }
    for (const k of ['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf']) {
      const v = n[k];
      if (Array.isArray(v)) v.forEach(walk); else walk(v);
    }
  };
  walk(schema);
  const missing = [...keys].filter((k) => !new RegExp(`(^|[\\s{,#])${k}:`, 'm').test(text));
  assert.deepEqual(missing, [], `keys not documented in config.example.yml: ${missing.join(', ')}`);
});

test('minimal config: defaults work', () => {
  const { config } = loadConfig('inline.yml', {
    text: 'inputs:\n  - paths: ["/tmp/*.jsonl"]\n    model: { name: m }\noutput:\n  embedded: {}\n',
  });
  assert.equal(config.inputs[0]!.fields.timestamp, 'timestamp');
  assert.equal(config.inputs[0]!.fields.features, 'features');
  assert.equal(config.inputs[0]!.fields.predictions, 'prediction');
  assert.deepEqual(config.inputs[0]!.naValues, ['NA', 'N/A', 'NaN', 'null', 'None']);
  assert.equal(config.output.embedded?.path, './data/driftbeat.duckdb');
});

test('an empty rules: key means the defaults, as an absent one does', () => {
  const { config } = loadConfig('inline.yml', { text: 'output:\n  embedded: {}\nrules:\n' });
  assert.equal(config.rules.path, undefined);
  assert.equal(config.rules.maxCatchupWindows, 24);
});

test('${ENV} interpolation: values, defaults, escapes, and interpolated secrets are redacted', () => {
  clearSecrets();
  const { config } = loadConfig('inline.yml', {
    env: { ES_HOST: 'http://es.internal:9200', ES_PASSWORD: 's3cr3t-pass' },
    text: 'output:\n  elasticsearch:\n    hosts: ["${ES_HOST}"]\n    username: "${ES_USER:-driftbeat}"\n    password: ${ES_PASSWORD}\n',
  });
  assert.deepEqual(config.output.elasticsearch?.hosts, ['http://es.internal:9200']);
  assert.equal(config.output.elasticsearch?.username, 'driftbeat');
  assert.equal(config.output.elasticsearch?.password, 's3cr3t-pass');
  assert.equal(redact('auth failed for s3cr3t-pass'), 'auth failed for [REDACTED]');
  assert.deepEqual(interpolateEnv('a $${literal} b', {}), { value: 'a ${literal} b', unset: [] });
});

test('missing config file says how to pass one', () => {
  assert.throws(() => loadConfig('/nonexistent/driftbeat.yml'), /config file \/nonexistent\/driftbeat.yml does not exist \(pass one with -c/);
});

test('units', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('soon'), undefined);
  assert.equal(parseBytes('5MiB'), 5 * 1024 * 1024);
  assert.equal(parseBytes('1GB'), 1e9);
  assert.equal(parseBytes(4096), 4096);
  assert.equal(parseBytes('x'), undefined);
});

test('the config reference in README.md equals what the schema generates', async () => {
  const { withConfigReference } = await import('./docs.ts');
  const readme = readFileSync('README.md', 'utf8');
  assert.equal(readme, withConfigReference(readme), 'README.md is stale: run node --import tsx agent/config/docs.ts');
});

test('a feedback input without fields.id or fields.actual is refused with the key named', () => {
  assert.throws(
    () => loadConfig('feedback.yml', { text: 'inputs:\n  - kind: feedback\n    paths: ["/tmp/l.jsonl"]\n    model: { name: m }\noutput:\n  embedded: {}\n', env: {} }),
    (err: Error) => /inputs\[0\]\.fields\.id: kind: feedback needs fields\.id/.test(err.message) && /inputs\[0\]\.fields\.actual: kind: feedback needs fields\.actual/.test(err.message),
  );
  assert.throws(
    () => loadConfig('preds.yml', { text: 'inputs:\n  - paths: ["/tmp/p.jsonl"]\n    model: { name: m }\n    join: {}\noutput:\n  embedded: {}\n', env: {} }),
    /inputs\[0\]\.join: join is for kind: feedback inputs/,
  );
});
