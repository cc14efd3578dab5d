/**
 * Commands that read or write the embedded store while the agent runs. DuckDB lets one process
 * open a database file, so when the agent holds it, `rules test`, `rules explain`, `alerts list`,
 * `alerts silence` and `reference build` are sent to the agent's loopback HTTP endpoint and run
 * there, on the agent's own DuckDB handle, by the same code: the output is the same as with the
 * agent stopped.
 *
 *   CLI ──openStore──▶ locked? ──no──▶ runCommand() here
 *                         └──yes──▶ POST <agent>/api/v1/commands ──▶ runCommand() in the agent
 *
 * The agent writes `<path.data>/http-token` (mode 0600: its URL, a random token and the store it
 * serves) when it starts; only a user who can read the agent's data folder can send commands, and
 * the endpoint answers loopback clients only.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadConfig, resolvePath } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { DriftbeatError, EXIT_INVALID, EXIT_RUNTIME, exitCodeFor } from './errors.ts';
import type { ProgressStream } from './reference/progress.ts';
import { redact } from './telemetry/redact.ts';

export type RemoteCommand =
  | { command: 'rules test'; args: { ruleFile: string; from?: string; to?: string; json?: boolean } }
  | { command: 'rules explain'; args: { ruleFile: string; from?: string; to?: string } }
  | { command: 'alerts list'; args: { all?: boolean } }
  | { command: 'alerts silence'; args: { rule: string; for: string; field?: string; segment?: string } }
  | { command: 'alerts unsilence'; args: { rule: string; field?: string; segment?: string } }
  | { command: 'reference build'; args: { model: string; version: string; data: string; out?: string; format?: 'csv' | 'jsonl' | 'parquet'; predictionColumns?: string[]; noStore?: boolean; validationMetrics?: Record<string, number> } };

export interface CommandReply {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CommandIO {
  stdout: { write(s: string): unknown };
  stderr: ProgressStream;
}

export const COMMANDS_PATH = '/api/v1/commands';
export const TOKEN_FILE = 'http-token';

/** As agent/cli/main.ts prints a failure: `driftbeat: <message>` (with ` [CODE]` unless invalid input). */
export function formatFailure(err: unknown): { text: string; exitCode: number } {
  const message = err instanceof Error ? err.message : String(err);
  const exitCode = exitCodeFor(err) ?? EXIT_RUNTIME;
  const code = err instanceof DriftbeatError && exitCode !== EXIT_INVALID ? ` [${err.code}]` : '';
  return { text: `driftbeat: ${redact(message)}${code}\n`, exitCode };
}

const nl = (s: string) => (s.endsWith('\n') ? s : s + '\n');

/** Runs a command in this process (the CLI, or the agent on a request); never throws. */
export async function runCommand(configFile: string, req: RemoteCommand, io: CommandIO): Promise<number> {
  try {
    const { config } = loadConfig(configFile);
    switch (req.command) {
      case 'rules test':
      case 'rules explain': {
        const { rulesExplainCommand, rulesTestCommand } = await import('./rules/commands.ts');
        const a = req.args;
        const common = { ruleFile: a.ruleFile, configFile, ...(a.from ? { from: a.from } : {}), ...(a.to ? { to: a.to } : {}) };
        const r = req.command === 'rules test' ? await rulesTestCommand({ ...common, json: Boolean(req.args.json) }) : await rulesExplainCommand(common);
        (r.stream === 'stdout' ? io.stdout : io.stderr).write(nl(r.text));
        return r.exitCode;
      }
      case 'alerts list':
      case 'alerts silence':
      case 'alerts unsilence': {
        const { alertsList, alertsSilence, alertsUnsilence, checkScope, describeSilence, formatAlertList, knownRuleNames, openStateStore } = await import('./alerts/commands.ts');
        const opened = await openStateStore(config);
        try {
          if (req.command === 'alerts list') {
            const rows = await alertsList(opened.store, { all: Boolean(req.args.all) });
            io.stdout.write(formatAlertList(rows, await opened.store.loadSilences()) + '\n');
            return 0;
          }
          const a = req.args;
          const scope = checkScope({ rule: a.rule, ...(a.field !== undefined ? { field: a.field } : {}), ...(a.segment !== undefined ? { segment: a.segment } : {}) }, await knownRuleNames(config, opened.store));
          if (req.command === 'alerts silence') {
            io.stdout.write(describeSilence(await alertsSilence(opened.store, scope, req.args.for)) + '\n');
            return 0;
          }
          const ended = await alertsUnsilence(opened.store, scope);
          if (!ended.length) {
            const { describeScope } = await import('./alerts/state.ts');
            io.stderr.write(`No silence of ${describeScope(scope)} is in force.\n`);
            return 1;
          }
          for (const x of ended) io.stdout.write(describeSilence(x) + '\n');
          return 0;
        } finally {
          await opened.close();
        }
      }
      case 'reference build': {
        const { referenceBuildCommand } = await import('./reference/command.ts');
        const a = req.args;
        await referenceBuildCommand({
          configFile, model: a.model, version: a.version, data: a.data,
          ...(a.out ? { out: a.out } : {}),
          ...(a.format ? { format: a.format } : {}),
          ...(a.predictionColumns ? { predictionColumns: a.predictionColumns } : {}),
          ...(a.noStore ? { noStore: true } : {}),
          ...(a.validationMetrics ? { validationMetrics: a.validationMetrics } : {}),
          stdout: io.stdout, stderr: io.stderr,
        });
        return 0;
      }
    }
  } catch (err) {
    const f = formatFailure(err);
    io.stderr.write(f.text);
    return f.exitCode;
  }
}

