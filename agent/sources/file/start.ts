/**
 * Where a file about to be opened starts (the rules in source.ts's header): its key and offset from
 * the registry, the source's memory of files it read, and the copies (copytruncate, .gz) of files it
 * knows. Decisions over the source's state, given as a StartContext; besides reading the file's first
 * bytes, a truncation found at open detaches the old registry entry and records where it was read to.
 */
import type { FileHandle } from 'node:fs/promises';
import type { InputConfig } from '../../config/schema.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { gzipHead, gzipSize } from './gzip.ts';
import { fingerprintMatches, Head, identityKey, inodeKey, readHead, truncatedKey, vouchesFor, type Fingerprint, type FileIno } from './identity.ts';
import { entryFingerprint, type Registry } from './registry.ts';

/** Where a file about to be opened starts; defer: not now (its original is still being read); done: nothing left. */
export type Start =
  | { kind: 'read'; key: string; offset: number; fingerprint: Fingerprint; size?: number }
  | { kind: 'done'; key: string; offset: number; fingerprint: Fingerprint }
  | { kind: 'defer'; young?: boolean };

/** What the source remembers of a file between harvesters (closed when inactive). */
export interface KnownFile extends FileIno {
  key: string;
  path: string;
  fingerprint: Fingerprint;
  resumeOffset: number;
  /** Size when its harvester closed; it is reopened when the size differs. -1: reopen at the next scan. */
  sizeAtClose: number;
  size: number;
}

/** The source's state that the decisions read (and, for truncations found at open, update: registry.detach, readTo). */
export interface StartContext {
  input: InputConfig;
  inputId: string;
  registry: Registry;
  logger: Logger;
  known: ReadonlyMap<string, KnownFile>;
  readTo: Map<string, number>;
  /** The files being read now, by inode key (a copy of one waits). */
  harvesters: ReadonlyMap<string, { key: string }>;
}

/** Decides the key and the start offset of a file about to be opened (see the header). */
export async function resolveStart(c: StartContext, fh: FileHandle, path: string, ino: FileIno, size: number, bornMs: number): Promise<Start> {
  const input = c.input;
  const head = new Head(await readHead(fh, input.fingerprintBytes));
  const fingerprint = head.fingerprint;
  const ik = inodeKey(ino);
  const mem = c.known.get(ik);
  if (mem) {
    // Reopened after an inactive close: go on from where the last harvester stopped reading.
    if (size >= mem.resumeOffset && (await fingerprintMatches(fh, mem.fingerprint))) {
      return { kind: 'read', key: mem.key, offset: mem.resumeOffset, fingerprint };
    }
    c.registry.detach(mem.key);
    c.readTo.set(mem.key, mem.resumeOffset);
    c.logger.info({ 'file.path': path }, `input "${c.inputId}": ${path} was truncated or replaced while idle; reading it from the start`);
    return { kind: 'read', key: truncatedKey(mem.key, fingerprint), offset: 0, fingerprint };
  }
  for (const e of c.registry.findByInode(c.inputId, ino.dev, ino.ino)) {
    if (await fingerprintMatches(fh, entryFingerprint(e))) {
      if (size >= e.offset) return { kind: 'read', key: e.key, offset: e.offset, fingerprint };
      c.registry.detach(e.key);
      c.logger.info({ 'file.path': path }, `input "${c.inputId}": ${path} is shorter (${size} bytes) than its acknowledged offset ${e.offset}: truncated; reading it from the start`);
      return { kind: 'read', key: truncatedKey(e.key, fingerprint), offset: 0, fingerprint };
    }
    // Other first bytes: truncated and rewritten (copytruncate) or the inode was reused. The entry
    // is kept without its inode, for a copy of its content to resume from.
    c.registry.detach(e.key);
    c.logger.info({ 'file.path': path }, `input "${c.inputId}": ${path} reuses the inode of ${e.path} with other content (or was truncated and rewritten); reading it as a new file`);
  }
  const copy = copyOf(c, head, path, size);
  if (copy) return copy;
  // Shorter than a fingerprint and created within the last 2 s: possibly a copy being written
  // (copytruncate), which must not be read as a new file. Looked at again at the next scans.
  if (input.startPosition === 'beginning' && fingerprint.length < input.fingerprintBytes && Date.now() - bornMs < 2000) return { kind: 'defer', young: true };
  const offset = input.startPosition === 'end' ? size : 0;
  return { kind: 'read', key: freshKey(c, identityKey(c.inputId, ino, fingerprint), fingerprint), offset, fingerprint };
}

