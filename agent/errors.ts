/**
 * One small tree of coded errors (after elastic-transport-js `errors.ts`).
 * Every error a user can cause carries a stable `code` (ERR_<AREA>_<WHAT>) and, where it comes
 * from a file, the position `file:line:col`. Messages never contain secrets: see telemetry/redact.ts.
 */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

export class DriftbeatError extends Error {
  readonly code: string;
  readonly position?: SourcePosition;
  constructor(code: string, message: string, options: { cause?: unknown; position?: SourcePosition } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.position) this.position = options.position;
  }
}

/** One problem in a config or rule file. */
export interface Problem {
  position?: SourcePosition;
  /** Key path as written by the user, e.g. `inputs[0].fields.timestamp`. */
  key: string;
  message: string;
  /** Optional prefix such as `rule "fraud-drift"`. */
  subject?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.position ? `${p.position.file}:${p.position.line}:${p.position.col}: ` : '';
  const subject = p.subject ? `${p.subject}: ` : '';
  const key = p.key ? `${p.key}: ` : '';
  return `${where}${subject}${key}${p.message}`;
}

/** Every problem of a config file, reported at once. Exit code 2. */
export class ConfigError extends DriftbeatError {
  readonly problems: Problem[];
  constructor(problems: Problem[], code = 'ERR_CONFIG_INVALID') {
    super(code, problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** Every problem of one or more rule files, reported at once. Exit code 2. */
export class RuleError extends DriftbeatError {
  readonly problems: Problem[];
  constructor(problems: Problem[], code = 'ERR_RULE_INVALID') {
    super(code, problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** A sink failure. `permanent` means retrying cannot help (401/403, bad TLS): the agent stops, offsets stay. */
export class SinkError extends DriftbeatError {
  readonly permanent: boolean;
  constructor(code: string, message: string, options: { cause?: unknown; permanent?: boolean } = {}) {
    super(code, message, options);
    this.permanent = options.permanent ?? false;
  }
}

export class BackendError extends DriftbeatError {}
export class NotifyError extends DriftbeatError {}

/** Exit codes of the CLI (DESIGN.md "Interfaces that do not change lightly"). */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_INVALID = 2;

export function exitCodeFor(err: unknown): number {
  return err instanceof ConfigError || err instanceof RuleError ? EXIT_INVALID : EXIT_RUNTIME;
}

/**
 * What a command returns for the CLI to print (agent/cli/command.ts printOutput), declared once for
 * every command (`run --check`, `rules test|explain`, `watches export`).
 */
export interface CommandOutput {
  text: string;
  exitCode: number;
  /**
   * Where `text` goes; without it, stdout on exit 0 and stderr otherwise. A report is stdout even
   * when a result is in error (`rules test --json | jq` gets every result, errors as
   * `status: error`; the exit code says one errored); a failure that left no report is stderr.
   */
  stream?: 'stdout' | 'stderr';
  /** Warnings for stderr, printed before `text` (so that stdout stays JSON). */
  stderr?: string;
}
