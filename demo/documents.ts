/**
 * Seeded prediction documents (already normalized) for the embedded sink's tests and benchmark:
 * beside the seeded line generator (generate.ts), the one place test and bench share seeded data.
 */
import type { PredictionDocument } from '../agent/normalize/document.ts';
import type { Batch, OutEvent } from '../agent/sinks/sink.ts';

export function makeDoc(i: number, overrides: Partial<PredictionDocument> = {}): PredictionDocument {
  const doc: PredictionDocument = {
    '@timestamp': new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + i * 1000).toISOString(),
    event: { id: `ev-${i}`, ingested: '2024-05-01T13:00:00.000Z', duration: 1_500_000 + i },
    model: { name: 'fraud', version: '1.4.2' },
    features: { age: 20 + (i % 50), country: ['de', 'fr', 'us'][i % 3]!, vip: i % 2 === 0, 'geo.city': `c${i % 7}` },
    prediction: { score: (i % 100) / 100, label: i % 10 === 0 ? 'fraud' : 'ok' },
    missing: i % 4 === 0 ? ['income', 'prediction.reason'] : [],
    text: { comment: { content: 'hello big world', token_count: 3, oov_count: 1, oov_tokens: ['big'] } },
    labels: { region: i % 2 === 0 ? 'eu' : 'us' },
    host: { name: 'host-a' },
    log: { file: { path: '/var/log/model/predictions.jsonl' }, offset: i * 200 },
  };
  return { ...doc, ...overrides };
}

export function makeBatch(from: number, to: number, model = 'fraud'): Batch {
  const events: OutEvent[] = [];
  for (let i = from; i < to; i++) {
    const doc = makeDoc(i, { model: { name: model, version: '1.4.2' } });
    events.push({ id: doc.event.id, doc, bytes: 400 });
  }
  return { events, bytes: events.length * 400 };
}
