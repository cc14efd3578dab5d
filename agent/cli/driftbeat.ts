#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: a small young generation. The agent's garbage is short-lived documents
// and V8's default (16 MiB semi-spaces) costs ~20 MiB of RSS for no throughput (bench/RESULTS.md).
// It only takes effect at start-up, so it is on this line, the Docker ENTRYPOINT, `npm start` and
// the systemd example; `node dist/agent/cli/driftbeat.js` without it works the same, with more memory.
//
// The driftbeat command (package.json `bin`). Compiled by `tsc -p tsconfig.build.json` to
// dist/agent/cli/driftbeat.js (tsc keeps the line above), which `npm ci` builds (`prepare`) and
// `npm start` rebuilds (`prestart`). From the sources: `node --import tsx agent/cli/driftbeat.ts`.
import { main } from './main.ts';

const code = await main(process.argv.slice(2));
// Exit explicitly: watchers and database handles must not keep a finished command alive.
// stdout/stderr are synchronous for files and pipes on Linux, so nothing printed is lost.
process.exit(code);
