// Types of launch.mjs (plain JavaScript so that test/run.mjs can start the engine before tsx loads).
import type { ChildProcess } from 'node:child_process';

export const ENGINE_DIR: string;
export const OPENSEARCH_VERSION: string;
export const ENGINE_HEAP: string;
export const PREREQUISITES: string;

export class EngineUnavailableError extends Error {
  readonly code: 'ERR_TEST_ENGINE';
}

export interface RunningEngine {
  url: string;
  pid: number;
  version: string;
  child: ChildProcess;
  exited: Promise<number | string | null>;
  stop(): Promise<void>;
  /** The engine's recent stderr. */
  log(): string;
}

export function isBuilt(): boolean;
export function ensureBuilt(options?: { log?: (line: string) => void }): void;
export function startEngine(options?: {
  port?: number;
  timeoutMs?: number;
  exitOnStdinClose?: boolean;
  stdio?: 'pipe' | 'inherit';
  log?: (line: string) => void;
}): Promise<RunningEngine>;
