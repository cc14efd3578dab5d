/**
 * Reads one open file from an offset and hands its lines on (Filebeat's harvester).
 *
 * - Reads 64 KiB chunks by position through the file handle it owns, so a rename (rotation) or
 *   an unlink does not stop it: the open descriptor is read to its end.
 * - At the end of the file it polls for growth (backoff from `pollMin` to `pollMax`; wake() cuts
 *   the wait short when a file-system event says the file changed).
 * - A size below the read offset, or first bytes that no longer match the fingerprint, means the
 *   file was truncated (copytruncate): it restarts at 0 under a new key (see identity.ts).
 * - It closes once a deleted file is read to its end (`closeRemoved`), or after `closeInactive`
 *   without growth; the source reopens it from `resumeOffset` when it grows again.
 * - onLines() returning a promise is backpressure: nothing more is read until it settles.
 */
import type { FileHandle } from 'node:fs/promises';
import { bytesRead, linesRead } from '../../telemetry/metrics.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';
import { fingerprintMatches, readFingerprint, type Fingerprint } from './identity.ts';
import type { GunzipReader } from './gzip.ts';
import { LineSplitter, type SplitLine } from './lines.ts';

/** One line of a file. offset: its first byte; end: just after its newline (what to ack). */
export interface RawLine {
  key: string;
  path: string;
  offset: number;
  end: number;
  /** Without the newline. A view into its read chunk (never overwritten): keeping it keeps that chunk alive. */
  line: Buffer;
  tooLong: boolean;
}

/** ended: a compressed file read to its end (it never grows). */
export type CloseReason = 'removed' | 'inactive' | 'stopped' | 'error' | 'ended';

export interface HarvesterOptions {
  input: string;
  path: string;
  fh: FileHandle;
  key: string;
  offset: number;
  fingerprint: Fingerprint;
  fingerprintBytes: number;
  maxLineBytes: number;
  closeRemoved: boolean;
  /** Close after this long at the end of the file without growth (ms). */
  closeInactive: number;
  chunkBytes?: number;
  /**
   * The consumer copies every line before onLines returns (the pipeline copies into its slabs), so
   * the read buffer can be reused for the next chunk instead of being left to the lines: memory then
   * stays flat however large the file.
   */
  consumerCopies?: boolean;
  pollMin?: number;
  pollMax?: number;
  logger?: Logger;
  onLines: (lines: RawLine[]) => void | Promise<void>;
  /** The file was truncated; resolves to the key the new content is read under (once it is persisted). */
  onTruncate: (h: Harvester, fp: Fingerprint) => Promise<string>;
  /**
   * The fingerprint grew (the file was shorter than fingerprint_bytes before). Lines past the old
   * fingerprint are handed on once the returned promise settles: a copy of the file is known by
   * the fingerprint the registry holds, so it must cover every line delivered.
   */
  onFingerprint?: (h: Harvester, fp: Fingerprint) => void | Promise<void>;
  onClose?: (h: Harvester, reason: CloseReason) => void;
  /** A compressed file (gzip.ts): its decompressed bytes are read once, from `offset`, to the end. */
  gunzip?: GunzipReader;
}

const DEFAULT_CHUNK = 64 * 1024;

export class Harvester {
  key: string;
  path: string;
  readonly input: string;
  fingerprint: Fingerprint;
  /** Largest size seen (for the registry lag). */
  size = 0;
  /** Resolves when the harvester has closed (it never rejects). */
  readonly done: Promise<void>;
  private readonly o: HarvesterOptions;
  private readonly logger: Logger;
  private readonly splitter: LineSplitter;
  private readonly chunkBytes: number;
  private buf: Buffer;
  /** Bytes consumed (lines handed on, plus the pending partial line). */
  private readOffset: number;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private stopWait: Promise<void>;
  private resolveStop!: () => void;
  private waiters: { target: number; resolve: () => void }[] = [];
  private closed = false;
  private resolveDone!: () => void;
  /** Close at the end of the file instead of waiting for growth (max_open_files reached). */
  private closeWhenIdle = false;

