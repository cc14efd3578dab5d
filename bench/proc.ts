/**
 * What the end-to-end benchmarks read of a running process, from /proc (Linux): 0 elsewhere or
 * once the process has exited.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on Linux). */
const TICKS = 100;

/** A `kB` line of /proc/<pid>/status (VmRSS, VmHWM, ...), in bytes. */
export function procStatusBytes(pid: number, key: string): number {
  try {
    const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set of a live process, in bytes. */
export function rssOf(pid: number): number {
  return procStatusBytes(pid, 'VmRSS');
}

/** CPU-seconds (user + system, all threads) a process has used so far. */
export function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
}
