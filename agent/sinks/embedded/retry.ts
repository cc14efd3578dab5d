/**
 * Which DuckDB failures are worth retrying (pure). DuckDB reports everything as an Error whose
 * message starts with its error type ("IO Error: ...", "TransactionContext Error: ..."), so the
 * decision reads the message.
 *
 * Transient: write-write conflicts with another connection, out of memory (a big query elsewhere
 * may finish), interrupted queries, a lock held for a moment. Permanent: disk full, a corrupt or
 * invalidated database, and everything else (a SQL error is a bug that retrying repeats forever).
 * Data: a conversion or constraint error, caused by one document of the batch.
 */
export type Verdict = 'transient' | 'permanent' | 'data';

/**
 * Errors a value of the batch causes (DuckDB's error types for a cast or a constraint): the sink
 * splits the batch to find the document and dead-letters it alone, never stopping for it.
 */
const DATA = [/Conversion Error/, /Invalid Input Error/, /Out of Range Error/, /Constraint Error/, /Mismatch Type Error/];

const TRANSIENT = [
  /conflict/i,
  /out of memory/i,
  /could not allocate/i,
  /interrupt/i,
  /resource temporarily unavailable/i,
  /could not set lock/i,
];

const PERMANENT_FIRST = [
  /no space left on device/i,
  /disk (?:is )?full/i,
  /corrupt/i,
  /database (?:has been )?invalidated/i,
  /FATAL Error/i,
  /INTERNAL Error/i,
];

export function classifyStoreError(err: unknown): Verdict {
  const msg = messageChain(err);
  if (PERMANENT_FIRST.some((re) => re.test(msg))) return 'permanent';
  if (TRANSIENT.some((re) => re.test(msg))) return 'transient';
  if (DATA.some((re) => re.test(msg))) return 'data';
  return 'permanent';
}

/** The messages of an error and its causes, joined: our wrappers keep DuckDB's text in `cause`. */
function messageChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e !== undefined && e !== null; i++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(' | ');
}
