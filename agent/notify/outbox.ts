/**
 * A persisted outbox: every message is written to disk before anyone tries to send it, and is
 * removed only once its notifier took it. Layout under `<path.data>/outbox/`:
 *
 *   n-<notifier>/pending/<enqueue time>-<seq>-<message id>.json   waiting or being retried
 *   n-<notifier>/sent/<message id>                                delivered (for de-duplication, pruned after a week)
 *   n-<notifier>/failed/<message id>.json                         gave up after max_attempts (kept for inspection)
 *
 * One loop per notifier, in enqueue order (a recovery never overtakes its firing), so a failing
 * channel delays only itself. Backoff doubles from `initial_backoff` up to `max_backoff` with a
 * little jitter; a Retry-After from the server is honoured when longer. A message that still fails
 * after `max_attempts`, or that the server rejects as malformed, is logged at error level and
 * counted in driftbeat_alerts_undeliverable_total.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { NotifyError } from '../errors.ts';
import { writeFileAtomicSync } from '../lib/atomic-write.ts';
import { backoffDelay } from '../lib/backoff.ts';
import { alertsFailed, alertsSent } from '../telemetry/metrics.ts';
import type { Logger } from '../telemetry/logger.ts';
import { redact } from '../telemetry/redact.ts';
import { DeliveryError, errorFields, type Notifier } from './notifier.ts';
import type { AlertMessage } from './render.ts';

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoff: number;
  maxBackoff: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, initialBackoff: 1000, maxBackoff: 300_000 };

/** A Retry-After longer than this is capped, so a broken header cannot park a channel for days. */
const MAX_RETRY_AFTER_MS = 3_600_000;
const SENT_KEEP_MS = 7 * 86_400_000;

export interface OutboxEntry {
  id: string;
  notifier: string;
  message: AlertMessage;
  attempts: number;
  /** Epoch ms before which the entry is not tried again. */
  nextAttemptAt: number;
  createdAt: string;
  lastError?: string;
}

/** Delay before attempt `attempts + 1`, after `attempts` failures: the backoff, or a longer Retry-After. Pure. */
export function deliveryDelay(policy: RetryPolicy, attempts: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const jittered = backoffDelay(attempts - 1, { initial: policy.initialBackoff, max: policy.maxBackoff, jitter: 0.2 }, random);
  return retryAfterMs !== undefined ? Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)) : jittered;
}

export interface OutboxOptions {
  /** `<path.data>/outbox`. */
  dir: string;
  notifiers: Map<string, Notifier>;
  retry?: (notifier: string) => RetryPolicy;
  logger: Logger;
  random?: () => number;
}

interface Channel {
  name: string;
  notifier: Notifier;
  dir: string;
  wake: () => void;
  wakeup: Promise<void>;
  loop?: Promise<void>;
}

export class Outbox {
  private readonly opts: OutboxOptions;
  private readonly channels = new Map<string, Channel>();
  private seq = 0;
  private running = false;
  private stopping = false;
  private abort = new AbortController();

  constructor(opts: OutboxOptions) {
    this.opts = opts;
    mkdirSync(opts.dir, { recursive: true });
    for (const [name, notifier] of opts.notifiers) {
      const dir = join(opts.dir, `n-${name}`);
      for (const sub of ['pending', 'sent', 'failed']) mkdirSync(join(dir, sub), { recursive: true });
      const ch: Channel = { name, notifier, dir, wake: () => {}, wakeup: Promise.resolve() };
      this.rearm(ch);
      this.channels.set(name, ch);
    }
  }

  private rearm(ch: Channel): void {
    ch.wakeup = new Promise<void>((resolve) => { ch.wake = resolve; });
  }

  private policy(name: string): RetryPolicy {
    return this.opts.retry?.(name) ?? DEFAULT_RETRY;
  }

  has(notifier: string): boolean {
    return this.channels.has(notifier);
  }

