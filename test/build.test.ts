/**
 * The compiled package (`npm run build`: tsc -p tsconfig.build.json into dist/) as a user installs
 * it: the bin runs through its own shebang, with no TypeScript loader, finds the package's files
 * (package.json, kibana/), and dist/ holds neither tests nor test data, nor imports anything that
 * a production install (`npm ci --omit=dev`) leaves out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { CLI as BIN, ensureBuilt, REPO_ROOT } from './support/agent-process.ts';

ensureBuilt();
const DIST = join(REPO_ROOT, 'dist');
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; dependencies: Record<string, string> };

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Runs the bin as a shell does: the file itself, its shebang picks node and the V8 flag. */
function runBin(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(BIN, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
}

test('package.json bin is the compiled file, with the V8 flag on its shebang', () => {
  assert.equal(join(REPO_ROOT, pkg.bin['driftbeat']!), BIN);
  assert.equal(readFileSync(BIN, 'utf8').split('\n')[0], '#!/usr/bin/env -S node --max-semi-space-size=1');
});

test('every documented way to start the agent gives node the shebang\'s V8 flags: Dockerfile, npm start, the systemd unit', () => {
  const flags = readFileSync(join(REPO_ROOT, 'agent', 'cli', 'driftbeat.ts'), 'utf8').split('\n')[0]!.replace('#!/usr/bin/env -S node ', '');
  const scripts = (pkg as unknown as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts['start'], `node ${flags} dist/agent/cli/driftbeat.js demo`);
  assert.ok(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').includes(`ENTRYPOINT ["node", ${flags.split(' ').map((f) => JSON.stringify(f)).join(', ')}, "agent/cli/driftbeat.js"]`));
  assert.ok(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(`ExecStart=/usr/bin/node ${flags} /opt/driftbeat/dist/agent/cli/driftbeat.js run`));
});

test('the built bin runs from another folder: version, usage errors, setup --dry-run reads kibana/', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-built-'));
  try {
    const version = runBin(['version'], dir);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout, `driftbeat ${pkg.version} (node ${process.version})\n`);
    const usage = runBin(['no-such-command'], dir);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /unknown command 'no-such-command'/);
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `inputs:\n  - paths: ["${dir}/logs/*.jsonl"]\n    model: { name: fraud }\noutput:\n  elasticsearch: { hosts: ["http://127.0.0.1:9"], index_prefix: built }\npath: { data: "${dir}/data" }\nsetup: { kibana: { host: "http://127.0.0.1:9" } }\n`);
    const setup = runBin(['setup', '-c', cfg, '--dry-run', '--kibana'], dir);
    assert.equal(setup.status, 0, setup.stderr);
    const shipped = readFileSync(join(REPO_ROOT, 'kibana', 'driftbeat.ndjson'), 'utf8').trim().split('\n').length;
    assert.match(setup.stdout, new RegExp(`^# kibana: import ${shipped} saved objects from driftbeat\\.ndjson$`, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dist/ holds compiled modules only: no tests, no test data, no import of a dev dependency or of a file it lacks', () => {
  const files = filesUnder(DIST);
  assert.ok(files.length > 100, `${files.length} files in dist/`);
  const rel = files.map((f) => relative(DIST, f));
  assert.deepEqual(rel.filter((f) => !f.endsWith('.js')), [], 'only .js files');
  assert.deepEqual(rel.filter((f) => /\.test\.js$|(^|\/)(testdata|fixtures|test)\//.test(f)), [], 'no tests or test data');
  const builtins = new Set(builtinModules);
  const problems: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:^import\s*(?:[^'"]*?\bfrom\s*)?|^export\s[^'"]*?\bfrom\s*|\bimport\(\s*)['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || builtins.has(spec)) continue;
      if (spec.startsWith('.')) {
        if (!existsSync(resolve(dirname(f), spec))) problems.push(`${relative(DIST, f)} imports ${spec}, not in dist/`);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!(name in pkg.dependencies)) problems.push(`${relative(DIST, f)} imports ${spec}, not a production dependency`);
    }
  }
  assert.deepEqual(problems, []);
});
