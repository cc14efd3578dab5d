/** The machine line every benchmark prints first (pino/fastify habit). */
import { cpus, totalmem } from 'node:os';

export function machineLine(): string {
  const c = cpus();
  return `machine: node ${process.version}, ${c[0]?.model ?? 'unknown CPU'}, ${c.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}/${process.arch}`;
}