  /**
   * Persists a message for one notifier (fsync before returning). Returns false when the message id
   * is already pending, sent or failed for that notifier, so replays after a restart send nothing.
   */
  enqueue(notifier: string, message: AlertMessage): boolean {
    const ch = this.channels.get(notifier);
    if (!ch) throw new NotifyError('ERR_NOTIFY_UNKNOWN', `notifier "${notifier}" is not configured; add it under notifiers: in the config or remove it from the rule's notify:`);
    if (this.known(ch, message.id)) return false;
    const entry: OutboxEntry = { id: message.id, notifier, message, attempts: 0, nextAttemptAt: 0, createdAt: new Date().toISOString() };
    const file = `${String(Date.now()).padStart(15, '0')}-${String(this.seq++ % 1e6).padStart(6, '0')}-${message.id}.json`;
    writeFileAtomicSync(join(ch.dir, 'pending', file), JSON.stringify(entry));
    ch.wake();
    return true;
  }

  private known(ch: Channel, id: string): boolean {
    if (existsSync(join(ch.dir, 'sent', id)) || existsSync(join(ch.dir, 'failed', `${id}.json`))) return true;
    return this.pendingFiles(ch).some((f) => f.endsWith(`-${id}.json`));
  }

  private pendingFiles(ch: Channel): string[] {
    return readdirSync(join(ch.dir, 'pending')).filter((f) => f.endsWith('.json')).sort();
  }

  /** Messages waiting per notifier (or for one). */
  pending(notifier?: string): number {
    let n = 0;
    for (const ch of this.channels.values()) if (!notifier || ch.name === notifier) n += this.pendingFiles(ch).length;
    return n;
  }

  /** Messages given up for one notifier. */
  failed(notifier: string): number {
    const ch = this.channels.get(notifier);
    return ch ? readdirSync(join(ch.dir, 'failed')).filter((f) => f.endsWith('.json')).length : 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.abort = new AbortController();
    this.warnOrphans();
    for (const ch of this.channels.values()) {
      this.pruneSent(ch);
      ch.loop = this.run(ch).catch((err) => {
        this.opts.logger.error({ ...errorFields(err), 'notifier.name': ch.name }, `outbox loop of notifier "${ch.name}" stopped on an unexpected error; messages stay in the outbox until the next start`);
      });
    }
  }

