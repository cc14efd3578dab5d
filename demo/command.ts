/**
 * The `driftbeat demo` subcommand: the whole demo (default), or only the demo model writing
 * prediction logs in real time (`--write-only --out DIR`, what docker-compose.yml's demo-model
 * service runs). agent/cli/demo.ts wires it to commander.
 * The demo model uses demo/generate.ts, the seeded generator that tests and benchmarks share.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDuration } from '../agent/config/units.ts';
import { ConfigError, EXIT_OK, type Problem } from '../agent/errors.ts';
import { packagePath } from '../agent/paths.ts';
import type { DemoReport } from './run.ts';
import type { OutStream } from './terminal.ts';

export interface DemoCommandOptions {
  fast?: boolean;
  /** Data folder of the full demo (default ./demo-data). */
  data?: string;
  writeOnly?: boolean;
  /** Folder of the log files (--write-only). */
  out?: string;
  /** --write-only: stop after this long (e.g. 10m); default: run until SIGINT/SIGTERM. */
  duration?: string;
  /** --write-only: predictions per second (default 10). */
  rate?: string;
  /**
   * Into a search engine instead of the embedded store: a URL, or `true` to start the test engine
   * of test/engine/ (as `npm run engine` does), kept running after the demo until Ctrl-C.
   */
  engine?: string | boolean;
}

export interface DemoCommandIo {
  stdout?: OutStream;
  /** Stops the demo or --write-only (the CLI aborts on SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Receives the full demo's report (tests). */
  onReport?: (report: DemoReport) => void;
}

/** Checks the flag combination; every problem at once (exit 2). */
export function demoOptionProblems(o: DemoCommandOptions): Problem[] {
  const p: Problem[] = [];
  if (o.writeOnly) {
    if (!o.out) p.push({ key: '--out', message: 'expected a folder for the log files with --write-only, e.g. --write-only --out /logs' });
    if (o.fast) p.push({ key: '--fast', message: 'applies to the full demo, not to --write-only (which writes in real time; use --rate)' });
    if (o.data) p.push({ key: '--data', message: 'applies to the full demo; with --write-only the logs go to --out' });
    if (o.engine) p.push({ key: '--engine', message: 'applies to the full demo, not to --write-only' });
  } else {
    for (const k of ['out', 'duration', 'rate'] as const) {
      if (o[k] !== undefined) p.push({ key: `--${k}`, message: 'applies only with --write-only' });
    }
  }
  if (o.duration !== undefined) {
    const ms = parseDuration(o.duration);
    if (ms === undefined || !(ms > 0)) p.push({ key: '--duration', message: `expected a duration such as 10m or 1h, received ${JSON.stringify(o.duration)}` });
  }
  if (typeof o.engine === 'string' && !/^https?:\/\/[^/]/.test(o.engine)) p.push({ key: '--engine', message: `expected the URL of Elasticsearch or OpenSearch, e.g. http://127.0.0.1:9200, or no value to start one, received ${JSON.stringify(o.engine)}` });
  if (o.rate !== undefined && !(Number(o.rate) > 0)) p.push({ key: '--rate', message: `expected predictions per second > 0, received ${JSON.stringify(o.rate)}` });
  return p;
}

export async function demoCommand(o: DemoCommandOptions, io: DemoCommandIo = {}): Promise<number> {
  const problems = demoOptionProblems(o);
  if (problems.length > 0) throw new ConfigError(problems, 'ERR_DEMO_USAGE');
  const stdout = io.stdout ?? process.stdout;
  // Imported when run, so that registering the command loads neither DuckDB nor the generator.
  if (o.writeOnly) {
    const { runModelRealtime } = await import('./model.ts');
    const { writeTrainingCsv } = await import('./training.ts');
    // The training file beside the logs, for `driftbeat reference build` in a compose setup step.
    const training = join(resolve(o.out!), 'training', 'fraud-train.csv');
    if (!existsSync(training)) {
      mkdirSync(dirname(training), { recursive: true });
      writeTrainingCsv(training);
      stdout.write(`${new Date().toISOString()} demo model: training data in ${training} (driftbeat reference build --model fraud --version 1.4.2 ${training})\n`);
    }
    const lines = await runModelRealtime({
      outDir: resolve(o.out!),
      ...(o.rate !== undefined ? { rate: Number(o.rate) } : {}),
      ...(o.duration !== undefined ? { durationMs: parseDuration(o.duration)! } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      report: (text) => stdout.write(`${new Date().toISOString()} ${text}\n`),
    });
    stdout.write(`${new Date().toISOString()} demo model: stopped after ${lines} predictions\n`);
    return EXIT_OK;
  }
  const { runDemo } = await import('./run.ts');
  // --engine without a URL: the real OpenSearch of test/engine/ (needs Java 17 and Maven), started
  // the way `npm run engine` starts it, left running for exploring until Ctrl-C.
  let started: { url: string; pid: number; stop(): Promise<void> } | undefined;
  if (o.engine === true) {
    // From the package root: tsc compiles no .mjs, so the path relative to dist/demo/ would not exist.
    const { startEngine } = (await import(pathToFileURL(packagePath('test', 'engine', 'launch.mjs')).href)) as typeof import('../test/engine/launch.mjs');
    stdout.write('starting a local OpenSearch (test/engine, as `npm run engine` does)...\n');
    started = await startEngine({ port: 9200, log: (l: string) => stdout.write(`${l}\n`) }).catch(() => startEngine({ port: 0 }));
    stdout.write(`OpenSearch ready at ${started.url} (pid ${started.pid})\n\n`);
  }
  const engineUrl = typeof o.engine === 'string' ? o.engine : started?.url;
  try {
    const report = await runDemo({ ...(o.data ? { dataDir: o.data } : {}), fast: Boolean(o.fast), out: stdout, ...(io.signal ? { signal: io.signal } : {}), ...(engineUrl ? { engineUrl } : {}) });
    io.onReport?.(report);
    if (started) {
      stdout.write(`\nThe engine keeps running at ${started.url} for you to explore (curl ${started.url}/_cat/indices/driftbeat-demo-*?v); Ctrl-C stops it.\n`);
      await new Promise<void>((resolve) => {
        if (io.signal?.aborted) return resolve();
        io.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  } finally {
    await started?.stop();
  }
  return EXIT_OK;
}
