/**
 * The example watches in kibana/watches/, generated from the rules in rules/ with
 * kibana/watches/driftbeat.yml (each file's metadata.driftbeat.generated_by says so: JSON has no
 * room for a header). The compiler is agent/backends/watcher/; this script only writes its output.
 * Run after changing a rule in rules/ or the compiler:
 *
 *   node --import tsx agent/assets/watches.ts           # write
 *   node --import tsx agent/assets/watches.ts --check   # exit 1 when a file is stale
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWatchSource, writeWatches } from '../backends/watcher/export.ts';
import type { GeneratedSet } from '../backends/watcher/types.ts';
import { generateWatches, watchJson } from '../backends/watcher/watch.ts';

export const EXAMPLE_WATCHES_DIR = fileURLToPath(new URL('../../kibana/watches/', import.meta.url));
export const EXAMPLE_CONFIG = join(EXAMPLE_WATCHES_DIR, 'driftbeat.yml');
export const EXAMPLE_RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
export const EXAMPLE_GENERATED_BY = 'node --import tsx agent/assets/watches.ts (from rules/ with kibana/watches/driftbeat.yml)';

/**
 * The environment the example watches are generated with: fixed, so the files do not depend on
 * who regenerates them, and placeholders, never secrets (the JSON shows where each value goes).
 */
export const EXAMPLE_ENV: Readonly<Record<string, string>> = {
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/EXAMPLE/EXAMPLE/EXAMPLE',
  SMTP_USER: 'driftbeat',
  SMTP_PASSWORD: 'example-password',
  RETRAIN_TOKEN: 'example-retrain-token',
};

/** The example watches, without profiles (what each can and cannot check is in its metadata). */
export async function exampleWatches(): Promise<GeneratedSet> {
  const src = loadWatchSource(EXAMPLE_CONFIG, { rulesPath: EXAMPLE_RULES_DIR, env: { ...EXAMPLE_ENV } });
  for (const r of src.rules) r.source = { ...r.source, file: basename(r.source.file) };
  return generateWatches(src, { generatedBy: EXAMPLE_GENERATED_BY });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const set = await exampleWatches();
  if (process.argv.includes('--check')) {
    const stale = set.watches.filter((w) => {
      try {
        return readFileSync(join(EXAMPLE_WATCHES_DIR, `${w.id}.json`), 'utf8') !== watchJson(w);
      } catch {
        return true;
      }
    });
    if (stale.length) {
      process.stderr.write(`stale: ${stale.map((w) => w.id).join(', ')}: run node --import tsx agent/assets/watches.ts\n`);
      process.exit(1);
    }
    process.stdout.write('kibana/watches is up to date\n');
  } else {
    for (const f of writeWatches(set.watches, EXAMPLE_WATCHES_DIR)) process.stdout.write(`wrote ${f}\n`);
    for (const w of set.warnings) process.stdout.write(`${w}\n`);
  }
}

