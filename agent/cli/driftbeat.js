#!/usr/bin/env node
// The driftbeat command. The agent is TypeScript run through tsx's loader (compiled on the
// fly and cached), so a clone runs with `npm ci` and no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: watchers and database handles must not keep a finished command alive.
// stdout/stderr are synchronous for files and pipes on Linux, so nothing printed is lost.
process.exit(code);
