import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../agent/config/load.ts';
import { templatePlanFor } from '../agent/assets/templates.ts';

const root = new URL('../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(new URL('./fixtures/elastic/compose/compose-spec.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    // The schema names its draft-07 meta-schema by an https URL that Ajv does not know; it is draft-07 either way.
    delete schema['$schema'];
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    // Validate the file as written (anchors resolved, as Compose does), not a re-serialization.
    const ok = validate(parseYaml(read('docker-compose.yml'), { merge: true }));
    assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  });

  it('runs Elasticsearch, Kibana, the setup step, the agent and the demo model', () => {
    for (const s of ['elasticsearch', 'kibana', 'setup', 'agent', 'demo-model']) assert.ok(services[s], s);
    assert.match(services['elasticsearch']!.image!, /^docker\.elastic\.co\/elasticsearch\/elasticsearch:\$\{STACK_VERSION:-8\./);
    assert.match(services['kibana']!.image!, /^docker\.elastic\.co\/kibana\/kibana:\$\{STACK_VERSION:-8\./);
    const es = services['elasticsearch']!.environment!;
    assert.ok(es.includes('xpack.security.enabled=true'), 'security on');
    assert.ok(es.includes('xpack.license.self_generated.type=trial'), 'trial license, so Watcher works');
    assert.deepEqual(services['setup']!.command, ['setup', '-c', '/etc/driftbeat/driftbeat.yml']);
    assert.deepEqual(services['agent']!.command, ['run', '-c', '/etc/driftbeat/driftbeat.yml']);
    assert.deepEqual(services['demo-model']!.command, ['demo', '--write-only', '--out', '/logs']);
    // The demo model writes where the agent reads.
    assert.ok(services['demo-model']!.volumes!.includes('logs:/logs'));
    assert.ok(services['agent']!.volumes!.includes('logs:/logs:ro'));
  });

  it('publishes every port on 127.0.0.1 only', () => {
    const ports = Object.values(services).flatMap((s) => s.ports ?? []);
    assert.ok(ports.length >= 3);
    for (const p of ports) assert.match(p, /^127\.0\.0\.1:/);
  });

  it('comes up in order: healthchecks and depends_on conditions', () => {
    for (const s of ['elasticsearch', 'kibana', 'agent']) assert.ok(services[s]!.healthcheck?.test.length, `${s} has a healthcheck`);
    const dep = (s: string) => services[s]!.depends_on ?? {};
    for (const [s, svc] of Object.entries(services)) {
      for (const [target, d] of Object.entries(svc.depends_on ?? {})) {
        assert.ok(services[target], `${s} depends on an existing service`);
        if (d.condition === 'service_healthy') assert.ok(services[target]!.healthcheck, `${s} waits for ${target}'s healthcheck`);
      }
    }
    assert.equal(dep('kibana')['kibana-password']?.condition, 'service_completed_successfully');
    assert.equal(dep('setup')['elasticsearch']?.condition, 'service_healthy');
    assert.equal(dep('setup')['kibana']?.condition, 'service_healthy');
    assert.equal(dep('reference')['setup']?.condition, 'service_completed_successfully');
    assert.equal(dep('agent')['reference']?.condition, 'service_completed_successfully', 'the agent starts once the training profiles exist');
  });

  it('takes every variable it needs from .env.example, and no password is written in it', () => {
    const env = new Set(read('.env.example').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=')[0]!));
    const text = read('docker-compose.yml');
    // ${NAME} and ${NAME:-default} / ${NAME:?message}, but not $${NAME} (expanded inside the container).
    const used = [...text.matchAll(/(?<!\$)\$\{([A-Z_]+)(?:[:?-][^}]*)?\}/g)].map((m) => m[1]!);
    assert.ok(used.includes('ELASTIC_PASSWORD'));
    for (const v of used) assert.ok(env.has(v), `${v} is in .env.example`);
    assert.doesNotMatch(text, /PASSWORD=(?!\$\{)/, 'passwords come from .env');
  });

  it('gives the agent a config that loads, with the compose hosts', () => {
    const { config } = loadConfig('demo/compose/driftbeat.yml', { text: read('demo/compose/driftbeat.yml'), env: { ELASTIC_PASSWORD: 'x-test-password' } });
    assert.deepEqual(config.output.elasticsearch?.hosts, ['http://elasticsearch:9200']);
    assert.equal(config.setup.kibana?.host, 'http://kibana:5601');
    assert.equal(config.http.host, '0.0.0.0', 'reachable through the published port');
    assert.ok(services['agent']!.volumes!.includes('./demo/compose/driftbeat.yml:/etc/driftbeat/driftbeat.yml:ro'));
    assert.ok(templatePlanFor(config).some((r) => r.name === 'driftbeat-predictions-fraud'));
  });

  it('builds an image that runs the CLI, with a context that leaves out what it does not need', () => {
    const docker = read('Dockerfile');
    assert.match(docker, /^FROM node:20/m);
    // Compiled to dist/ in a build stage, then production dependencies only.
    assert.match(docker, /RUN npm run build && npm prune --omit=dev/);
    assert.match(docker, /COPY --from=build \/app \/app/);
    assert.match(docker, /ENTRYPOINT \["node", "--max-semi-space-size=1", "agent\/cli\/driftbeat\.js"\]/);
    assert.match(docker, /CMD \["run", "-c", "\/etc\/driftbeat\/driftbeat\.yml"\]/);
    assert.match(docker, /^USER node$/m);
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['node_modules', '.env', '.git']) assert.ok(ignore.includes(p), p);
    // What the image runs must be in the context.
    for (const p of ['agent', 'kibana', 'rules', 'demo']) assert.ok(!ignore.includes(p) && docker.includes(`COPY ${p} ./${p}`), p);
    // The demo model's seeded generator is demo/generate.ts (copied with demo/); benchmarks stay out.
    assert.ok(ignore.includes('bench') && !docker.includes('COPY bench'), 'the demo model needs its generator, and only that');
  });
});
