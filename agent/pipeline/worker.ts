/**
 * The normalize worker (worker_threads): packed lines in, a bulk NDJSON body out. It holds one
 * NormalizeContext per input, built from the same input config as the main thread's, and receives
 * reference profile updates as messages, in order with the batches. Started by offload.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InputConfig } from '../config/schema.ts';
import { NormalizeContext, type Counter, type ModelCounters } from '../normalize/context.ts';
import type { ReferenceInfo } from '../normalize/reference-info.ts';
import { BulkEncoder } from '../sinks/elasticsearch/encode.ts';
import { encodePacked, type EncodedBatch } from './encode-batch.ts';
import type { PackedData } from './packed.ts';

export interface WorkerInit {
  inputs: { id: string; input: InputConfig; hostName: string }[];
  indexPrefix: string;
  /** Bodies kept for reuse (about the batches in flight). */
  maxFreeBodies: number;
}

export type ToWorker =
  | { type: 'encode'; seq: number; packed: PackedData }
  | { type: 'reference'; input: string; info: ReferenceInfo | undefined }
  /** Bodies the main thread has sent, back for reuse. */
  | { type: 'release'; bodies: ArrayBuffer[] };

export type FromWorker =
  /** `slabs`: the batch's line slabs, back to the main thread's pool. */
  | { type: 'encoded'; seq: number; result: EncodedBatch; slabs: ArrayBuffer[] }
  | { type: 'metrics'; unparsed: [string, number][]; overflow: [string, number][] };

// This isolate does not load prom-client (telemetry/metrics.ts): the per-model counts are tallied
// here and sent to the main thread, which serves /metrics, as deltas after each batch that had any.
const tallies = { unparsed: new Map<string, number>(), overflow: new Map<string, number>() };
const tally = (kind: keyof typeof tallies, model: string): Counter => ({
  inc: (n = 1) => void tallies[kind].set(model, (tallies[kind].get(model) ?? 0) + n),
});
const counters: ModelCounters = { unparsed: (model) => tally('unparsed', model), overflow: (model) => tally('overflow', model) };

const init = workerData as WorkerInit;
const contexts = new Map<string, NormalizeContext>();
for (const i of init.inputs) contexts.set(i.id, new NormalizeContext(i.input, { hostName: i.hostName, counters }));
const encoder = new BulkEncoder(init.indexPrefix);
const port = parentPort!;

function sendMetricDeltas(): void {
  const out: FromWorker = { type: 'metrics', unparsed: [...tallies.unparsed], overflow: [...tallies.overflow] };
  tallies.unparsed.clear();
  tallies.overflow.clear();
  if (out.unparsed.length || out.overflow.length) port.postMessage(out);
}

// Body buffers go to the main thread and come back once sent: the same few large buffers are
// reused instead of a megabyte allocated and freed per batch (which fragments the C heap).
const freeBodies: ArrayBuffer[] = [];
const BODY_ROUND = 256 * 1024;
function allocBody(bytes: number): Buffer {
  let best = -1;
  for (let k = 0; k < freeBodies.length; k++) {
    if (freeBodies[k]!.byteLength >= bytes && (best < 0 || freeBodies[k]!.byteLength < freeBodies[best]!.byteLength)) best = k;
  }
  if (best >= 0) return Buffer.from(freeBodies.splice(best, 1)[0]!);
  return Buffer.from(new ArrayBuffer(Math.ceil(bytes / BODY_ROUND) * BODY_ROUND));
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'reference') {
    contexts.get(m.input)?.setReference(m.info);
    return;
  }
  if (m.type === 'release') {
    for (const b of m.bodies) if (freeBodies.length < init.maxFreeBodies) freeBodies.push(b);
    return;
  }
  const packed = m.packed;
  const result = encodePacked(packed, contexts, encoder, allocBody);
  const reply: FromWorker = { type: 'encoded', seq: m.seq, result, slabs: packed.slabs };
  // result.ends is a view of packed.table: the table goes back once, with the body it indexes.
  const transfer = [result.body.buffer as ArrayBuffer, packed.table, ...packed.slabs].filter((b) => b.byteLength > 0);
  port.postMessage(reply, transfer);
  if (Object.keys(result.stats).length > 0) sendMetricDeltas();
});
