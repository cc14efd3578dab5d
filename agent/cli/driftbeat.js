#!/usr/bin/env node
// The driftbeat command. The agent is TypeScript run through tsx's loader (compiled on the
// fly and cached), so a clone runs with `npm ci` and no build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
