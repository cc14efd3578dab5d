/**
 * Splits a byte stream into lines with their byte offsets (pure; no I/O).
 *
 * A line ends at `\n`; a `\r` just before it is dropped. The partial last line of a chunk waits
 * for the next chunk. A line longer than `maxLineBytes` is emitted once, flagged `tooLong`, with
 * only its first bytes kept (`TOO_LONG_HEAD_BYTES` at most): the rest is skipped up to its newline
 * without being buffered, so a 5 MB line costs a few KiB of memory.
 */
import { DEAD_LETTER_LINE_BYTES } from '../../pipeline/deadletter.ts';

export interface SplitLine {
  /** Byte offset of the line start in the file. */
  offset: number;
  /** Byte offset just after the line's newline (what to acknowledge). */
  end: number;
  /** The line without its newline (and without a trailing `\r`). Truncated when tooLong. */
  line: Buffer;
  tooLong: boolean;
}

/** What a too-long line keeps of itself, for the dead letter (the dead letter's one constant). */
export const TOO_LONG_HEAD_BYTES = DEAD_LETTER_LINE_BYTES;

const NL = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  readonly maxLineBytes: number;
  private readonly headCap: number;
  /** Pieces of the line being assembled (copies: the chunks they came from may be reused). */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Length of the current line so far, including bytes skipped because it is too long. */
  private lineBytes = 0;
  private lineStart: number;
  private tooLong = false;

  constructor(maxLineBytes: number, startOffset = 0) {
    if (!(maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be positive, received ${maxLineBytes}`);
    this.maxLineBytes = maxLineBytes;
    this.headCap = Math.min(maxLineBytes, TOO_LONG_HEAD_BYTES);
    this.lineStart = startOffset;
  }

  /** Offset to resume from so that no line is lost or repeated: the start of the pending partial line. */
  get resumeOffset(): number {
    return this.lineStart;
  }

  /** Bytes held for the pending partial line. */
  get pendingBytes(): number {
    return this.partBytes;
  }

  /** Forgets the pending partial line and restarts at `offset` (truncation, reopen). */
  reset(offset: number): void {
    this.parts = [];
    this.partBytes = 0;
    this.lineBytes = 0;
    this.tooLong = false;
    this.lineStart = offset;
  }

  /**
   * Feeds `chunk`, which starts at file offset `chunkOffset` (must continue the previous chunk).
   * Complete lines are returned as views into `chunk` when they lie wholly in it (no copy): the
   * caller must not overwrite `chunk` while the lines are in use.
   */
  push(chunk: Buffer, chunkOffset: number, out: SplitLine[] = []): SplitLine[] {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      const nl = chunk.indexOf(NL, pos);
      if (nl === -1) {
        this.keep(chunk, pos, n);
        break;
      }
      const end = chunkOffset + nl + 1;
      const len = this.lineBytes + (nl - pos);
      if (this.tooLong || len > this.maxLineBytes) {
        if (!this.tooLong) this.keep(chunk, pos, nl);
        out.push({ offset: this.lineStart, end, line: this.assemble(), tooLong: true });
      } else if (this.partBytes === 0) {
        // Hot path: the whole line lies in this chunk, hand out a view.
        let stop = nl;
        if (stop > pos && chunk[stop - 1] === CR) stop--;
        out.push({ offset: this.lineStart, end, line: chunk.subarray(pos, stop), tooLong: false });
      } else {
        this.keep(chunk, pos, nl);
        let line = this.assemble();
        if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
        out.push({ offset: this.lineStart, end, line, tooLong: false });
      }
      this.parts = [];
      this.partBytes = 0;
      this.lineBytes = 0;
      this.tooLong = false;
      this.lineStart = end;
      pos = nl + 1;
    }
    return out;
  }

  /** Holds bytes [from, to) of the pending line, up to the cap once it is known to be too long. */
  private keep(chunk: Buffer, from: number, to: number): void {
    const len = to - from;
    this.lineBytes += len;
    if (!this.tooLong && this.lineBytes > this.maxLineBytes) this.tooLong = true;
    const room = (this.tooLong ? this.headCap : this.maxLineBytes) - this.partBytes;
    if (room <= 0 || len === 0) {
      if (this.tooLong) this.trimHead();
      return;
    }
    const take = Math.min(room, len);
    this.parts.push(Buffer.from(chunk.subarray(from, from + take)));
    this.partBytes += take;
    if (this.tooLong) this.trimHead();
  }

  /** Cuts the held bytes down to the head cap once the line is known to be too long. */
  private trimHead(): void {
    if (this.partBytes <= this.headCap) return;
    const head = Buffer.concat(this.parts, this.partBytes).subarray(0, this.headCap);
    this.parts = [Buffer.from(head)];
    this.partBytes = this.headCap;
  }

  private assemble(): Buffer {
    if (this.parts.length === 1) return this.parts[0]!;
    return Buffer.concat(this.parts, this.partBytes);
  }
}