/** Paths in a request, made absolute against the caller's working directory (the agent's differs). */
export function absolutePaths(req: RemoteCommand, cwd = process.cwd()): RemoteCommand {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  switch (req.command) {
    case 'rules test':
    case 'rules explain':
      return { ...req, args: { ...req.args, ruleFile: abs(req.args.ruleFile) } } as RemoteCommand;
    case 'reference build':
      return { ...req, args: { ...req.args, data: abs(req.args.data), ...(req.args.out ? { out: abs(req.args.out) } : {}) } };
    default:
      return req;
  }
}

interface TokenFile {
  url: string;
  token: string;
  /** Resolved output.embedded.path the agent holds. */
  store: string;
  pid: number;
}

/** The agent side: writes the token file; returns the token and a remover. */
export function publishCommandEndpoint(dataDir: string, url: string, store: string): { token: string; remove: () => void } {
  const token = randomBytes(24).toString('hex');
  const file = join(dataDir, TOKEN_FILE);
  const body: TokenFile = { url, token, store, pid: process.pid };
  rmSync(file, { force: true });
  writeFileSync(file, JSON.stringify(body) + '\n', { mode: 0o600 });
  return { token, remove: () => rmSync(file, { force: true }) };
}

/** The agent side: one request from the endpoint. */
export async function serveCommand(configFile: string, ownStore: string, body: unknown): Promise<{ status: number; reply: CommandReply }> {
  const b = body as { store?: unknown; request?: RemoteCommand } | null;
  if (!b || typeof b.store !== 'string' || !b.request || typeof b.request.command !== 'string') {
    return { status: 400, reply: { stdout: '', stderr: 'driftbeat: expected { store, request: { command, args } }\n', exitCode: EXIT_INVALID } };
  }
  if (b.store !== ownStore) {
    return { status: 409, reply: { stdout: '', stderr: `driftbeat: this agent holds ${ownStore}, not ${b.store}\n`, exitCode: EXIT_RUNTIME } };
  }
  let stdout = '';
  let stderr = '';
  const exitCode = await runCommand(configFile, b.request, {
    stdout: { write: (s: string) => { stdout += s; return true; } },
    stderr: { write: (s: string) => { stderr += s; return true; } },
  });
  return { status: 200, reply: { stdout, stderr, exitCode } };
}

/**
 * The CLI side: runs the command here, or, when the running agent holds the embedded store, in
 * the agent. Returns the exit code; output goes to `io`.
 */
export async function runOrForward(configFile: string, req: RemoteCommand, io: CommandIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let config: Config;
  try {
    ({ config } = loadConfig(configFile));
  } catch (err) {
    const f = formatFailure(err);
    io.stderr.write(f.text);
    return f.exitCode;
  }
  if (!config.output.embedded) return runCommand(configFile, req, io);
  const path = resolvePath(config.output.embedded.path);
  const { openStore } = await import('./sinks/embedded/store.ts');
  let held: Awaited<ReturnType<typeof openStore>>;
  try {
    // Held for the command: its own opens share this instance (openStore is per process and path).
    held = await openStore(path);
  } catch (err) {
    if (!(err instanceof DriftbeatError && err.code === 'ERR_EMBEDDED_LOCKED')) {
      const f = formatFailure(err);
      io.stderr.write(f.text);
      return f.exitCode;
    }
    return forward(config, path, absolutePaths(req), err, io);
  }
  try {
    return await runCommand(configFile, req, io);
  } finally {
    await held.close();
  }
}

async function forward(config: Config, store: string, req: RemoteCommand, locked: DriftbeatError, io: CommandIO): Promise<number> {
  const fail = (why: string) => {
    io.stderr.write(formatFailure(new DriftbeatError(locked.code, `${locked.message}\n${why}`)).text);
    return EXIT_RUNTIME;
  };
  const tokenFile = join(resolvePath(config.path.data), TOKEN_FILE);
  let t: TokenFile;
  try {
    t = JSON.parse(readFileSync(tokenFile, 'utf8')) as TokenFile;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return fail(`The agent holding it serves this command on its HTTP endpoint, but ${tokenFile} is not readable by this user: run the command as the agent's user.`);
    return fail(`No running agent of this config serves commands (no ${tokenFile}): with http.enabled (the default) the agent runs this command for you; else stop it first.`);
  }
  if (t.store !== store) return fail(`The agent of ${tokenFile} holds ${t.store}, not this store.`);
  let res: Response;
  try {
    res = await fetch(`${t.url}${COMMANDS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
      body: JSON.stringify({ store, request: req }),
    });
  } catch (err) {
    return fail(`Its HTTP endpoint ${t.url} (from ${tokenFile}) did not answer (${(err as Error).message}): is the agent (PID ${t.pid}) still running?`);
  }
  const reply = (await res.json().catch(() => undefined)) as CommandReply | undefined;
  if (!reply || typeof reply.exitCode !== 'number') return fail(`Its HTTP endpoint ${t.url} answered ${res.status} without a command reply.`);
  if (reply.stdout) io.stdout.write(reply.stdout);
  if (reply.stderr) io.stderr.write(reply.stderr);
  return reply.exitCode;
}