/**
 * A key no registry entry holds. The identity key of a file repeats when the same inode shows the
 * same first bytes again (a file first opened empty, truncated to empty by copytruncate, found so
 * at a restart): taking it would overwrite the old entry, which a copy of the old content resumes
 * from, and give the new lines the event ids of the old ones (a sink would drop them as duplicates).
 */
function freshKey(c: StartContext, key: string, fp: Fingerprint): string {
  let k = key;
  for (let i = 0; i < 100 && c.registry.get(k) !== undefined; i++) k = truncatedKey(k, fp);
  return k;
}

/**
 * A new file that starts with the bytes a known file's fingerprint was taken of (a copytruncate
 * copy, a `.gz`): it continues that file's key from where it was read to. Deferred while that file
 * is still being read under the key (the copy was taken before the truncate, or gzip is still
 * writing).
 *
 * A whole fingerprint (`fingerprint_bytes`) is trusted as Filebeat trusts it. One taken while the
 * file was shorter (opened short, then held by backpressure while it grew and was copied) is
 * trusted only as far as it reaches: the copy goes on from the read offset when every byte before
 * it is among the bytes compared, so what is skipped is byte for byte what was read. Otherwise the
 * copy is read from its start: duplicates, never a loss.
 */
export function copyOf(c: StartContext, head: Head, path: string, size: number): Start | undefined {
  const fingerprint = head.fingerprint;
  for (const e of c.registry.findCopied(c.inputId, head)) {
    if (isRead(c, e.key)) return { kind: 'defer' };
    const offset = Math.max(e.offset, c.readTo.get(e.key) ?? 0);
    if (!vouchesFor(entryFingerprint(e), offset, c.input.fingerprintBytes)) continue;
    if (size <= offset) return { kind: 'done', key: e.key, offset, fingerprint };
    const as = e.fingerprintLength >= c.input.fingerprintBytes ? 'same first bytes' : `starts with all ${e.fingerprintLength} bytes it had when read`;
    c.logger.info({ 'file.path': path, 'log.offset': offset }, `input "${c.inputId}": ${path} is a copy of ${e.path} (${as}); reading it on from offset ${offset}`);
    return { kind: 'read', key: e.key, offset, fingerprint, size };
  }
  return undefined;
}

function isRead(c: StartContext, key: string): boolean {
  for (const h of c.harvesters.values()) if (h.key === key) return true;
  return false;
}

/** A compressed file: a copy of a file we read, or a new one read from its start. */
export async function resolveCompressed(c: StartContext, fh: FileHandle, path: string, ino: FileIno, compressedSize: number): Promise<Start> {
  const head = new Head(await gzipHead(fh, c.input.fingerprintBytes));
  const fingerprint = head.fingerprint;
  const size = await gzipSize(fh, compressedSize);
  const copy = copyOf(c, head, path, size);
  if (copy) return copy.kind === 'read' ? { ...copy, size } : copy;
  // Never read as a plain file: its identity is its content (a dev+inode of its own would read it
  // again after the next rotation renames it).
  const key = identityKey(c.inputId, { dev: 'gzip', ino: '' }, fingerprint);
  const e = c.registry.get(key);
  const offset = e ? Math.max(e.offset, c.readTo.get(key) ?? 0) : 0;
  if (size <= offset) return { kind: 'done', key, offset, fingerprint };
  for (const h of c.harvesters.values()) if (h.key === key) return { kind: 'defer' };
  return { kind: 'read', key, offset, fingerprint, size };
}

