#!/usr/bin/env node
// `npm run engine`: a real single-node OpenSearch on 127.0.0.1 in the foreground, built first if
// needed. Prints `READY http://127.0.0.1:<port>`; Ctrl-C (SIGINT) or SIGTERM stops it.
// Options: --port N (default 9200 when free, else any free port).
import { createServer } from 'node:net';
import { EngineUnavailableError, startEngine } from './launch.mjs';

const i = process.argv.indexOf('--port');
const wanted = i > 0 ? Number(process.argv[i + 1]) : 9200;
const free = (port) => new Promise((resolve) => {
  const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});
const port = wanted === 0 || (await free(wanted)) ? wanted : 0;
// The engine's stdin is a pipe from us: when this process ends, however it ends, the engine stops too.
let engine;
const stop = () => { if (engine) void engine.stop().then(() => process.exit(0)); else process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
try {
  engine = await startEngine({ port, stdio: 'inherit', log: (s) => console.error(s) });
  console.log(`READY ${engine.url}`);
  console.error(`OpenSearch ${engine.version} (pid ${engine.pid}); try: curl ${engine.url}/ ; stop with Ctrl-C`);
  const code = await engine.exited;
  process.exit(typeof code === 'number' ? code : 1);
} catch (err) {
  console.error(err instanceof EngineUnavailableError ? `npm run engine: ${err.message}` : err);
  process.exit(1);
}
