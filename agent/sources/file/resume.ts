/**
 * Where the files the registry knows are now (restart after a rotation): a rotation renames within
 * the folder (pred.jsonl -> pred.jsonl.1) or moves to a folder an input names in `rotated`, so each
 * entry's file is looked for by dev+inode in the folder it was last seen in and in the `rotated`
 * globs. Filebeat looks only at paths matching its globs and so forgets a file renamed out of them
 * while it was down; we finish it. The caller checks the fingerprint before trusting a match (an
 * inode is reused once its file is deleted).
 */
import type { BigIntStats } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../../telemetry/logger.ts';
import { PathMatcher } from './discovery.ts';
import { gzipHead, isGzip } from './gzip.ts';
import { Head, inodeKey, vouchesFor } from './identity.ts';
import { entryFingerprint, type RegistryEntry } from './registry.ts';

export interface Located {
  path: string;
  size: number;
}

/**
 * Key of each entry whose file is gone but whose compressed copy (`*.gz` with the same decompressed
 * first bytes) lies in the entry's folder or matches a `rotated` glob -> that copy's path.
 */
export async function locateCompressed(entries: readonly RegistryEntry[], rotated: PathMatcher | undefined, fingerprintBytes: number, logger: Logger): Promise<Map<string, string>> {
  const wanted = entries
    .filter((e) => vouchesFor(entryFingerprint(e), e.offset, fingerprintBytes))
    .sort((a, b) => b.fingerprintLength - a.fingerprintLength);
  const found = new Map<string, string>();
  if (wanted.length === 0) return found;
  const paths = new Set<string>();
  for (const dir of new Set(entries.map((e) => dirname(e.path)))) {
    try {
      for (const name of await readdir(dir)) if (name.endsWith('.gz')) paths.add(join(dir, name));
    } catch {
      // Listed (and warned about) by locateEntries already.
    }
  }
  if (rotated) for (const p of (await rotated.scan(logger)).keys()) if (p.endsWith('.gz')) paths.add(p);
  for (const p of paths) {
    try {
      const fh = await open(p, 'r');
      try {
        if (!(await isGzip(fh))) continue;
        const head = new Head(await gzipHead(fh, fingerprintBytes));
        const e = wanted.find((w) => !found.has(w.key) && head.startsWith(entryFingerprint(w)));
        if (e) found.set(e.key, p);
      } finally {
        await fh.close();
      }
    } catch {
      // Unreadable or not gzip after all: not a copy we can read.
    }
  }
  return found;
}

/** dev:inode -> where that file is now, for the entries' folders and the rotated globs. */
export async function locateEntries(entries: readonly RegistryEntry[], rotated: PathMatcher | undefined, logger: Logger): Promise<Map<string, Located>> {
  const wanted = new Set(entries.map((e) => inodeKey(e)));
  const found = new Map<string, Located>();
  const note = (path: string, st: BigIntStats): void => {
    const ik = inodeKey({ dev: String(st.dev), ino: String(st.ino) });
    if (wanted.has(ik) && !found.has(ik) && st.isFile()) found.set(ik, { path, size: Number(st.size) });
  };
  for (const dir of new Set(entries.map((e) => dirname(e.path)))) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') logger.warn({ err, 'file.directory': dir }, `registry: cannot list ${dir} to find rotated files (${code}); files renamed there while the agent was down are not finished`);
      continue;
    }
    for (const name of names) {
      const p = join(dir, name);
      try {
        note(p, await stat(p, { bigint: true }));
      } catch {
        // Gone between readdir and stat (a rotation running now): the scans see what replaced it.
      }
    }
  }
  if (rotated && found.size < wanted.size) {
    for (const [p, st] of await rotated.scan(logger)) note(p, st);
  }
  return found;
}
