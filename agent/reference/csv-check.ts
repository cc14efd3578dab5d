/**
 * The shape of a CSV training file, checked before DuckDB reads it: DuckDB's sniffer turns an
 * empty file into a column "column0" and ragged rows into one column named "a,b,c" (or takes a
 * data row for the header), and the profile built from that is garbage with exit 0. Here every
 * row must have as many fields as the header; the first one that does not is named by line.
 *
 * Fields are counted with RFC 4180 quoting (a delimiter or newline inside "..." is data). One pass
 * over the bytes, streamed (gzip too), so a large file costs a read, not memory.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { ReferenceBuildError } from './build-error.ts';

export interface CsvShape {
  delimiter: string;
  header: string[];
  /** Data rows (blank lines not counted). */
  rows: number;
}

const CANDIDATES = [',', '\t', ';', '|'];
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** The delimiter of a header line: the candidate found most often outside quotes (',' when none). */
export function detectDelimiter(headerLine: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of CANDIDATES) {
    let n = 0;
    let quoted = false;
    for (const ch of headerLine) {
      if (ch === '"') quoted = !quoted;
      else if (ch === d && !quoted) n++;
    }
    if (n > bestCount) {
      best = d;
      bestCount = n;
    }
  }
  return best;
}

function splitHeader(line: string, delimiter: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === delimiter && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** Reads the whole file; throws ReferenceBuildError for an empty file, no data rows, or a ragged row. */
export async function checkCsvShape(path: string, shown: string): Promise<CsvShape> {
  const stream = /\.gz$/i.test(path) ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  let headerBytes: number[] | undefined = [];
  let header: string[] | undefined;
  let delim = 0x2c;
  let delimiter = ',';
  let line = 1;
  let fields = 1;
  let rowHasData = false;
  let quoted = false;
  let rows = 0;
  const endRow = () => {
    if (header === undefined) {
      const text = Buffer.from(headerBytes!).toString('utf8').replace(/\r$/, '');
      headerBytes = undefined;
      if (text.trim() === '') throw new ReferenceBuildError('ERR_REFERENCE_EMPTY', `reference data file "${shown}" is empty: expected a header line with the column names, then one row per training example`);
      delimiter = detectDelimiter(text);
      delim = delimiter.charCodeAt(0);
      header = splitHeader(text, delimiter);
    } else if (rowHasData) {
      rows++;
      if (fields !== header.length) {
        throw new ReferenceBuildError(
          'ERR_REFERENCE_RAGGED',
          `reference data file "${shown}" line ${line}: ${fields} field(s), but the header has ${header.length} (${header.join(delimiter === '\t' ? ', ' : delimiter)}); every row needs one value per column (an empty value for a missing one)`,
        );
      }
    }
    line++;
    fields = 1;
    rowHasData = false;
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (headerBytes !== undefined && b !== LF) {
        // The header is scanned twice: once here for its text, once below for its quotes.
        headerBytes.push(b);
        if (b === QUOTE) quoted = !quoted;
        continue;
      }
      if (b === QUOTE) {
        quoted = !quoted;
        rowHasData = true;
      } else if (quoted) {
        if (b === LF) line++; // a newline inside quotes is data, but still a line of the file
      } else if (b === LF) {
        endRow();
      } else if (b === delim && header !== undefined) {
        fields++;
        rowHasData = true;
      } else if (b !== CR && b !== 0x20) {
        rowHasData = true;
      }
    }
  }
  if (header === undefined || rowHasData) endRow();
  if (header === undefined) throw new ReferenceBuildError('ERR_REFERENCE_EMPTY', `reference data file "${shown}" is empty`);
  if (rows === 0) {
    throw new ReferenceBuildError('ERR_REFERENCE_EMPTY', `reference data file "${shown}" has a header (${header.join(', ')}) but no data rows: a profile needs the training examples`);
  }
  return { delimiter, header, rows };
}
