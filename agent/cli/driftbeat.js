#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: a small young generation. The agent's garbage is short-lived documents
// and V8's default (16 MiB semi-spaces) costs ~20 MiB of RSS for no throughput (bench/RESULTS.md).
// It only takes effect at start-up, so it is on this line, the Docker ENTRYPOINT, `npm start` and
// the systemd example; `node agent/cli/driftbeat.js` without it works the same, with more memory.
// The driftbeat command. Runs the compiled JavaScript in dist/ (built by `npm ci` / `npm run build`,
// see build.mjs) when it is at least as new as every TypeScript source; otherwise the sources
// through tsx's loader (compiled on the fly and cached), so an edited checkout never runs stale
// code and a clone without dist/ still runs. DRIFTBEAT_DIST=0 forces the sources, =1 forces dist/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const stamp = `${root}dist/BUILD`;

/** True when dist/ was built after the last change to any .ts file of the compiled folders (~2 ms). */
function distIsFresh() {
  if (process.env.DRIFTBEAT_DIST === '0' || !existsSync(stamp)) return false;
  if (process.env.DRIFTBEAT_DIST === '1') return true;
  const built = statSync(stamp).mtimeMs;
  const newer = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = `${dir}/${e.name}`;
      if (e.isDirectory() ? newer(p) : e.name.endsWith('.ts') && statSync(p).mtimeMs > built) return true;
    }
    return false;
  };
  return !['agent', 'demo', 'bench'].some((d) => existsSync(root + d) && newer(root + d));
}

let main;
if (distIsFresh()) {
  ({ main } = await import(`${root}dist/agent/cli/main.js`));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./main.ts'));
}
const code = await main(process.argv.slice(2));
// Exit explicitly: watchers and database handles must not keep a finished command alive.
// stdout/stderr are synchronous for files and pipes on Linux, so nothing printed is lost.
process.exit(code);
