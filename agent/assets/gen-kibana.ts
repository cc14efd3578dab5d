/**
 * Writes kibana/driftbeat.ndjson from agent/assets/kibana.ts (NDJSON has no room for a header:
 * each object's description says it is generated). Run after changing kibana.ts:
 *
 *   node --import tsx agent/assets/gen-kibana.ts           # write
 *   node --import tsx agent/assets/gen-kibana.ts --check   # exit 1 when the file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildKibanaObjects, toNdjson } from './kibana.ts';

export const KIBANA_FILE = fileURLToPath(new URL('../../kibana/driftbeat.ndjson', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = toNdjson(buildKibanaObjects());
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(KIBANA_FILE, 'utf8');
    } catch { /* missing counts as stale */ }
    if (current !== text) {
      process.stderr.write(`${KIBANA_FILE} is stale: run node --import tsx agent/assets/gen-kibana.ts\n`);
      process.exit(1);
    }
    process.stdout.write(`${KIBANA_FILE} is up to date\n`);
  } else {
    writeFileSync(KIBANA_FILE, text);
    process.stdout.write(`wrote ${KIBANA_FILE}\n`);
  }
}