  /**
   * Sends what is due now, for at most `timeoutMs`, then stops. What is left stays on disk and is
   * sent at the next start. Safe without start and safe twice.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    for (const ch of this.channels.values()) ch.wake();
    const loops = [...this.channels.values()].map((c) => c.loop);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    await Promise.race([Promise.all(loops), deadline]);
    clearTimeout(timer);
    this.abort.abort();
    await Promise.all(loops);
    for (const ch of this.channels.values()) {
      delete ch.loop;
      const left = this.pendingFiles(ch).length;
      if (left > 0) this.opts.logger.warn({ 'notifier.name': ch.name, pending: left }, `notifier "${ch.name}": ${left} message(s) kept in the outbox for the next start`);
    }
    this.running = false;
  }

  /** Resolves once every channel is empty, or after `timeoutMs` (returns false then). For tests and `rules test`. */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.pending() === 0) return true;
      await sleepTimer(10);
    }
    return this.pending() === 0;
  }

  private warnOrphans(): void {
    for (const d of readdirSync(this.opts.dir)) {
      if (!d.startsWith('n-') || this.channels.has(d.slice(2))) continue;
      const p = join(this.opts.dir, d, 'pending');
      const n = existsSync(p) ? readdirSync(p).filter((f) => f.endsWith('.json')).length : 0;
      if (n > 0) this.opts.logger.warn({ 'notifier.name': d.slice(2), pending: n }, `outbox holds ${n} message(s) for notifier "${d.slice(2)}", which is no longer configured; they are kept in ${p}`);
    }
  }

  private pruneSent(ch: Channel): void {
    const dir = join(ch.dir, 'sent');
    const old = Date.now() - SENT_KEEP_MS;
    for (const f of readdirSync(dir)) {
      try {
        if (statSync(join(dir, f)).mtimeMs < old) unlinkSync(join(dir, f));
      } catch { /* pruning is best effort */ }
    }
  }

  /** Waits `ms`, or less when woken (enqueue, stop) or aborted. */
  private async wait(ms: number, ch: Channel): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => ch.wake();
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    await Promise.race([ch.wakeup, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
    clearTimeout(timer);
    this.abort.signal.removeEventListener('abort', onAbort);
  }

  private async run(ch: Channel): Promise<void> {
    while (!this.abort.signal.aborted) {
      // Re-armed before looking, so an enqueue or stop() after the look still wakes the wait below.
      this.rearm(ch);
      const files = this.pendingFiles(ch);
      if (files.length === 0) {
        if (this.stopping) return;
        await this.wait(1000, ch);
        continue;
      }
      const file = join(ch.dir, 'pending', files[0]!);
      let entry: OutboxEntry;
      try {
        entry = JSON.parse(readFileSync(file, 'utf8')) as OutboxEntry;
      } catch (err) {
        // A torn or hand-edited file must not wedge the channel.
        this.opts.logger.error({ ...errorFields(err), file }, `outbox file ${file} is unreadable; moved aside to failed/`);
        renameSync(file, join(ch.dir, 'failed', files[0]!));
        alertsFailed.inc({ notifier: ch.name });
        continue;
      }
      const due = entry.nextAttemptAt - Date.now();
      if (due > 0) {
        if (this.stopping) return;
        await this.wait(due, ch);
        continue;
      }
      await this.attempt(ch, file, entry);
    }
  }

  private async attempt(ch: Channel, file: string, entry: OutboxEntry): Promise<void> {
    const policy = this.policy(ch.name);
    const log = this.opts.logger;
    const ctx = { 'notifier.name': ch.name, 'notifier.type': ch.notifier.type, 'alert.key': entry.message.alert.key, 'event.action': entry.message.kind, 'message.id': entry.id };
    try {
      await ch.notifier.send(entry.message, this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return; // interrupted by stop: not a failed attempt
      const d = err instanceof DeliveryError ? err : new DeliveryError('ERR_NOTIFY_FAILED', `notifier "${ch.name}": ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
      entry.attempts += 1;
      entry.lastError = redact(d.message);
      if (!d.retryable || entry.attempts >= policy.maxAttempts) {
        const why = d.retryable ? `after ${entry.attempts} attempts` : 'the server rejected it as invalid';
        log.error({ ...ctx, ...errorFields(d), attempts: entry.attempts },
          `ALERT NOT DELIVERED: notifier "${ch.name}" gave up on the ${entry.message.kind} message of ${entry.message.alert.key} ${why}: ${entry.lastError}; kept in ${join(ch.dir, 'failed')}`);
        writeFileAtomicSync(join(ch.dir, 'failed', `${entry.id}.json`), JSON.stringify(entry));
        unlinkSync(file);
        alertsFailed.inc({ notifier: ch.name });
        return;
      }
      const delay = deliveryDelay(policy, entry.attempts, d.retryAfterMs, this.opts.random);
      entry.nextAttemptAt = Date.now() + delay;
      writeFileAtomicSync(file, JSON.stringify(entry));
      log.warn({ ...ctx, ...errorFields(d), attempts: entry.attempts, 'retry.delay_ms': delay }, `notifier "${ch.name}": delivery failed (attempt ${entry.attempts} of ${policy.maxAttempts}): ${entry.lastError}; retrying in ${delay} ms`);
      return;
    }
    writeFileAtomicSync(join(ch.dir, 'sent', entry.id), '');
    unlinkSync(file);
    alertsSent.inc({ notifier: ch.name, kind: entry.message.kind });
    log.info(ctx, `notifier "${ch.name}" delivered the ${entry.message.kind} message of ${entry.message.alert.key}`);
  }
}
