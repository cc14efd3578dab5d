/**
 * The file sources' two gauges, summed over every source: bytes not yet acknowledged (the registry
 * lag, also shown by the progress line of `run --once`) and files waiting for a descriptor.
 */
import { filesWaiting, registryLagBytes } from '../../telemetry/metrics.ts';

/** Each source's share; the gauges show the sums. */
const lagBySource = new Map<object, number>();
const waitingBySource = new Map<object, number>();
const sum = (m: Map<object, number>): number => [...m.values()].reduce((a, v) => a + v, 0);

/** Sets one source's share (or drops it with `undefined`) and publishes the sums. */
export function publishShare(source: object, share: { lag?: number; waiting?: number } | undefined): void {
  if (share === undefined) {
    lagBySource.delete(source);
    waitingBySource.delete(source);
  } else {
    if (share.lag !== undefined) lagBySource.set(source, share.lag);
    if (share.waiting !== undefined) waitingBySource.set(source, share.waiting);
  }
  registryLagBytes.set(sum(lagBySource));
  filesWaiting.set(sum(waitingBySource));
}

/** Bytes of the input files not yet acknowledged, over every source (what the gauge shows). */
export function registryLag(): number {
  return sum(lagBySource);
}
