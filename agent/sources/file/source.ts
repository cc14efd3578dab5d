/**
 * FileSource: one input's files (Filebeat's filestream input). Discovery says which files match,
 * identity says which of them we know, the registry says where to resume, and one harvester per
 * file reads it. One failing file (EACCES, EIO) is logged and retried at the next scan; it never
 * takes the others down.
 *
 * Where a file starts (start.ts decides it):
 * - its dev+inode is in the registry and its first bytes match the stored fingerprint: at the
 *   acknowledged offset (not the read offset: unacknowledged lines are read again);
 * - same dev+inode, other first bytes (the inode was reused by a new file): at 0;
 * - shorter than the acknowledged offset (truncated while we were away): at 0, under a new key;
 * - first seen: at 0, or at its end with start_position: end.
 *
 * At start, every registry entry with unacknowledged bytes is finished first, even out of `paths`
 * (renamed while the agent was down): found by dev+inode, or as a .gz copy, in its folder or the
 * `rotated` globs (resume.ts). A file is opened as soon as a scan finds it, whatever the
 * backpressure, and held until read to its end; at most `max_open_files` per input, beyond which
 * files at their end are closed (reopened when they grow) and new ones wait (driftbeat_files_waiting).
 *
 * The registry is shared by all inputs and owned by the caller: it acks offsets into it and closes
 * it after stopping the sources.
 */
