/**
 * Compressed rotated files (logrotate's `compress`): a `.gz` file is read decompressed, with offsets
 * in the decompressed bytes, so it continues exactly the plain file it was compressed from (same
 * first bytes, so same fingerprint; same offsets, so same event ids). A rotated file compressed and
 * deleted while the agent was down is then finished from its `.gz` copy.
 *
 * Recognised by the gzip magic bytes, not the name. The decompressed size comes from the gzip
 * trailer (ISIZE) when it is exact (a member below 4 GiB: a compressed size below what deflate can
 * expand to 4 GiB); otherwise it is counted by decompressing.
 */
import type { FileHandle } from 'node:fs/promises';
import { createGunzip, type Gunzip } from 'node:zlib';

const MAGIC0 = 0x1f;
const MAGIC1 = 0x8b;
/** Deflate expands at most ~1032:1: below this compressed size, ISIZE (mod 2^32) is the size. */
const ISIZE_EXACT_BELOW = Math.floor(2 ** 32 / 1032);

export async function isGzip(fh: FileHandle): Promise<boolean> {
  const b = Buffer.alloc(2);
  const { bytesRead } = await fh.read(b, 0, 2, 0);
  return bytesRead === 2 && b[0] === MAGIC0 && b[1] === MAGIC1;
}

/** Streams the decompressed bytes of an open gzip file, from its start. */
export class GunzipReader {
  private readonly gunzip: Gunzip;
  private readonly it: AsyncIterator<Buffer>;
  /** Decompressed bytes handed out so far. */
  position = 0;

  constructor(fh: FileHandle) {
    // autoClose off: the descriptor belongs to the harvester, which closes it.
    const raw = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 64 * 1024 });
    this.gunzip = createGunzip();
    raw.on('error', (err) => this.gunzip.destroy(err));
    raw.pipe(this.gunzip);
    this.it = this.gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next decompressed chunk, or undefined at the end. */
  async next(): Promise<Buffer | undefined> {
    const r = await this.it.next();
    if (r.done) return undefined;
    this.position += r.value.length;
    return r.value;
  }

  /** Skips to decompressed `offset` (which must not be behind); returns what of the last chunk lies past it. */
  async skipTo(offset: number): Promise<Buffer | undefined> {
    while (this.position < offset) {
      const c = await this.next();
      if (!c) return undefined;
      if (this.position > offset) return c.subarray(c.length - (this.position - offset));
    }
    return Buffer.alloc(0);
  }

  close(): void {
    this.gunzip.destroy();
  }
}

/** The first `bytes` decompressed bytes (fewer when the file holds fewer), as identity.ts readHead takes them of a plain file. */
export async function gzipHead(fh: FileHandle, bytes: number): Promise<Buffer> {
  const r = new GunzipReader(fh);
  const parts: Buffer[] = [];
  let got = 0;
  try {
    while (got < bytes) {
      const c = await r.next();
      if (!c) break;
      parts.push(c);
      got += c.length;
    }
  } finally {
    r.close();
  }
  return Buffer.concat(parts).subarray(0, bytes);
}

/** Decompressed size of a gzip file of `compressedSize` bytes. */
export async function gzipSize(fh: FileHandle, compressedSize: number): Promise<number> {
  if (compressedSize >= 18 && compressedSize < ISIZE_EXACT_BELOW) {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, compressedSize - 4);
    return b.readUInt32LE(0);
  }
  const r = new GunzipReader(fh);
  try {
    while (await r.next());
  } finally {
    r.close();
  }
  return r.position;
}
