/**
 * For a long loop on the main thread: `turn()` gives the event loop a turn once `sliceMs` have
 * passed since the last one, so I/O callbacks waiting meanwhile (the embedded store's statements)
 * are not held up until the loop ends. Call it between units of work; it resolves at once otherwise.
 */
import { setImmediate } from 'node:timers/promises';

export function timeSlice(sliceMs: number): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await setImmediate();
    since = performance.now();
  };
}
