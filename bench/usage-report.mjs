// Preloaded into the agent process by bench/ship.bench.ts (`node --import`): at exit, writes the
// process's own resource usage (CPU of every thread, peak RSS) to $DRIFTBEAT_BENCH_USAGE, and the
// main thread's V8 memory (heap, external, array buffers) when the RSS was highest.
import { writeFileSync } from 'node:fs';

const out = process.env.DRIFTBEAT_BENCH_USAGE;
if (out) {
  let peak = { rss: 0 };
  const t = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 100);
  t.unref();
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ userUs: u.userCPUTime, systemUs: u.systemCPUTime, maxRssKiB: u.maxRSS, uptimeS: process.uptime(), mainAtPeak: peak }));
  });
}
