/**
 * The command line as users meet it: every command has --help with examples, and exit codes
 * follow DESIGN.md (0 ok, 1 runtime failure, 2 invalid config or rules or usage).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../agent/cli/main.ts';
import { startAgent } from './support/agent-process.ts';

function allCommands(c: Command, prefix = ''): [string, Command][] {
  return c.commands.flatMap((sub) => {
    const name = `${prefix}${sub.name()}`;
    return [[name, sub] as [string, Command], ...allCommands(sub, `${name} `)];
  });
}

test('every command has --help with examples', () => {
  const program = buildProgram();
  const names = allCommands(program).map(([n]) => n);
  for (const expected of ['run', 'setup', 'reference build', 'rules validate', 'rules test', 'rules explain', 'watches export', 'alerts list', 'alerts silence', 'demo', 'version']) {
    assert.ok(names.includes(expected), `command "${expected}" exists (have: ${names.join(', ')})`);
  }
  for (const [name, cmd] of allCommands(program)) {
    let out = '';
    cmd.configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { out += s; } });
    cmd.outputHelp();
    assert.match(out, /Examples:\n\s+\$ driftbeat /, `driftbeat ${name} --help shows examples`);
  }
});

test('exit codes: 2 for usage errors and invalid config, 1 for runtime failures, 0 for success', async () => {
  const usage = startAgent(['no-such-command']);
  assert.equal(await usage.exited, 2);
  const badConfig = startAgent(['run', '-c', 'test/fixtures/config/bad_types.yml', '--check']);
  assert.equal(await badConfig.exited, 2);
  assert.match(badConfig.output(), /bad_types\.yml:8:20: output\.elasticsearch\.bulk_max_docs: expected a value > 0/);
  const missing = startAgent(['run', '-c', '/nonexistent/driftbeat.yml']);
  assert.equal(await missing.exited, 2);
  assert.match(missing.output(), /does not exist \(pass one with -c/);
  const ok = startAgent(['run', '-c', 'config.example.yml', '--check']);
  assert.equal(await ok.exited, 0, ok.output());
  const version = startAgent(['version']);
  assert.equal(await version.exited, 0);
  assert.match(version.output(), /^driftbeat \d+\.\d+\.\d+/);
});

test('the top-level help reads as sentences: no line break after "Elasticsearch"', async () => {
  const help = startAgent(['--help']);
  assert.equal(await help.exited, 0);
  const out = help.output();
  assert.doesNotMatch(out, /^Elasticsearch$/m, out);
  assert.match(out.replace(/\s+/g, ' '), /ship them to Elasticsearch or an embedded DuckDB store, run drift rules, send alerts\./);
});