import type { BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { InputConfig } from '../../config/schema.ts';
import { filesLimitReached, filesOpen } from '../../telemetry/metrics.ts';
import { publishShare } from './gauges.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';
import { Discovery, PathMatcher } from './discovery.ts';
import { Harvester, type CloseReason, type RawLine } from './harvester.ts';
import { GunzipReader, isGzip } from './gzip.ts';
import { inodeKey, truncatedKey, type Fingerprint, type FileIno } from './identity.ts';
import type { Registry, RegistryEntry } from './registry.ts';
import { locateCompressed, locateEntries } from './resume.ts';
import { resolveCompressed, resolveStart, type KnownFile, type StartContext } from './start.ts';

export type { RawLine } from './harvester.ts';
export { registryLag } from './gauges.ts';

export interface FileSourceOptions {
  input: InputConfig;
  inputId: string;
  registry: Registry;
  logger?: Logger;
  onLines: (lines: RawLine[]) => void | Promise<void>;
  /** Close a file's harvester after this long without growth; reopened when it grows. Default 5 min (Filebeat's close.on_state_change.inactive). */
  closeInactive?: number;
  /** Poll backoff at the end of a file, ms. Default 100 to 1000. */
  pollMin?: number;
  pollMax?: number;
  /** Read chunk size. Default 64 KiB. */
  chunkBytes?: number;
  /** onLines copies every line before it returns: the read buffer is reused (see harvester.ts). */
  consumerCopies?: boolean;
  /** Use file-system events besides the periodic scan. Default true. */
  watch?: boolean;
}

export class FileSource {
  readonly inputId: string;
  private readonly o: FileSourceOptions;
  private readonly logger: Logger;
  private readonly discovery: Discovery;
  /** By dev:inode. */
  private readonly harvesters = new Map<string, Harvester>();
  private readonly known = new Map<string, KnownFile>();
  /** Open failures already logged, by path (logged again only when the error changes). */
  private readonly failures = new Map<string, string>();
  private readonly opening = new Set<string>();
  private lastScan = new Map<string, BigIntStats>();
  /** Files finished at start although `paths` may not match them: dev:inode -> size to read to. */
  private readonly resumed = new Map<string, number>();
  /** Key -> offset its closed (or truncated) harvester had read to: where a copy of it resumes. */
  private readonly readTo = new Map<string, number>();
  /** Files the last scan could not open because max_open_files was reached. */
  private waiting = 0;
  /** A file was put off (a copy whose original is still read, or one being written): scan again soon. */
  private deferred = false;
  /** Files the last scan put off because they were new and shorter than a fingerprint. */
  private young = 0;
  private lagTimer: NodeJS.Timeout | undefined;
  private lag = 0;
  private started: Promise<void> | undefined;
  private stopped = false;
  /** "no file matches" is said once, not at every scan. */
  private saidNoFiles = false;
  /** What start.ts decides a file's start from. */
  private readonly starts: StartContext;

  constructor(o: FileSourceOptions) {
    this.o = o;
    this.inputId = o.inputId;
    this.logger = o.logger ?? silentLogger;
    this.starts = { input: o.input, inputId: o.inputId, registry: o.registry, logger: this.logger, known: this.known, readTo: this.readTo, harvesters: this.harvesters };
    this.discovery = new Discovery({
      paths: o.input.paths,
      exclude: o.input.exclude,
      scanFrequency: o.input.scanFrequency,
      logger: this.logger,
      watch: o.watch,
      onScan: (files) => this.onScan(files),
      onChange: (path) => this.onChange(path),
    });
  }

  /** Scans once, opens every matching file, then keeps watching. */
  start(): Promise<void> {
    if (!this.started) {
      this.started = (async () => {
        if (this.stopped) return;
        // Older data first: what the registry knows gets its descriptors before new files.
        await this.resumeKnown();
        if (this.stopped) return;
        await this.discovery.start();
        if (this.stopped) return;
        this.lagTimer = setInterval(() => this.updateLag(), 1000);
        this.lagTimer.unref();
      })();
    }
    return this.started;
  }

  /** Resolves when every file matching now has been read to its current end (for `--once`). */
  async readToEnd(): Promise<void> {
    await this.start();
    // Bounded: each round reads every open file to its end; files waiting for a descriptor
    // (max_open_files) get one once those are done.
    for (let round = 0; round < 10_000 && !this.stopped; round++) {
      await this.discovery.scanNow();
      const waits: Promise<void>[] = [];
      for (const st of this.lastScan.values()) {
        const h = this.harvesters.get(inodeKey({ dev: String(st.dev), ino: String(st.ino) }));
        if (h) waits.push(h.compressed ? h.done : h.waitFor(Number(st.size)));
      }
      for (const [ik, size] of this.resumed) {
        const h = this.harvesters.get(ik);
        if (h) waits.push(h.compressed ? h.done : h.waitFor(size));
      }
      await Promise.all(waits);
      if (this.waiting === 0 && this.young === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** At start: opens every known file with unacknowledged bytes, wherever rotation put it. */
  private async resumeKnown(): Promise<void> {
    const entries = this.o.registry.list(this.inputId).filter((e) => e.dev !== '' && e.path !== '');
    if (entries.length === 0) return;
    const input = this.o.input;
    const rotated = input.rotated.length > 0 ? new PathMatcher(input.rotated, []) : undefined;
    const located = await locateEntries(entries, rotated, this.logger);
    // Not found by inode: compressed (and the plain file deleted) while the agent was down?
    const gone = entries.filter((e) => !located.has(inodeKey(e)));
    const compressed = await locateCompressed(gone, rotated, input.fingerprintBytes, this.logger);
    for (const [key, path] of compressed) {
      const e = this.o.registry.get(key)!;
      const st = await stat(path, { bigint: true }).catch(() => undefined);
      if (!st) continue;
      const ik = inodeKey({ dev: String(st.dev), ino: String(st.ino) });
      if (this.harvesters.has(ik) || this.opening.has(ik) || this.harvesters.size + this.opening.size >= input.maxOpenFiles) continue;
      if (await this.openFile(path, ik)) {
        this.resumed.set(ik, 0);
        this.logger.info({ 'file.path': path, 'log.offset': e.offset }, `input "${this.inputId}": resuming ${path} (the compressed copy of ${e.path}) at its acknowledged offset ${e.offset}`);
      }
    }
    for (const e of entries) {
      const ik = inodeKey(e);
      const at = located.get(ik);
      if (!at || at.size <= e.offset || this.harvesters.has(ik) || this.opening.has(ik)) continue;
      if (this.harvesters.size + this.opening.size >= input.maxOpenFiles) {
        this.logger.warn({ 'file.path': at.path }, `input "${this.inputId}": max_open_files (${input.maxOpenFiles}) reached at start; ${at.path} is not finished now (its ${at.size - e.offset} unacknowledged bytes are read only if a scan finds it)`);
        continue;
      }
      const opened = await this.openFile(at.path, ik, e);
      if (!opened) continue;
      this.resumed.set(ik, at.size);
      const moved = at.path === e.path ? '' : ` (renamed from ${e.path})`;
      this.logger.info({ 'file.path': at.path, 'log.offset': e.offset }, `input "${this.inputId}": resuming ${at.path}${moved} at its acknowledged offset ${e.offset}: ${at.size - e.offset} bytes not yet delivered`);
    }
  }

  /** Stops discovery and every harvester. Safe without start and safe twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.started?.catch(() => undefined);
    await this.discovery.stop();
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = undefined;
    await Promise.all([...this.harvesters.values()].map((h) => h.stop()));
    publishShare(this, undefined);
  }

  /** Paths being read now (for status and tests). */
  openFiles(): { key: string; path: string; offset: number }[] {
    return [...this.harvesters.values()].map((h) => ({ key: h.key, path: h.path, offset: h.offset }));
  }

  private onChange(path: string): void {
    for (const h of this.harvesters.values()) {
      if (h.path === path) return h.wake();
    }
    this.discovery.scanSoon();
  }

  private async onScan(files: Map<string, BigIntStats>): Promise<void> {
    this.lastScan = files;
    this.young = 0;
    if (files.size === 0 && this.known.size === 0 && this.harvesters.size === 0 && !this.saidNoFiles) {
      this.saidNoFiles = true;
      this.logger.info({ 'input.paths': this.o.input.paths }, `input "${this.inputId}": no file matches ${this.o.input.paths.join(', ')} yet; waiting for one`);
    }
    let waiting = 0;
    const seen = new Set<string>();
    const opens: Promise<void>[] = [];
    for (const [path, st] of files) {
      const ino: FileIno = { dev: String(st.dev), ino: String(st.ino) };
      const ik = inodeKey(ino);
      if (seen.has(ik)) continue; // a second path (symlink) to a file already handled
      seen.add(ik);
      const h = this.harvesters.get(ik);
      if (h) {
        if (h.path !== path) {
          this.logger.info({ 'file.path': path }, `input "${this.inputId}": ${h.path} was renamed to ${path}; reading on`);
          h.path = path;
        }
        this.o.registry.touch(h.key, path);
        continue;
      }
      const k = this.known.get(ik);
      if (k) {
        this.o.registry.touch(k.key, path);
        k.path = path;
        k.size = Number(st.size);
        if (k.sizeAtClose === Number(st.size)) continue;
      }
      if (this.opening.has(ik)) continue;
      if (this.harvesters.size + this.opening.size >= this.o.input.maxOpenFiles) {
        waiting++;
        continue;
      }
      opens.push(this.openFile(path, ik).then(() => undefined));
    }
    this.setWaiting(waiting);
    for (const [ik] of this.known) if (!seen.has(ik) && !this.harvesters.has(ik)) this.known.delete(ik);
    await Promise.all(opens);
    if (this.deferred) {
      this.deferred = false;
      this.discovery.scanSoon(250);
    }
    const keep = new Set<string>();
    for (const k of this.known.values()) keep.add(k.key);
    this.o.registry.cleanup(keep, this.inputId);
    this.updateLag();
  }

  /**
   * Opens a file and starts its harvester; true when it was opened. With `only`, the file is read
   * only if it is that registry entry's file (same fingerprint): a resume never reads a stranger.
   */
  private async openFile(path: string, expectIk: string, only?: RegistryEntry): Promise<boolean> {
    this.opening.add(expectIk);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat({ bigint: true });
      const ino: FileIno = { dev: String(st.dev), ino: String(st.ino) };
      const ik = inodeKey(ino);
      if (this.stopped || this.harvesters.has(ik) || (ik !== expectIk && this.opening.has(ik))) {
        await fh.close();
        return false;
      }
      const fileSize = Number(st.size);
      const gz = await isGzip(fh);
      const start = gz ? await resolveCompressed(this.starts, fh, path, ino, fileSize) : await resolveStart(this.starts, fh, path, ino, fileSize, Number(st.birthtimeMs) || Number(st.mtimeMs));
      // Nothing awaited from here on: no other scan can slip a second harvester in.
      if (start.kind === 'defer') {
        this.deferred = true;
        if (start.young) this.young++;
      }
      if (this.stopped || this.harvesters.has(ik) || start.kind !== 'read' || (only && start.key !== only.key)) {
        if (start.kind === 'done') {
          // A compressed copy with nothing left to read: skipped until it changes.
          this.known.set(ik, { ...ino, key: start.key, path, fingerprint: start.fingerprint, resumeOffset: start.offset, sizeAtClose: fileSize, size: fileSize });
        }
        await fh.close();
        return false;
      }
      const { key, offset, fingerprint } = start;
      const size = start.size ?? fileSize;
      const input = this.o.input;
      const before = this.o.registry.get(key);
      // A new key, or a short file's fingerprint longer now: on disk before any line under it is delivered.
      const persist = before === undefined || before.fingerprintLength < fingerprint.length;
      const entry = this.o.registry.upsert({
        key, path, dev: ino.dev, ino: ino.ino, fingerprint: fingerprint.hash, fingerprintLength: fingerprint.length,
        input: this.inputId, offset,
      });
      const h = new Harvester({
        input: this.inputId, path, fh, key, offset, fingerprint,
        fingerprintBytes: input.fingerprintBytes,
        maxLineBytes: input.maxLineBytes,
        closeRemoved: input.closeRemoved,
        closeInactive: this.o.closeInactive ?? 5 * 60_000,
        chunkBytes: this.o.chunkBytes,
        consumerCopies: this.o.consumerCopies ?? false,
        pollMin: this.o.pollMin,
        pollMax: this.o.pollMax,
        logger: this.logger,
        onLines: this.o.onLines,
        onTruncate: (hv, fp) => this.onTruncate(ik, hv, fp),
        onFingerprint: (hv, fp) => this.onFingerprint(ik, hv, fp),
        onClose: (hv, reason) => this.onClose(ik, hv, reason),
        ...(gz ? { gunzip: new GunzipReader(fh) } : {}),
      });
      h.size = size;
      this.harvesters.set(ik, h);
      this.known.set(ik, { ...ino, key, path, fingerprint, resumeOffset: offset, sizeAtClose: -1, size: fileSize });
      filesOpen.inc();
      fh = undefined; // the harvester owns it now
      this.failures.delete(path);
      this.logger.debug({ 'file.path': path, 'log.offset': offset }, `input "${this.inputId}": reading ${path}${gz ? ' (gzip)' : ''} from offset ${offset} (acked ${entry.offset})`);
      h.start(persist ? this.persistKey(key, path) : undefined);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code !== 'ENOENT' && this.failures.get(path) !== code) {
        this.failures.set(path, code);
        this.logger.warn({ err, 'file.path': path }, `input "${this.inputId}": cannot read ${path} (${code}); check its permissions. The other files go on; it is retried at every scan`);
      }
      await fh?.close().catch(() => undefined);
      return false;
    } finally {
      this.opening.delete(expectIk);
    }
  }

  /**
   * Writes the registry now that it holds a new key, before a line read under the key can be
   * delivered: a key derives from the fingerprint seen when the file was first opened or found
   * truncated (shorter than fingerprint_bytes while the file grows), so a restart that found no
   * entry for it would derive another one from the longer fingerprint and deliver the same lines
   * again under other event ids (seen with copytruncate and SIGKILL: a write's worth of lines
   * stored twice). One atomic write per new file or truncation; a failure is logged and reading
   * goes on (the registry retries at its next flush).
   */
  private persistKey(key: string, path: string): Promise<void> {
    return this.o.registry.flush().catch((err: unknown) => {
      this.logger.warn({ err, 'file.path': path }, `input "${this.inputId}": cannot write the registry entry of ${path} (${key}) yet; if the agent stops before the next flush, its lines may be delivered again under another key`);
    });
  }

  private async onTruncate(ik: string, h: Harvester, fp: Fingerprint): Promise<string> {
    const key = truncatedKey(h.key, fp);
    // The old content may live on in a copy (copytruncate): keep where it was read to.
    this.o.registry.detach(h.key);
    this.readTo.set(h.key, h.resumeOffset);
    const k = this.known.get(ik);
    this.o.registry.upsert({
      key, path: h.path, dev: k?.dev ?? '', ino: k?.ino ?? '', fingerprint: fp.hash, fingerprintLength: fp.length, input: this.inputId, offset: 0,
    });
    if (k) {
      k.key = key;
      k.fingerprint = fp;
      k.size = 0;
    }
    // A copy waiting for this file to be let go can be read now.
    this.discovery.scanSoon();
    await this.persistKey(key, h.path);
    return key;
  }

  /**
   * The registry holds the longer fingerprint before the lines it now covers are delivered: a
   * copytruncate copy (or .gz) of a short file is known by the first bytes the registry has for it,
   * and after a kill a registry still holding the shorter one (or none: a file first opened empty)
   * left the copy unrecognised, read again from 0 under another key (source.test.ts shows it). One
   * atomic write per read while a file is shorter than fingerprint_bytes.
   */
  private onFingerprint(ik: string, h: Harvester, fp: Fingerprint): Promise<void> | undefined {
    const k = this.known.get(ik);
    if (k) k.fingerprint = fp;
    const e = this.o.registry.get(h.key);
    if (!e) return undefined;
    this.o.registry.upsert({ ...e, fingerprint: fp.hash, fingerprintLength: fp.length, path: h.path });
    return this.persistKey(h.key, h.path);
  }

  private onClose(ik: string, h: Harvester, reason: CloseReason): void {
    if (this.harvesters.get(ik) === h) this.harvesters.delete(ik);
    filesOpen.dec();
    this.readTo.set(h.key, Math.max(this.readTo.get(h.key) ?? 0, h.resumeOffset));
    const k = this.known.get(ik);
    // A copy of this file may be waiting for it.
    this.discovery.scanSoon();
    if (reason === 'removed') {
      this.known.delete(ik);
      this.logger.info({ 'file.path': h.path }, `input "${this.inputId}": ${h.path} was removed and is read to its end; closed`);
      return;
    }
    if (k) {
      k.resumeOffset = h.resumeOffset;
      k.fingerprint = h.fingerprint;
      k.key = h.key;
      k.sizeAtClose = reason === 'error' ? -1 : reason === 'ended' ? k.size : h.size;
    }
  }

  /** Publishes the files waiting for a descriptor; warns when the bound is first reached. */
  private setWaiting(n: number): void {
    const max = this.o.input.maxOpenFiles;
    if (n > 0 && this.waiting === 0) {
      filesLimitReached.inc();
      this.logger.warn(`input "${this.inputId}": max_open_files (${max}) reached: ${n} file(s) wait for a descriptor; files at their end are closed to make room. A file rotated away and deleted before it gets one is lost: raise max_open_files`);
    } else if (n === 0 && this.waiting > 0) {
      this.logger.info(`input "${this.inputId}": below max_open_files (${max}) again; every file found is open`);
    }
    this.waiting = n;
    if (n > 0) for (const h of this.harvesters.values()) h.closeAtEnd();
    publishShare(this, { waiting: n });
  }

  /** Bytes of this input's files not yet acknowledged, as of the last scan or the last second. */
  get lagBytes(): number {
    return this.lag;
  }

  private updateLag(): void {
    let lag = 0;
    for (const [ik, k] of this.known) {
      const h = this.harvesters.get(ik);
      const key = h?.key ?? k.key;
      const size = Math.max(h?.size ?? 0, k.size);
      const acked = this.o.registry.get(key)?.offset ?? 0;
      if (size > acked) lag += size - acked;
    }
    this.lag = lag;
    publishShare(this, { lag });
  }
}
