/**
 * Outcomes waiting for their prediction: a bounded set, persisted to `<path.data>/feedback/<input>.pending.json`
 * (temp file, fsync, rename) at most every `flushMs` and on close.
 *
 * One entry per prediction id: of two outcomes for the same prediction the one with the later label
 * time wins (the later read on a tie), as in the outcome store. The set also answers the ack gate:
 * the lowest line offset still waiting in each file, so the registry never moves past a waiting
 * line. After a crash, lines from the acknowledged offset are read again; the entries loaded from
 * the file keep their first-seen time (the give-up clock does not restart).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import type { FeedbackEvent } from './feedback.ts';

export interface PendingEntry {
  event: FeedbackEvent;
  /** When the outcome was first read (epoch ms): it is given up `give_up_after` later. */
  firstSeen: number;
}

/** true when `a` should replace `b` as the outcome of one prediction. */
export function supersedes(a: FeedbackEvent, b: FeedbackEvent): boolean {
  return a.ts >= b.ts;
}

export class PendingSet {
  readonly file: string;
  readonly max: number;
  readonly #entries = new Map<string, PendingEntry>();
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, max: number, private readonly flushMs = 1000) {
    this.file = file;
    this.max = max;
    mkdirSync(dirname(file), { recursive: true });
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { entries?: PendingEntry[] };
      for (const e of saved.entries ?? []) this.#entries.set(e.event.id, e);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get full(): boolean {
    return this.#entries.size >= this.max;
  }

  entries(): PendingEntry[] {
    return [...this.#entries.values()];
  }

  get(id: string): PendingEntry | undefined {
    return this.#entries.get(id);
  }

  /** Adds (or supersedes) the waiting outcome of one prediction; returns the entry that now waits. */
  add(event: FeedbackEvent, now: number): PendingEntry {
    const prev = this.#entries.get(event.id);
    if (prev && !supersedes(event, prev.event)) return prev;
    // The same line read again after a restart keeps its first-seen time.
    const same = prev && prev.event.key === event.key && prev.event.offset === event.offset;
    const entry = { event, firstSeen: same ? prev.firstSeen : prev ? Math.min(prev.firstSeen, now) : now };
    this.#entries.set(event.id, entry);
    this.#mark();
    return entry;
  }

  delete(id: string): boolean {
    const had = this.#entries.delete(id);
    if (had) this.#mark();
    return had;
  }

  /** The lowest start offset of a waiting line of file `key`, or undefined. */
  minOffset(key: string): number | undefined {
    let min: number | undefined;
    for (const e of this.#entries.values()) {
      if (e.event.key === key && (min === undefined || e.event.offset < min)) min = e.event.offset;
    }
    return min;
  }

  #mark(): void {
    this.#dirty = true;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.flushMs);
    this.#timer.unref();
  }

  /** Writes the set if it changed (atomic: temp file, fsync, rename). */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      await writeFileAtomic(this.file, JSON.stringify({ version: 1, entries: [...this.#entries.values()] }));
    });
    return this.#writing;
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
