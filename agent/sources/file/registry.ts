/**
 * The offset registry (Filebeat's registry): per file identity, the offset up to which every line
 * has been acknowledged by the sink. Stored in `<path.data>/registry/filestream.json`, written
 * atomically (temp file, fsync, rename, fsync of the folder) at most once per `flushInterval` and
 * on flush()/close(). Offsets only move forward through ack(); nothing else is persisted as an
 * offset, so a crash re-reads at most the lines that were read but not acknowledged.
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DriftbeatError } from '../../errors.ts';
import { writeFileAtomic } from '../../lib/atomic-write.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';
import type { Fingerprint, Head } from './identity.ts';

export interface RegistryEntry {
  key: string;
  /** Last path the file was seen at. */
  path: string;
  dev: string;
  ino: string;
  /** Fingerprint hash and the number of bytes it covers (see identity.ts). */
  fingerprint: string;
  fingerprintLength: number;
  /** Acknowledged offset: every line before it is delivered. */
  offset: number;
  /** Input id that reads this file. */
  input: string;
  /** ISO time of the last ack or sighting; entries not updated for `cleanAfter` are dropped. */
  updated: string;
}

export interface RegistryOptions {
  logger?: Logger;
  /** Minimum time between two writes (coalescing). Default 1 s. */
  flushInterval?: number;
  /** Entries neither acknowledged nor seen by a scan for this long are removed. Default 24 h. */
  cleanAfter?: number;
  now?: () => number;
}

const FILE_VERSION = 1;

/** An entry's fingerprint as identity.ts takes it. */
export function entryFingerprint(e: RegistryEntry): Fingerprint {
  return { hash: e.fingerprint, length: e.fingerprintLength };
}

export class Registry {
  readonly file: string;
  private readonly entries = new Map<string, RegistryEntry>();
  private readonly logger: Logger;
  private readonly flushInterval: number;
  private readonly cleanAfter: number;
  private readonly now: () => number;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(file: string, options: RegistryOptions) {
    this.file = file;
    this.logger = options.logger ?? silentLogger;
    this.flushInterval = options.flushInterval ?? 1000;
    this.cleanAfter = options.cleanAfter ?? 24 * 3600_000;
    this.now = options.now ?? Date.now;
  }

