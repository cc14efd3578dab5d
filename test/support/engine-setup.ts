/**
 * `driftbeat setup --templates` for one test prefix on the real engine, so the ship-path tests write
 * into the data streams, mappings and settings a user gets after setup (not into indices the engine
 * would auto-create with dynamic mappings).
 */
import assert from 'node:assert/strict';
import { runSetup } from '../../agent/assets/setup.ts';
import { loadConfig } from '../../agent/config/load.ts';

export async function installTemplates(engineUrl: string, prefix: string): Promise<void> {
  const text = `
inputs:
  - paths: ["/nonexistent/*.jsonl"]
    model: { name: setup }
output:
  elasticsearch: { hosts: ["${engineUrl}"], index_prefix: ${prefix} }
`;
  const { config } = loadConfig('driftbeat.yml', { text, env: {} });
  const lines: string[] = [];
  const report = await runSetup({ config, steps: ['templates'], out: (l) => lines.push(l) });
  assert.ok(report.ok, lines.join('\n'));
}
