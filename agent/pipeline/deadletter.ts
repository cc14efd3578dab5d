/**
 * The local dead letter: an NDJSON file under `<path.data>/dead-letter/`, one object per line
 * that could not become a document or that the output refused permanently, with the reason,
 * the source file and byte offset. Written synchronously: an entry is on disk before the line's
 * offset is acknowledged. Rotated at `maxBytes` (one previous file kept).
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DeadLetterEntry, DeadLetterWriter } from '../sinks/sink.ts';

export const DEAD_LETTER_FILE = 'dead-letter.ndjson';

export class FileDeadLetter implements DeadLetterWriter {
  readonly path: string;
  private size: number;
  constructor(dir: string, private readonly maxBytes = 100 * 1024 * 1024) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, DEAD_LETTER_FILE);
    this.size = existsSync(this.path) ? statSync(this.path).size : 0;
  }

  write(entry: DeadLetterEntry): void {
    const line = JSON.stringify({ '@timestamp': new Date().toISOString(), ...entry }) + '\n';
    if (this.size + line.length > this.maxBytes && this.size > 0) {
      renameSync(this.path, `${this.path}.1`);
      this.size = 0;
    }
    appendFileSync(this.path, line);
    this.size += Buffer.byteLength(line);
  }
}