  /** Loads (or creates) the registry under `<dataPath>/registry/filestream.json`. */
  static async open(dataPath: string, options: RegistryOptions = {}): Promise<Registry> {
    const file = join(dataPath, 'registry', 'filestream.json');
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (cause) {
      throw new DriftbeatError('ERR_REGISTRY_DIR', `registry: cannot create folder ${dirname(file)}; check path.data and its permissions`, { cause });
    }
    const reg = new Registry(file, options);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new DriftbeatError('ERR_REGISTRY_READ', `registry: cannot read ${file}; check its permissions`, { cause: err });
      }
    }
    if (text !== undefined) reg.load(text);
    reg.cleanup(new Set());
    return reg;
  }

  private load(text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      // Writes are atomic, so this is damage from outside; refuse rather than re-ship every file.
      throw new DriftbeatError('ERR_REGISTRY_CORRUPT', `registry: ${this.file} is not valid JSON; fix or delete it (deleting re-reads every file from the start)`, { cause });
    }
    const list = (data as { entries?: unknown })?.entries;
    if (!Array.isArray(list)) {
      throw new DriftbeatError('ERR_REGISTRY_CORRUPT', `registry: ${this.file} has no "entries" array; fix or delete it (deleting re-reads every file from the start)`);
    }
    for (const e of list as Partial<RegistryEntry>[]) {
      if (typeof e?.key !== 'string' || typeof e.offset !== 'number' || typeof e.dev !== 'string' || typeof e.ino !== 'string') {
        this.logger.warn({ entry: e }, `registry: ignoring a malformed entry in ${this.file}`);
        continue;
      }
      this.entries.set(e.key, {
        key: e.key,
        path: String(e.path ?? ''),
        dev: e.dev,
        ino: e.ino,
        fingerprint: String(e.fingerprint ?? ''),
        fingerprintLength: Number(e.fingerprintLength ?? 0),
        offset: e.offset,
        input: String(e.input ?? ''),
        updated: String(e.updated ?? new Date(this.now()).toISOString()),
      });
    }
  }

  get(key: string): RegistryEntry | undefined {
    return this.entries.get(key);
  }

  /** Entries of one input at one dev+inode (normally zero or one). */
  findByInode(input: string, dev: string, ino: string): RegistryEntry[] {
    const out: RegistryEntry[] = [];
    for (const e of this.entries.values()) if (e.input === input && e.dev === dev && e.ino === ino) out.push(e);
    return out;
  }

  /**
   * Entries of one input whose fingerprint was taken of this file's first bytes (the same bytes,
   * or fewer of them: a file known while it was shorter), longest fingerprint first: the files a
   * copy (copytruncate) or a compressed copy (`.gz`) may have been taken of.
   */
  findCopied(input: string, head: Head): RegistryEntry[] {
    const out: RegistryEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.input === input && head.startsWith(entryFingerprint(e))) out.push(e);
    }
    return out.sort((a, b) => b.fingerprintLength - a.fingerprintLength);
  }

  /**
   * Keeps an entry whose dev+inode now holds other content (truncated: copytruncate) but no longer
   * under that inode: its offset is what a copy of the old content resumes from.
   */
  detach(key: string): void {
    const e = this.entries.get(key);
    if (!e || (e.dev === '' && e.ino === '')) return;
    e.dev = '';
    e.ino = '';
    e.updated = new Date(this.now()).toISOString();
    this.markDirty();
  }

  list(input?: string): RegistryEntry[] {
    const all = [...this.entries.values()];
    return input === undefined ? all : all.filter((e) => e.input === input);
  }

  /**
   * Adds or updates an entry's identity fields. The offset of an existing entry is kept; a new
   * entry starts at `offset` (0, or the file's end with start_position: end).
   */
  upsert(entry: Omit<RegistryEntry, 'updated' | 'offset'> & { offset?: number }): RegistryEntry {
    const prev = this.entries.get(entry.key);
    const next: RegistryEntry = {
      ...entry,
      offset: prev ? prev.offset : entry.offset ?? 0,
      updated: new Date(this.now()).toISOString(),
    };
    this.entries.set(entry.key, next);
    this.markDirty();
    return next;
  }

  /** Records that every line before `offset` is delivered. Never moves an offset back. */
  ack(key: string, offset: number): void {
    const e = this.entries.get(key);
    // An unknown key is the ack of a file forgotten meanwhile (truncated, cleaned): nothing to keep.
    if (!e || offset <= e.offset) return;
    e.offset = offset;
    e.updated = new Date(this.now()).toISOString();
    this.markDirty();
  }

  /** Refreshes `updated` of entries whose files are still there, so cleanup keeps them. */
  touch(key: string, path?: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    const now = this.now();
    const changedPath = path !== undefined && path !== e.path;
    // Sightings come every scan; only rewrite the file for them once in a while.
    if (!changedPath && now - Date.parse(e.updated) < Math.min(this.cleanAfter / 4, 3600_000)) return;
    if (path !== undefined) e.path = path;
    e.updated = new Date(now).toISOString();
    this.markDirty();
  }

  remove(key: string): void {
    if (this.entries.delete(key)) this.markDirty();
  }

  /** Drops entries (of one input, or all) not updated for `cleanAfter`, except those in `keep`. */
  cleanup(keep: Set<string>, input?: string): number {
    const limit = this.now() - this.cleanAfter;
    let n = 0;
    for (const [key, e] of this.entries) {
      if (keep.has(key) || (input !== undefined && e.input !== input)) continue;
      const t = Date.parse(e.updated);
      if (Number.isFinite(t) && t >= limit) continue;
      this.entries.delete(key);
      n++;
    }
    if (n > 0) this.markDirty();
    return n;
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.timer || this.closed) return;
    const wait = Math.max(0, this.lastWrite + this.flushInterval - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((err) => this.logger.error({ err }, `registry: cannot write ${this.file}; offsets will be retried on the next flush`));
    }, wait);
    this.timer.unref();
  }

  /** Writes the registry now if anything changed. Writes never overlap. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = this.writing.catch(() => undefined).then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await this.write();
      } catch (err) {
        this.dirty = true;
        throw err;
      }
    });
    this.writing = run;
    return run;
  }

  private async write(): Promise<void> {
    this.lastWrite = this.now();
    const body = JSON.stringify({ version: FILE_VERSION, entries: [...this.entries.values()] }, null, 1);
    await writeFileAtomic(this.file, body, { mode: 0o600 });
  }

  /** Flushes and stops the timer. Safe twice. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    await this.flush();
  }
}
