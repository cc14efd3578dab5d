// Entry of the normalize worker when the agent runs from its TypeScript sources: workers do not
// inherit the tsx loader the main thread registered, so register it here, then load the worker.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
