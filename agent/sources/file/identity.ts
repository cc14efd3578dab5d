/**
 * File identity: device + inode + a fingerprint of the first bytes (Filebeat filestream's
 * `fingerprint` identity, combined with its `native` one).
 *
 * dev+inode alone is not enough: inodes are reused once a file is deleted, so a new file can show
 * up with the inode of one already read. The fingerprint is the sha256 of the first
 * `fingerprintBytes` bytes. A file shorter than that has a partial fingerprint (of the bytes it has,
 * with their count), which still tells apart most reused inodes and is upgraded as the file grows.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

export interface Fingerprint {
  /** Hex sha256 of the first `length` bytes. */
  hash: string;
  /** Bytes hashed: `fingerprintBytes`, or fewer while the file is shorter (a partial fingerprint). */
  length: number;
}

/** Device and inode as decimal strings (inodes can exceed 2^53 on some file systems). */
export interface FileIno {
  dev: string;
  ino: string;
}

export function inodeKey(f: FileIno): string {
  return `${f.dev}:${f.ino}`;
}

/** Hashes the first min(size, fingerprintBytes) bytes of an open file. */
export async function readFingerprint(fh: FileHandle, fingerprintBytes: number, buf?: Buffer): Promise<Fingerprint> {
  return fingerprintOf(await readHead(fh, fingerprintBytes, buf));
}

/** The first min(size, bytes) bytes of an open file (a view into `buf` when one is given). */
export async function readHead(fh: FileHandle, bytes: number, buf?: Buffer): Promise<Buffer> {
  const b = buf && buf.length >= bytes ? buf : Buffer.allocUnsafe(bytes);
  let got = 0;
  // A read may return fewer bytes than asked even before the end of the file.
  for (;;) {
    const { bytesRead } = await fh.read(b, got, bytes - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
    if (got >= bytes) break;
  }
  return b.subarray(0, got);
}

export function fingerprintOf(head: Buffer): Fingerprint {
  return { hash: createHash('sha256').update(head).digest('hex'), length: head.length };
}

/**
 * Whether a copy that starts with the bytes `fp` was taken of may go on from `offset`: a whole
 * fingerprint is trusted (as Filebeat trusts it); one taken while the file was shorter only as far
 * as it reaches, so that what is skipped is byte for byte what was read.
 */
export function vouchesFor(fp: Fingerprint, offset: number, fingerprintBytes: number): boolean {
  return fp.length >= fingerprintBytes || offset <= fp.length;
}

/**
 * The first bytes of a file about to be opened, to tell whether it is a copy of one we know: it
 * is when it starts with the bytes a known fingerprint was taken of. A fingerprint of 0 bytes is
 * a prefix of anything and never matches.
 */
export class Head {
  private readonly hashes = new Map<number, string>();

  constructor(readonly bytes: Buffer) {}

  get fingerprint(): Fingerprint {
    return { hash: this.hashOf(this.bytes.length), length: this.bytes.length };
  }

  startsWith(fp: Fingerprint): boolean {
    return fp.length > 0 && fp.length <= this.bytes.length && this.hashOf(fp.length) === fp.hash;
  }

  private hashOf(n: number): string {
    let h = this.hashes.get(n);
    if (h === undefined) {
      h = createHash('sha256').update(this.bytes.subarray(0, n)).digest('hex');
      this.hashes.set(n, h);
    }
    return h;
  }
}

/**
 * Whether the file still starts with the bytes a stored fingerprint was taken of. A file now
 * shorter than the stored fingerprint cannot be the same file (it was truncated or replaced).
 */
export async function fingerprintMatches(fh: FileHandle, stored: Fingerprint): Promise<boolean> {
  if (stored.length === 0) return true;
  const now = await readFingerprint(fh, stored.length);
  return now.length === stored.length && now.hash === stored.hash;
}

/**
 * The stable short key of a file identity, used in the registry and as the prefix of event ids.
 * It includes the input id so that two inputs reading one file keep separate offsets.
 */
export function identityKey(input: string, ino: FileIno, fp: Fingerprint): string {
  return createHash('sha1').update(`${input}\0${ino.dev}\0${ino.ino}\0${fp.length}\0${fp.hash}`).digest('hex').slice(0, 16);
}

/**
 * The key of a file after truncation (copytruncate): the same dev+inode now holds new lines that
 * must not reuse the event ids (key + offset) of the lines that were there before.
 */
export function truncatedKey(previousKey: string, fp: Fingerprint): string {
  return createHash('sha1').update(`${previousKey}\0truncated\0${fp.length}\0${fp.hash}`).digest('hex').slice(0, 16);
}
