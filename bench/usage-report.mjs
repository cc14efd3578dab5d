// Preloaded into the agent process by bench/ship.bench.ts (`node --import`): at exit, writes the
// process's own resource usage (CPU of every thread, peak RSS) to $DRIFTBEAT_BENCH_USAGE.
import { writeFileSync } from 'node:fs';

const out = process.env.DRIFTBEAT_BENCH_USAGE;
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ userUs: u.userCPUTime, systemUs: u.systemCPUTime, maxRssKiB: u.maxRSS, uptimeS: process.uptime() }));
  });
}
