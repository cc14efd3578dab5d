/**
 * Why a line is not a document: the stable codes (metric labels, the error catalogue) and the
 * reasons written to the dead letter, each quoting the offending value (truncated).
 */
import type { NormalizeContext } from './context.ts';
import { EPOCH_UNIT_NAMES, type TimestampProblem } from './timestamp.ts';

export interface Rejection {
  ok: false;
  /** Human-readable, for the dead letter; quotes the offending value (truncated). */
  reason: string;
  /** Stable code (REJECT_CODES), fit as a metric label. */
  code: string;
  /** True for blank lines: acknowledge them, do not dead-letter them. */
  skip?: true;
}

export const REJECT_CODES = {
  EMPTY: 'ERR_NORMALIZE_EMPTY_LINE',
  JSON: 'ERR_NORMALIZE_INVALID_JSON',
  NOT_OBJECT: 'ERR_NORMALIZE_NOT_OBJECT',
  TIMESTAMP: 'ERR_NORMALIZE_TIMESTAMP',
  TIMESTAMP_FORMAT: 'ERR_NORMALIZE_TIMESTAMP_FORMAT',
  TIMESTAMP_RANGE: 'ERR_NORMALIZE_TIMESTAMP_RANGE',
  MODEL: 'ERR_NORMALIZE_MODEL',
  FEATURES: 'ERR_NORMALIZE_FEATURES',
  LINE_TOO_LONG: 'ERR_NORMALIZE_LINE_TOO_LONG',
  INTERNAL: 'ERR_NORMALIZE_INTERNAL',
} as const;

/** Longest quoted value in a rejection reason. */
const PREVIEW_CHARS = 80;

/** A rejection (the line goes to the dead letter with this reason). */
export function reject(code: string, reason: string): Rejection {
  return { ok: false, reason, code };
}

export function lineTooLongReason(lineBytes: number, maxLineBytes: number): string {
  return `line too long: ${lineBytes} bytes, more than max_line_bytes (${maxLineBytes}); raise max_line_bytes in the input if such lines are expected`;
}

/** The rejection for a line longer than max_line_bytes, for callers that never hand such lines to normalizeLine. */
export function rejectTooLong(lineBytes: number, maxLineBytes: number): Rejection {
  return reject(REJECT_CODES.LINE_TOO_LONG, lineTooLongReason(lineBytes, maxLineBytes));
}

export function preview(v: unknown): string {
  if (v === undefined) return 'absent';
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > PREVIEW_CHARS ? `${s.slice(0, PREVIEW_CHARS)}...` : s;
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** The reason for a timestamp the record cannot be placed in time with. */
export function timestampRejection(ctx: NormalizeContext, raw: unknown, p: TimestampProblem): Rejection {
  const field = `field "${ctx.tsField.name}" is ${preview(raw)}`;
  switch (p.problem) {
    case 'unusable': {
      const expected = ctx.tsFormat === 'auto' ? 'ISO 8601 or epoch seconds, milliseconds, microseconds or nanoseconds' : ctx.tsFormat;
      return reject(REJECT_CODES.TIMESTAMP, `no usable timestamp: ${field}, expected ${expected} (set fields.timestamp / fields.timestamp_format of the input)`);
    }
    case 'mismatch':
      return reject(
        REJECT_CODES.TIMESTAMP_FORMAT,
        `timestamp format mismatch: ${field}, which by its magnitude is ${EPOCH_UNIT_NAMES[p.unit]}, not ${ctx.tsFormat} (fields.timestamp_format of the input; auto reads the unit from the magnitude)`,
      );
    case 'range': {
      const read = p.unit === undefined ? '' : ` (read as ${EPOCH_UNIT_NAMES[p.unit]})`;
      const when = Math.abs(p.ms) <= 8.64e15 ? new Date(p.ms).toISOString() : String(p.ms);
      return reject(
        REJECT_CODES.TIMESTAMP_RANGE,
        `timestamp out of range: ${field}${read} = ${when}, outside ${ctx.tsMinIso} .. now + ${ctx.tsMaxAheadMs / 3_600_000} h (fields.timestamp_range of the input)`,
      );
    }
  }
}

