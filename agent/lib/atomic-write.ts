/**
 * The one atomic file write of the agent: a reader (or the agent after a crash) sees the old
 * content or the new one, never a mix or an empty file. Used by the file registry, the notifier
 * outbox, the ground-truth pending set and `reference build --out`.
 *
 * Steps: write a temp file beside the target (same folder, so the rename stays on one file
 * system), fsync it, rename it over the target, then fsync the folder so the rename itself is on
 * disk (the Linux fsync(2) page: fsync of a file does not make its folder entry durable). A
 * failure removes the temp file.
 *
 * Ours rather than `write-file-atomic`: that package fsyncs the file but not the folder, which
 * the registry needs (offsets that go back after a power cut replay lines), and it stats the old
 * file for chown and mode on every write, which the outbox does not need on its hot path.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';

export interface AtomicWriteOptions {
  /** Permissions of a new file. Default 0o644 (less the umask). */
  mode?: number;
}

let sequence = 0;

/** A temp name no other writer in this process, its threads or another process uses at once. */
function tempName(file: string): string {
  return `${file}.${process.pid}.${threadId}.${++sequence}.tmp`;
}

/** Writes `data` to `file` atomically and durably (see the file header). */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempName(file);
  try {
    const fh = await open(tmp, 'w', opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
  } finally {
    await dir.close();
  }
}

/** The same, blocking: for callers that must have the file on disk before they return (the outbox). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = tempName(file);
  try {
    const fd = openSync(tmp, 'w', opts.mode ?? 0o644);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed.
    }
    throw err;
  }
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
  } finally {
    closeSync(dir);
  }
}
