/**
 * Which files an input reads: its `paths` globs minus its `exclude` globs, found by a scan of the
 * file system every `scanFrequency` and, between scans, by file-system events (chokidar) so that a
 * new file is picked up within moments. The scan is the source of truth: events only trigger an
 * early scan or wake a harvester, so nothing depends on events alone (NFS, overlay, inotify limits).
 *
 * Globs (`agent/lib/glob.ts`, picomatch): `*` and `?` within one path segment (dot files included, as Go's filepath.Glob that
 * Filebeat uses), `**` for any number of folders, `[abc]`, `[!abc]`, `{a,b}`. Relative patterns are
 * resolved against the working directory. An `exclude` pattern without a `/` is matched against
 * the file name, one with a `/` against the whole path (`*.gz` leaves out every gzip file).
 * Symbolic links to files are followed (Kubernetes' /var/log/containers); a file reached by two
 * paths is read once, since it is one dev+inode.
 */
import { watch, type FSWatcher } from 'chokidar';
import { existsSync, type BigIntStats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { globToRegExp } from '../../lib/glob.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';

const MAGIC = /[*?[{]/;
const MAX_DEPTH = 32;

function toSlash(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/** The folder a glob's matches all live under (its leading segments without wildcards). */
export function globBase(absGlob: string): { base: string; rest: string[] } {
  const segs = toSlash(absGlob).split('/');
  let i = 0;
  while (i < segs.length - 1 && !MAGIC.test(segs[i]!)) i++;
  const baseSegs = segs.slice(0, i);
  const base = baseSegs.length === 1 && baseSegs[0] === '' ? '/' : baseSegs.join('/') || '.';
  return { base, rest: segs.slice(i) };
}

export class PathMatcher {
  private readonly include: { glob: string; re: RegExp; base: string; rest: string[] }[];
  private readonly excludeName: RegExp[] = [];
  private readonly excludePath: RegExp[] = [];

  constructor(paths: string[], exclude: string[] = [], cwd = process.cwd()) {
    this.include = paths.map((p) => {
      const glob = toSlash(isAbsolute(p) ? p : resolve(cwd, p));
      return { glob, re: globToRegExp(glob), ...globBase(glob) };
    });
    for (const x of exclude) {
      if (x.includes('/')) this.excludePath.push(globToRegExp(toSlash(isAbsolute(x) ? x : resolve(cwd, x))));
      else this.excludeName.push(globToRegExp(x));
    }
  }

  excluded(absPath: string): boolean {
    const p = toSlash(absPath);
    const name = basename(p);
    return this.excludeName.some((re) => re.test(name)) || this.excludePath.some((re) => re.test(p));
  }

  matches(absPath: string): boolean {
    const p = toSlash(absPath);
    return this.include.some((g) => g.re.test(p)) && !this.excluded(p);
  }

  /** Folders to watch, each with the depth below it that matches can be at (undefined: any). */
  watchRoots(): { dir: string; depth: number | undefined }[] {
    return this.include.map((g) => ({
      dir: g.base,
      depth: g.rest.includes('**') || g.rest.some((s) => s.includes('**')) ? MAX_DEPTH : Math.max(0, g.rest.length - 1),
    }));
  }

  /** Every regular file matching now, with its stat (symlinks followed). */
  async scan(logger: Logger = silentLogger): Promise<Map<string, BigIntStats>> {
    const found = new Map<string, BigIntStats>();
    for (const g of this.include) {
      const segRes = g.rest.map((s) => (s === '**' ? null : MAGIC.test(s) ? globToRegExp(s) : s));
      await this.walk(g.base, segRes, 0, 0, found, logger);
    }
    return found;
  }

  private async walk(
    dir: string,
    segs: (RegExp | string | null)[],
    i: number,
    depth: number,
    found: Map<string, BigIntStats>,
    logger: Logger,
  ): Promise<void> {
    if (i >= segs.length || depth > MAX_DEPTH) return;
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    if (typeof seg === 'string') {
      const p = join(dir, seg);
      if (last) await this.consider(p, found, logger);
      else await this.walk(p, segs, i + 1, depth + 1, found, logger);
      return;
    }
    let names: import('node:fs').Dirent[];
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') logger.warn({ err, 'file.directory': dir }, `input scan: cannot list folder ${dir}; check its permissions`);
      return;
    }
    if (seg === null) {
      // `**`: the rest of the pattern here, and `**` again in every subfolder (links not followed).
      if (last) {
        for (const d of names) {
          if (d.isDirectory()) await this.walk(join(dir, d.name), segs, i, depth + 1, found, logger);
          else await this.consider(join(dir, d.name), found, logger);
        }
        return;
      }
      await this.walk(dir, segs, i + 1, depth, found, logger);
      for (const d of names) if (d.isDirectory()) await this.walk(join(dir, d.name), segs, i, depth + 1, found, logger);
      return;
    }
    for (const d of names) {
      if (!seg.test(d.name)) continue;
      const p = join(dir, d.name);
      if (last) {
        if (!d.isDirectory()) await this.consider(p, found, logger);
      } else if (d.isDirectory() || d.isSymbolicLink()) {
        await this.walk(p, segs, i + 1, depth + 1, found, logger);
      }
    }
  }

  private async consider(p: string, found: Map<string, BigIntStats>, logger: Logger): Promise<void> {
    if (found.has(p) || !this.matches(p)) return;
    try {
      const st = await stat(p, { bigint: true });
      if (st.isFile()) found.set(p, st);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') logger.warn({ err, 'file.path': p }, `input scan: cannot stat ${p}; check its permissions`);
    }
  }
}

export interface DiscoveryOptions {
  paths: string[];
  exclude: string[];
  /** Milliseconds between full scans. */
  scanFrequency: number;
  logger?: Logger;
  /** Receives every full scan's result (path -> stat). */
  onScan: (files: Map<string, BigIntStats>) => void | Promise<void>;
  /** A matching file changed (a hint to read it now). */
  onChange?: (path: string) => void;
  /** Use file-system events besides the periodic scan. Default true. */
  watch?: boolean;
}

/** Periodic scan plus chokidar events; start()/stop() follow the component contract. */
export class Discovery {
  readonly matcher: PathMatcher;
  private readonly opts: DiscoveryOptions;
  private readonly logger: Logger;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(opts: DiscoveryOptions) {
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger;
    this.matcher = new PathMatcher(opts.paths, opts.exclude);
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    // Watch first, scan second: a file created in between is then seen by one or the other.
    if (this.opts.watch !== false) await this.startWatching();
    if (this.stopped) return;
    await this.scanNow();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.scanNow(), Math.max(50, this.opts.scanFrequency));
    this.timer.unref();
  }

  private async startWatching(): Promise<void> {
    const roots: { dir: string; depth: number | undefined }[] = [];
    for (const r of this.matcher.watchRoots()) {
      // A folder that does not exist yet is watched from its parent (two levels up at most, so
      // that a missing /var/log/x/y never turns into a watch of the whole disk); else scans find it.
      let dir = r.dir;
      let up = 0;
      while (!existsSync(dir) && up < 2 && dirname(dir) !== dir) {
        dir = dirname(dir);
        up++;
      }
      if (existsSync(dir)) roots.push({ dir, depth: r.depth === undefined ? undefined : r.depth + up });
    }
    if (roots.length === 0) return;
    // chokidar applies one depth to all paths; the deepest any root needs is enough.
    const depth = Math.max(...roots.map((r) => r.depth ?? MAX_DEPTH));
    const w = watch([...new Set(roots.map((r) => r.dir))], { ignoreInitial: true, persistent: false, followSymlinks: true, depth });
    w.on('add', (p) => (this.matcher.matches(p) ? this.scanSoon() : undefined));
    w.on('addDir', () => this.scanSoon());
    w.on('unlink', (p) => (this.matcher.matches(p) ? this.scanSoon() : undefined));
    w.on('change', (p) => {
      if (this.matcher.matches(p)) this.opts.onChange?.(p);
    });
    w.on('error', (err) => this.logger.warn({ err }, 'input discovery: file-system events failed; the periodic scan goes on'));
    this.watcher = w;
    // chokidar reports files created before 'ready' as initial ones, which ignoreInitial drops.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      w.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Scans soon, coalescing bursts of events (a rotation is a rename and a create). */
  scanSoon(delay = 30): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.scanNow();
    }, delay);
    this.soon.unref();
  }

  /** Runs a full scan now; concurrent calls share one scan and queue at most one more. */
  scanNow(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    const run = (async () => {
      try {
        do {
          this.again = false;
          if (this.stopped) return;
          const files = await this.matcher.scan(this.logger);
          if (this.stopped) return;
          await this.opts.onScan(files);
        } while (this.again);
      } catch (err) {
        this.logger.error({ err }, 'input discovery: scan failed; retrying at the next scan');
      } finally {
        this.scanning = undefined;
      }
    })();
    this.scanning = run;
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = undefined;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.close();
    await this.scanning;
  }
}
