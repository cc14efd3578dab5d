/**
 * FileSource: one input's files (Filebeat's filestream input). Discovery says which files match,
 * identity says which of them we know, the registry says where to resume, and one harvester per
 * file reads it. One failing file (EACCES, EIO) is logged and retried at the next scan; it never
 * takes the others down.
 *
 * Where a file starts:
 * - its dev+inode is in the registry and its first bytes match the stored fingerprint: at the
 *   acknowledged offset (not the read offset: unacknowledged lines are read again);
 * - same dev+inode, other first bytes (the inode was reused by a new file): at 0;
 * - shorter than the acknowledged offset (truncated while we were away): at 0, under a new key;
 * - first seen: at 0, or at its end with start_position: end.
 *
 * The registry is shared by all inputs and owned by the caller: it acks offsets into it and closes
 * it after stopping the sources.
 */
import type { BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { InputConfig } from '../../config/schema.ts';
import { filesOpen, registryLagBytes } from '../../telemetry/metrics.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';
import { Discovery } from './discovery.ts';
import { Harvester, type CloseReason, type RawLine } from './harvester.ts';
import { fingerprintMatches, identityKey, inodeKey, readFingerprint, truncatedKey, type Fingerprint, type FileIno } from './identity.ts';
import type { Registry } from './registry.ts';

export type { RawLine } from './harvester.ts';

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

/** What the source remembers of a file between harvesters (closed when inactive). */
interface KnownFile extends FileIno {
  key: string;
  path: string;
  fingerprint: Fingerprint;
  resumeOffset: number;
  /** Size when its harvester closed; it is reopened when the size differs. -1: reopen at the next scan. */
  sizeAtClose: number;
  size: number;
}

/** Each source's share of the registry lag; the gauge shows the sum. */
const lagBySource = new Map<FileSource, number>();
function publishLag(): void {
  registryLagBytes.set(registryLag());
}

/** Bytes of the input files not yet acknowledged, over every source (what the gauge shows). */
export function registryLag(): number {
  let total = 0;
  for (const v of lagBySource.values()) total += v;
  return total;
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
  private lagTimer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(o: FileSourceOptions) {
    this.o = o;
    this.inputId = o.inputId;
    this.logger = o.logger ?? silentLogger;
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
    await this.discovery.scanNow();
    const waits: Promise<void>[] = [];
    for (const st of this.lastScan.values()) {
      const h = this.harvesters.get(inodeKey({ dev: String(st.dev), ino: String(st.ino) }));
      if (h) waits.push(h.waitFor(Number(st.size)));
    }
    await Promise.all(waits);
  }

  /** Stops discovery and every harvester. Safe without start and safe twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.started?.catch(() => undefined);
    await this.discovery.stop();
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = undefined;
    await Promise.all([...this.harvesters.values()].map((h) => h.stop()));
    lagBySource.delete(this);
    publishLag();
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
      opens.push(this.openFile(path, ik));
    }
    for (const [ik] of this.known) if (!seen.has(ik) && !this.harvesters.has(ik)) this.known.delete(ik);
    await Promise.all(opens);
    const keep = new Set<string>();
    for (const k of this.known.values()) keep.add(k.key);
    this.o.registry.cleanup(keep, this.inputId);
    this.updateLag();
  }

  private async openFile(path: string, expectIk: string): Promise<void> {
    this.opening.add(expectIk);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat({ bigint: true });
      const ino: FileIno = { dev: String(st.dev), ino: String(st.ino) };
      const ik = inodeKey(ino);
      if (this.stopped || this.harvesters.has(ik) || (ik !== expectIk && this.opening.has(ik))) {
        await fh.close();
        return;
      }
      const size = Number(st.size);
      const { key, offset, fingerprint } = await this.resolveStart(fh, path, ino, size);
      // Nothing awaited from here on: no other scan can slip a second harvester in.
      if (this.stopped || this.harvesters.has(ik)) {
        await fh.close();
        return;
      }
      const input = this.o.input;
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
      });
      h.size = size;
      this.harvesters.set(ik, h);
      this.known.set(ik, { ...ino, key, path, fingerprint, resumeOffset: offset, sizeAtClose: -1, size });
      filesOpen.inc();
      fh = undefined; // the harvester owns it now
      this.failures.delete(path);
      this.logger.debug({ 'file.path': path, 'log.offset': offset }, `input "${this.inputId}": reading ${path} from offset ${offset} (acked ${entry.offset})`);
      h.start();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code !== 'ENOENT' && this.failures.get(path) !== code) {
        this.failures.set(path, code);
        this.logger.warn({ err, 'file.path': path }, `input "${this.inputId}": cannot read ${path} (${code}); check its permissions. The other files go on; it is retried at every scan`);
      }
      await fh?.close().catch(() => undefined);
    } finally {
      this.opening.delete(expectIk);
    }
  }

  /** Decides the key and the start offset of a file about to be opened (see the header). */
  private async resolveStart(fh: FileHandle, path: string, ino: FileIno, size: number): Promise<{ key: string; offset: number; fingerprint: Fingerprint }> {
    const input = this.o.input;
    const fingerprint = await readFingerprint(fh, input.fingerprintBytes);
    const ik = inodeKey(ino);
    const mem = this.known.get(ik);
    if (mem) {
      // Reopened after an inactive close: go on from where the last harvester stopped reading.
      if (size >= mem.resumeOffset && (await fingerprintMatches(fh, mem.fingerprint))) {
        return { key: mem.key, offset: mem.resumeOffset, fingerprint };
      }
      this.o.registry.remove(mem.key);
      this.logger.info({ 'file.path': path }, `input "${this.inputId}": ${path} was truncated or replaced while idle; reading it from the start`);
      return { key: truncatedKey(mem.key, fingerprint), offset: 0, fingerprint };
    }
    for (const e of this.o.registry.findByInode(this.inputId, ino.dev, ino.ino)) {
      if (await fingerprintMatches(fh, { hash: e.fingerprint, length: e.fingerprintLength })) {
        if (size >= e.offset) return { key: e.key, offset: e.offset, fingerprint };
        this.o.registry.remove(e.key);
        this.logger.info({ 'file.path': path }, `input "${this.inputId}": ${path} is shorter (${size} bytes) than its acknowledged offset ${e.offset}: truncated; reading it from the start`);
        return { key: truncatedKey(e.key, fingerprint), offset: 0, fingerprint };
      }
      this.o.registry.remove(e.key);
      this.logger.info({ 'file.path': path }, `input "${this.inputId}": ${path} reuses the inode of ${e.path} with other content; reading it as a new file`);
    }
    const offset = input.startPosition === 'end' ? size : 0;
    return { key: identityKey(this.inputId, ino, fingerprint), offset, fingerprint };
  }

  private onTruncate(ik: string, h: Harvester, fp: Fingerprint): string {
    const key = truncatedKey(h.key, fp);
    this.o.registry.remove(h.key);
    const k = this.known.get(ik);
    this.o.registry.upsert({
      key, path: h.path, dev: k?.dev ?? '', ino: k?.ino ?? '', fingerprint: fp.hash, fingerprintLength: fp.length, input: this.inputId, offset: 0,
    });
    if (k) {
      k.key = key;
      k.fingerprint = fp;
      k.size = 0;
    }
    return key;
  }

  private onFingerprint(ik: string, h: Harvester, fp: Fingerprint): void {
    const k = this.known.get(ik);
    if (k) k.fingerprint = fp;
    const e = this.o.registry.get(h.key);
    if (e) this.o.registry.upsert({ ...e, fingerprint: fp.hash, fingerprintLength: fp.length, path: h.path });
  }

  private onClose(ik: string, h: Harvester, reason: CloseReason): void {
    if (this.harvesters.get(ik) === h) this.harvesters.delete(ik);
    filesOpen.dec();
    const k = this.known.get(ik);
    if (reason === 'removed') {
      this.known.delete(ik);
      this.logger.info({ 'file.path': h.path }, `input "${this.inputId}": ${h.path} was removed and is read to its end; closed`);
      return;
    }
    if (k) {
      k.resumeOffset = h.resumeOffset;
      k.fingerprint = h.fingerprint;
      k.key = h.key;
      k.sizeAtClose = reason === 'error' ? -1 : h.size;
    }
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
    lagBySource.set(this, lag);
    publishLag();
  }
}