  constructor(o: HarvesterOptions) {
    this.o = o;
    this.key = o.key;
    this.path = o.path;
    this.input = o.input;
    this.fingerprint = o.fingerprint;
    this.logger = o.logger ?? silentLogger;
    this.chunkBytes = o.chunkBytes ?? DEFAULT_CHUNK;
    this.buf = Buffer.allocUnsafe(this.chunkBytes);
    this.readOffset = o.offset;
    this.size = o.offset;
    this.splitter = new LineSplitter(o.maxLineBytes, o.offset);
    this.stopWait = new Promise((r) => (this.resolveStop = r));
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Where a new harvester of this file must start: the start of the pending partial line. */
  get resumeOffset(): number {
    return this.splitter.resumeOffset;
  }

  get offset(): number {
    return this.readOffset;
  }

  /** A compressed file: read once to its end, then closed ('ended'). */
  get compressed(): boolean {
    return this.o.gunzip !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts reading; with `after`, not before it settles (the source persists a new key first). */
  start(after?: Promise<unknown>): void {
    void this.run(after);
  }

  /**
   * Asks the harvester to close ('inactive') once it is at the end of the file, to free its
   * descriptor for a file waiting for one; the source reopens this one when it grows.
   */
  closeAtEnd(): void {
    this.closeWhenIdle = true;
    this.wake();
  }

  /** Reads now instead of at the end of the current poll wait. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Resolves once everything before `target` has been handed to onLines (or the harvester closed). */
  waitFor(target: number): Promise<void> {
    if (this.closed || this.readOffset >= target) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ target, resolve }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.resolveStop();
    this.wake();
    await this.done;
  }

  private async run(after?: Promise<unknown>): Promise<void> {
    let reason: CloseReason = 'stopped';
    const pollMin = this.o.pollMin ?? 100;
    const pollMax = this.o.pollMax ?? 1000;
    let delay = pollMin;
    let idleSince = Date.now();
    try {
      await after?.catch(() => undefined);
      if (this.o.gunzip) {
        await this.readCompressed();
        reason = this.stopping ? 'stopped' : 'ended';
      }
      outer: while (!this.stopping && !this.o.gunzip) {
        const n = await this.readChunk();
        if (this.stopping) break;
        if (n > 0) {
          delay = pollMin;
          idleSince = Date.now();
          continue;
        }
        this.release();
        // At the end of the file: wait for it to grow, change or go.
        for (;;) {
          const st = await this.o.fh.stat();
          if (st.size > this.size) this.size = st.size;
          if (st.size < this.readOffset) {
            await this.truncated(`its size ${st.size} is below the read offset ${this.readOffset}`);
            break;
          }
          if (this.fingerprint.length < this.o.fingerprintBytes && st.size > this.fingerprint.length) {
            await this.upgradeFingerprint();
          }
          if (st.size > this.readOffset) {
            // Truncated and rewritten past our offset between two looks (copytruncate): only the
            // first bytes tell.
            if (!(await fingerprintMatches(this.o.fh, this.fingerprint))) await this.truncated('its first bytes changed');
            break;
          }
          if (st.nlink === 0 && this.o.closeRemoved) {
            reason = 'removed';
            break outer;
          }
          if (this.closeWhenIdle || Date.now() - idleSince >= this.o.closeInactive) {
            reason = 'inactive';
            break outer;
          }
          await this.sleep(delay);
          delay = Math.min(delay * 2, pollMax);
          if (this.stopping) break outer;
        }
      }
    } catch (err) {
      reason = 'error';
      this.logger.warn({ err, 'file.path': this.path, 'log.offset': this.readOffset }, `input "${this.input}": reading ${this.path} failed (${err instanceof Error ? err.message : String(err)}); it is retried at the next scan`);
    }
    await this.close(reason);
  }

  /** A compressed file: skips to the start offset, then hands on every decompressed chunk. */
  private async readCompressed(): Promise<void> {
    const gz = this.o.gunzip!;
    let c = await gz.skipTo(this.readOffset);
    while (c && !this.stopping) {
      if (c.length > 0) await this.handOn(c, this.readOffset, c.length, false);
      c = await gz.next();
    }
    gz.close();
  }

  /** Reads and hands on one chunk; returns the bytes read (0 at the end of the file). */
  private async readChunk(): Promise<number> {
    const { bytesRead: n } = await this.o.fh.read(this.buf, 0, this.buf.length, this.readOffset);
    if (n === 0) return 0;
    const at = this.readOffset;
    // Opened short (a file just truncated by copytruncate is often empty): take the whole
    // fingerprint as soon as the bytes are there, before handing lines on. Waiting for the end of
    // the file left it partial in the registry for as long as the pipeline pushed back (an outage),
    // and a copy of the file taken meanwhile was not recognised: read again from 0 under a new key.
    if (this.fingerprint.length < this.o.fingerprintBytes && at + n > this.fingerprint.length) await this.upgradeFingerprint();
    const waited = await this.handOn(this.buf, at, n, true);
    // Waiting for the pipeline gave a copytruncate time to happen: look before reading on, or
    // the next read would take new lines at old offsets.
    if (waited) await this.checkTruncated();
    return n;
  }

  /** Truncated while we waited (size below our offset, or other first bytes)? Restarts at 0 then. */
  private async checkTruncated(): Promise<void> {
    const st = await this.o.fh.stat();
    if (st.size < this.readOffset) await this.truncated(`its size ${st.size} is below the read offset ${this.readOffset}`);
    else if (!(await fingerprintMatches(this.o.fh, this.fingerprint))) await this.truncated('its first bytes changed');
  }

  /**
   * Splits `n` bytes of `src` (at file offset `at`) into lines and hands them on; true when the
   * consumer made us wait (backpressure). `reusable`: src is our read buffer.
   */
  private async handOn(src: Buffer, at: number, n: number, reusable: boolean): Promise<boolean> {
    let chunk: Buffer;
    let handedOver = false;
    if (!reusable) {
      chunk = src.subarray(0, n);
    } else if (this.o.consumerCopies) {
      chunk = this.buf.subarray(0, n);
    } else if (n < this.buf.length >> 2) {
      // A small read (a file growing slowly): copy it so that a few short lines do not each keep
      // a 64 KiB buffer alive while they wait in the queue.
      chunk = Buffer.from(this.buf.subarray(0, n));
    } else {
      chunk = this.buf.subarray(0, n);
      handedOver = true;
    }
    let waited = false;
    const split: SplitLine[] = this.splitter.push(chunk, at);
    this.readOffset = at + n;
    if (this.readOffset > this.size) this.size = this.readOffset;
    // Lines are views into `chunk`: the buffer now belongs to them, read the next chunk elsewhere.
    if (handedOver && split.length > 0) this.buf = Buffer.allocUnsafe(this.chunkBytes);
    bytesRead.inc({ input: this.input }, n);
    if (split.length > 0) {
      linesRead.inc({ input: this.input }, split.length);
      const key = this.key;
      const path = this.path;
      const lines: RawLine[] = new Array(split.length);
      for (let i = 0; i < split.length; i++) {
        const s = split[i]!;
        lines[i] = { key, path, offset: s.offset, end: s.end, line: s.line, tooLong: s.tooLong };
      }
      try {
        const pending = this.o.onLines(lines);
        if (pending) {
          waited = true;
          const settled = Promise.resolve(pending);
          // Stop may win the race; a later rejection must not go unhandled.
          settled.catch(() => undefined);
          await Promise.race([settled, this.stopWait]);
        }
      } catch (err) {
        // Not handed on: the next harvester of this file starts again at these lines.
        this.splitter.reset(split[0]!.offset);
        this.readOffset = split[0]!.offset;
        throw err;
      }
    }
    this.release();
    return waited;
  }

  private release(): void {
    if (this.waiters.length === 0) return;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) (this.readOffset >= w.target ? w.resolve() : keep.push(w));
    this.waiters = keep;
  }

  private async truncated(why: string): Promise<void> {
    const fp = await readFingerprint(this.o.fh, this.o.fingerprintBytes);
    const old = this.key;
    this.fingerprint = fp;
    this.key = await this.o.onTruncate(this, fp);
    this.readOffset = 0;
    this.size = 0;
    this.splitter.reset(0);
    this.logger.info({ 'file.path': this.path }, `input "${this.input}": ${this.path} was truncated (${why}); reading it from the start as ${this.key} (was ${old})`);
    // Waiters were waiting for content that is gone.
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  private async upgradeFingerprint(): Promise<void> {
    const fp = await readFingerprint(this.o.fh, this.o.fingerprintBytes);
    if (fp.length <= this.fingerprint.length) return;
    // The longer fingerprint must extend the bytes we read: otherwise the content was replaced.
    if (!(await fingerprintMatches(this.o.fh, this.fingerprint))) return;
    this.fingerprint = fp;
    await this.o.onFingerprint?.(this, fp);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private async close(reason: CloseReason): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    try {
      await this.o.fh.close();
    } catch {
      // Already closed or the descriptor is gone: nothing left to release.
    }
    try {
      this.o.onClose?.(this, reason);
    } finally {
      this.resolveDone();
    }
  }
}
