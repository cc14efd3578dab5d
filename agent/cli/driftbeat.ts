#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1: a small young generation for the main thread (the normalize worker sets
// its own). With the worker, the main thread's garbage is short-lived (lines read and copied,
// responses); V8's default (16 MiB semi-spaces) costs ~20 MiB of RSS for no throughput, 4 MiB ~10
// MiB more than 1 over a long ship run; on the embedded store (normalizing on this thread) 1 costs
// ~3% of documents/s (bench/RESULTS.md). It only takes effect at start-up, so it is on this line,
// which is the one place it is decided: the Docker ENTRYPOINT, `npm start`, the systemd example and
// the benchmarks use the same flags (test/build.test.ts checks them). `node dist/agent/cli/driftbeat.js`
// without it works the same, with more memory.
//
// The driftbeat command (package.json `bin`). Compiled by `tsc -p tsconfig.build.json` to
// dist/agent/cli/driftbeat.js (tsc keeps the line above), which `npm ci` builds (`prepare`) and
// `npm start` rebuilds (`prestart`). From the sources: `node --import tsx agent/cli/driftbeat.ts`.
import { main } from './main.ts';

const code = await main(process.argv.slice(2));
// Exit explicitly: watchers and database handles must not keep a finished command alive.
// stdout/stderr are synchronous for files and pipes on Linux, so nothing printed is lost.
process.exit(code);
