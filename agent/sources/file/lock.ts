/**
 * One agent per `path.data` (Filebeat's `filebeat.lock`): two agents on one folder would share one
 * registry and overwrite each other's offsets, so lines would be lost or shipped twice.
 *
 * The lock is `<path.data>/driftbeat.lock`, created exclusively (O_EXCL) and holding the holder's
 * pid and host. A lock whose pid is not running on this host (the agent was SIGKILLed or the host
 * rebooted) is stale: it is taken over with a warning. A lock naming our own pid is stale too (a
 * container restarted with the same pid 1). A lock written by another host (a shared network
 * folder) is never taken over: it cannot be checked from here.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DriftbeatError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';

export const LOCK_FILE = 'driftbeat.lock';

interface LockBody {
  pid: number;
  host: string;
  started: string;
}

export interface DataLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. Safe twice. */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the pid runs under another user, so it is running.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockBody | undefined {
  try {
    const body = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockBody>;
    if (typeof body.pid === 'number' && Number.isInteger(body.pid) && body.pid > 0) {
      return { pid: body.pid, host: String(body.host ?? ''), started: String(body.started ?? '') };
    }
  } catch {
    // Unreadable or half-written (a crash between create and write): treated as stale below.
  }
  return undefined;
}

/** Creates the lock file exclusively; false when it exists. */
function tryCreate(file: string, body: LockBody): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new DriftbeatError('ERR_DATA_LOCK', `path.data: cannot create the lock file ${file} (${(err as NodeJS.ErrnoException).code}); check the folder's permissions`, { cause: err });
  }
  try {
    writeSync(fd, JSON.stringify(body) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes the lock on `dataDir` or throws a ConfigError (exit 2) naming the holder's pid.
 * A stale lock is replaced (with a warning).
 */
export function lockDataDir(dataDir: string, logger: Logger = silentLogger): DataLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, LOCK_FILE);
  const me: LockBody = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  // Two rounds at most: create, or find a stale lock, replace it, and create again.
  for (let round = 0; round < 2; round++) {
    if (tryCreate(file, me)) return handle(file);
    const holder = readLock(file);
    if (holder && holder.pid !== process.pid && (holder.host !== me.host || alive(holder.pid))) {
      const where = holder.host === me.host ? '' : ` on host ${holder.host}`;
      throw new ConfigError([{
        key: 'path.data',
        message: `${dataDir} is in use by another driftbeat (pid ${holder.pid}${where}, since ${holder.started}; lock file ${file}). Give each agent its own path.data, or stop that one first`,
      }], 'ERR_DATA_LOCKED');
    }
    logger.warn(
      { 'file.path': file, 'process.pid': holder?.pid },
      holder
        ? `path.data: taking over the stale lock ${file} of pid ${holder.pid} (not running; the agent was killed or the host restarted)`
        : `path.data: taking over the unreadable lock ${file} (left by a crash while it was written)`,
    );
    // Replace through a rename, so that a third agent never sees the folder without a lock; then
    // read it back: of two agents replacing one stale lock at once, the last rename wins.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(me) + '\n', { mode: 0o644 });
    const again = readLock(file);
    if (again && holder && again.pid !== holder.pid) {
      unlinkSync(tmp);
      continue; // someone else took it over between our two looks: look again
    }
    renameSync(tmp, file);
    if (readLock(file)?.pid === process.pid) return handle(file);
  }
  const holder = readLock(file);
  throw new ConfigError([{ key: 'path.data', message: `${dataDir} is in use by another driftbeat (pid ${holder?.pid ?? 'unknown'}; lock file ${file})` }], 'ERR_DATA_LOCKED');
}

function handle(file: string): DataLock {
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      if (readLock(file)?.pid !== process.pid) return;
      try {
        unlinkSync(file);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}
