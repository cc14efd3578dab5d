/**
 * The one exponential backoff of the agent (pure). Every retry loop asks it for its next wait:
 * the Elasticsearch sink and the embedded sink (whole-request retries), the notifier outbox, the
 * alert state store's connection, the ground-truth joiner, and the connection's dead-host pause.
 *
 * The ceiling doubles from `initial` up to `max`; `attempt` counts from 0 (the first retry waits
 * at most `initial`). The jitter is the share of the ceiling drawn at random:
 * - `1` (default): full jitter, a uniform wait in [0, ceiling). It spreads the agents of a fleet
 *   apart after a cluster restart (AWS architecture blog, "Exponential Backoff And Jitter").
 * - `0.2`: the wait is in [0.8 * ceiling, ceiling]: the outbox keeps its channel's rhythm close to
 *   the configured delays and only avoids lock-step among channels.
 * - `0`: no jitter, the ceiling itself (a local loop that nobody else shares).
 */

export interface Backoff {
  /** First ceiling in ms. */
  initial: number;
  /** Largest ceiling in ms (never below `initial`). */
  max: number;
  /** Share of the ceiling that is random, 0..1. Default 1 (full jitter). */
  jitter?: number;
}

/** The largest wait before retry number `attempt + 1`: min(max, initial * 2^attempt). */
export function backoffCeiling(attempt: number, cfg: Backoff): number {
  const initial = Math.max(0, cfg.initial);
  const max = Math.max(initial, cfg.max);
  // Cap the exponent so 2^attempt never overflows to Infinity on a retry loop that runs for days.
  const exp = Math.min(Math.max(0, attempt), 52);
  return Math.min(max, initial * 2 ** exp);
}

/** The wait in whole ms before retry number `attempt + 1` (attempt counts from 0). */
export function backoffDelay(attempt: number, cfg: Backoff, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, cfg);
  const jitter = Math.min(1, Math.max(0, cfg.jitter ?? 1));
  return Math.floor(ceiling * (1 - jitter + jitter * random()));
}
