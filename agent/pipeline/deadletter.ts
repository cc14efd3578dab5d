/**
 * The local dead letter: an NDJSON file under `<path.data>/dead-letter/`, one object per line
 * that could not become a document or that the output refused permanently, with the reason,
 * the source file and byte offset. Written synchronously: an entry is on disk before the line's
 * offset is acknowledged. Rotated at `maxBytes` (one previous file kept).
 *
 * Every entry is also logged (warn), sampled so that a flood of bad lines cannot flood the log:
 * the first `logFirst` entries each, then at most one per `logIntervalMs` carrying the count of
 * entries not logged since the last one (`driftbeat.dead_letter.suppressed`). An operator sees bad
 * data in the log without reading the file.
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DeadLetterEntry, DeadLetterWriter } from '../sinks/sink.ts';

export const DEAD_LETTER_FILE = 'dead-letter.ndjson';
/**
 * How much of a line the dead letter keeps (README: "the first 16 KiB"). The one constant: the file
 * source keeps this much of a too-long line, the pipeline and the worker cut rejected lines to it.
 */
export const DEAD_LETTER_LINE_BYTES = 16 * 1024;
/** How much of the line a log record of a dead-lettered line quotes. */
const LOG_LINE_CHARS = 200;

export interface DeadLetterOptions {
  maxBytes?: number;
  logger?: Logger;
  /** Entries logged one by one before sampling starts (default 10). */
  logFirst?: number;
  /** After that, at most one log record per interval (default 10 s). */
  logIntervalMs?: number;
  now?: () => number;
}

/**
 * The sampling decision (pure but for its own counters): log the first `first` events, then one
 * per `intervalMs`, each reporting how many were suppressed since the previous logged one.
 */
export class LogSampler {
  private seen = 0;
  private suppressed = 0;
  private lastLoggedAt = -Infinity;
  constructor(private readonly first: number, private readonly intervalMs: number) {}

  /** undefined: do not log this one; a number: log it, with that many suppressed before it. */
  take(now: number): number | undefined {
    this.seen++;
    if (this.seen <= this.first || now - this.lastLoggedAt >= this.intervalMs) {
      const n = this.suppressed;
      this.suppressed = 0;
      this.lastLoggedAt = now;
      return n;
    }
    this.suppressed++;
    return undefined;
  }
}

export class FileDeadLetter implements DeadLetterWriter {
  readonly path: string;
  private size: number;
  private readonly maxBytes: number;
  private readonly logger: Logger | undefined;
  private readonly sampler: LogSampler;
  private readonly now: () => number;

  constructor(dir: string, options: DeadLetterOptions = {}) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, DEAD_LETTER_FILE);
    this.size = existsSync(this.path) ? statSync(this.path).size : 0;
    this.maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
    this.logger = options.logger;
    this.sampler = new LogSampler(options.logFirst ?? 10, options.logIntervalMs ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  write(entry: DeadLetterEntry): void {
    const kept = entry.line !== undefined && entry.line.length * 3 > DEAD_LETTER_LINE_BYTES ? { ...entry, line: cutUtf8(entry.line, DEAD_LETTER_LINE_BYTES) } : entry;
    const line = JSON.stringify({ '@timestamp': new Date(this.now()).toISOString(), ...kept }) + '\n';
    if (this.size + line.length > this.maxBytes && this.size > 0) {
      renameSync(this.path, `${this.path}.1`);
      this.size = 0;
    }
    appendFileSync(this.path, line);
    this.size += Buffer.byteLength(line);
    if (this.logger) this.log(kept);
  }

  private log(entry: DeadLetterEntry): void {
    const suppressed = this.sampler.take(this.now());
    if (suppressed === undefined) return;
    const where = entry.file !== undefined ? ` (${entry.file}${entry.offset !== undefined ? ` at byte ${entry.offset}` : ''})` : '';
    const more = suppressed > 0 ? `; ${suppressed} more dead-lettered since the last such message` : '';
    this.logger!.warn(
      {
        'driftbeat.dead_letter': { reason: entry.reason, suppressed, path: this.path },
        ...(entry.file !== undefined ? { 'log.file.path': entry.file } : {}),
        ...(entry.offset !== undefined ? { 'log.offset': entry.offset } : {}),
        ...(entry.line !== undefined ? { 'event.original': entry.line.slice(0, LOG_LINE_CHARS) } : {}),
      },
      `dead-lettered${where}: ${entry.reason}${more}`,
    );
  }
}

/** The first `bytes` bytes of `s` in UTF-8, never splitting a character. */
function cutUtf8(s: string, bytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= bytes) return s;
  let end = bytes;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--; // back to the start of a character
  return b.subarray(0, end).toString('utf8');
}
