/**
 * One agent evaluates rules, the others stand by (DESIGN.md section 7): a lease document in
 * `<prefix>-state` (`lease:rules`) taken and renewed with optimistic concurrency.
 *
 * - Take: GET the document; absent -> `create` (409: someone else was first); held by us or
 *   expired -> `index` with `if_seq_no`/`if_primary_term` of what we read (409: someone else
 *   renewed or took it between our read and our write). Exactly one writer wins each round.
 * - The holder renews every `renew` (default ttl / 3). It believes it leads only until its own
 *   request time + ttl minus a safety margin, by its own clock, so it stops evaluating before any
 *   standby may take over; a standby takes over once `expires_at` has passed.
 * - stop() releases the lease (expires_at = 0, still with if_seq_no) so a standby takes over at its
 *   next attempt instead of waiting out the ttl.
 * Clock skew between hosts eats into the margin; keep clocks in sync (NTP) as for any lease.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { EngineClient } from '../engine/client.ts';
import { EngineResponseError } from '../engine/connection.ts';
import type { Logger } from '../telemetry/logger.ts';
import { redact } from '../telemetry/redact.ts';
import { errorFields } from '../notify/notifier.ts';

export interface Lease {
  /** True while this agent may evaluate rules. */
  isLeader(): boolean;
  start(): Promise<void>;
  stop(options?: { release?: boolean }): Promise<void>;
}

/** The embedded store is one process (DuckDB holds a file lock): always the leader. */
export class LocalLease implements Lease {
  isLeader(): boolean { return true; }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

export interface LeaseDoc {
  doc_type: 'lease';
  holder: string;
  /** Epoch ms by the holder's clock. */
  expires_at: number;
  acquired_at: string;
  renewed_at: string;
}

export interface ElasticsearchLeaseOptions {
  client: EngineClient;
  /** `<prefix>-state`. */
  index: string;
  id?: string;
  /** Unique per agent; default host name + random suffix. */
  holder?: string;
  ttlMs?: number;
  renewMs?: number;
  logger: Logger;
  /** Called when leadership changes. */
  onChange?: (leader: boolean) => void;
}

export class ElasticsearchLease implements Lease {
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewMs: number;
  private readonly opts: ElasticsearchLeaseOptions;
  private readonly id: string;
  private leaderUntil = 0;
  private timer?: NodeJS.Timeout;
  private running = false;
  private tick?: Promise<unknown>;
  private wasLeader = false;

  constructor(opts: ElasticsearchLeaseOptions) {
    this.opts = opts;
    this.id = opts.id ?? 'lease:rules';
    this.holder = opts.holder ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.renewMs = opts.renewMs ?? Math.max(100, Math.floor(this.ttlMs / 3));
  }

  isLeader(): boolean {
    return Date.now() < this.leaderUntil;
  }

  /**
   * One attempt to take or renew the lease. Returns whether this agent leads now.
   * The lease is read and written by id only, which is real-time in the engine, so no write waits
   * for a refresh: with `refresh=wait_for` every renewal took up to the index's refresh interval
   * (1 s), which a short lease cannot afford (found on the real engine).
   */
  async tryAcquire(): Promise<boolean> {
    const started = Date.now();
    const { client, index } = this.opts;
    try {
      let current: { doc: LeaseDoc; seqNo: number; primaryTerm: number } | undefined;
      try {
        const r = await client.get<LeaseDoc>({ index, id: this.id });
        if (r.found && r._source) current = { doc: r._source, seqNo: r._seq_no!, primaryTerm: r._primary_term! };
      } catch (err) {
        if (!(err instanceof EngineResponseError && err.statusCode === 404)) throw err;
      }
      const now = new Date(started).toISOString();
      const doc = (acquiredAt: string): LeaseDoc => ({ doc_type: 'lease', holder: this.holder, expires_at: started + this.ttlMs, acquired_at: acquiredAt, renewed_at: now });
      if (!current) {
        await client.create({ index, id: this.id, document: doc(now) });
      } else if (current.doc.holder === this.holder || current.doc.expires_at <= started) {
        const mine = current.doc.holder === this.holder;
        await client.index({ index, id: this.id, document: doc(mine ? current.doc.acquired_at : now), if_seq_no: current.seqNo, if_primary_term: current.primaryTerm });
      } else {
        this.leaderUntil = 0;
        return this.note(false, current.doc.holder);
      }
      // Lead a little less than the ttl, by our own clock from before the request.
      this.leaderUntil = started + this.ttlMs - Math.min(1000, Math.floor(this.ttlMs / 10));
      return this.note(true);
    } catch (err) {
      if (err instanceof EngineResponseError && err.statusCode === 409) {
        this.leaderUntil = 0;
        return this.note(false, 'another agent');
      }
      // Unreachable cluster: keep leading only until our lease runs out.
      this.opts.logger.warn(errorFields(err), redact(`rules lease: cannot reach ${index}: ${(err as Error).message}; ${this.isLeader() ? 'still leading until the lease expires' : 'standing by'}`));
      return this.note(this.isLeader());
    }
  }

  private note(leader: boolean, other?: string): boolean {
    if (leader !== this.wasLeader) {
      this.wasLeader = leader;
      if (leader) this.opts.logger.info({ 'lease.holder': this.holder }, `rules lease taken by ${this.holder}: this agent evaluates rules`);
      else this.opts.logger.info({ 'lease.holder': this.holder, 'lease.other': other }, `rules lease held by ${other ?? 'another agent'}: this agent stands by`);
      this.opts.onChange?.(leader);
    }
    return leader;
  }

  /** First attempt now, then one every `renewMs`. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      this.tick = this.tryAcquire();
      await this.tick;
      if (this.running) this.timer = setTimeout(() => { void loop(); }, this.renewMs);
    };
    await loop();
  }

  /**
   * Stops renewing and releases the lease if held (`release: false` leaves it to expire, as a
   * crashed agent would). Safe twice and without start.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.tick?.catch(() => undefined);
    if (!this.isLeader()) return;
    this.leaderUntil = 0;
    if (options.release === false) {
      this.note(false, 'nobody (stopped)');
      return;
    }
    try {
      const r = await this.opts.client.get<LeaseDoc>({ index: this.opts.index, id: this.id });
      if (r._source?.holder === this.holder) {
        await this.opts.client.index({
          index: this.opts.index, id: this.id, if_seq_no: r._seq_no!, if_primary_term: r._primary_term!,
          document: { ...r._source, expires_at: 0, renewed_at: new Date().toISOString() },
        });
      }
    } catch (err) {
      this.opts.logger.warn(errorFields(err), 'rules lease: could not release the lease; another agent takes over when it expires');
    }
    this.note(false, 'nobody (released)');
  }
}
