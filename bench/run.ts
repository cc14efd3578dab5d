/**
 * `npm run bench`: runs the benchmarks in bench/*.bench.ts one after the other, each in its own
 * process, ship (the end-to-end one) first.
 *
 *   npm run bench                          # all of them, default sizes
 *   npm run bench -- ship --lines 3000000  # those whose name contains "ship", with these arguments
 *   npm run bench -- --list
 *
 * A first argument not starting with `--` picks benchmarks by name; the other arguments go to
 * each benchmark run. Not a test: figures are printed, nothing fails on a slow machine.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { machineLine } from './machine.ts';

const dir = import.meta.dirname;
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort((a, b) => (a === 'ship' ? -1 : b === 'ship' ? 1 : a.localeCompare(b)));

const argv = process.argv.slice(2);
if (argv.includes('--list')) {
  process.stdout.write(all.join('\n') + '\n');
  process.exit(0);
}
const name = argv[0] !== undefined && !argv[0].startsWith('--') ? argv[0] : undefined;
const rest = name === undefined ? argv : argv.slice(1);
const chosen = name ? all.filter((b) => b.includes(name)) : all;
if (chosen.length === 0) {
  process.stderr.write(`no benchmark matches "${name}"; there are: ${all.join(', ')}\n`);
  process.exit(2);
}

process.stdout.write(`${machineLine()}\nbenchmarks: ${chosen.join(', ')}\n`);
let failed = 0;
for (const b of chosen) {
  process.stdout.write(`\n=== ${b} ${rest.join(' ')}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, `${b}.bench.ts`), ...rest], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`${b}: exited with ${r.status ?? r.signal}\n`);
  }
}
process.exit(failed ? 1 : 0);
