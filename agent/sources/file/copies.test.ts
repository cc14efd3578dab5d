/**
 * Copies of a file (a `.gz` of it, a copytruncate copy) are read as its continuation, never as new
 * files: one scan that finds a file and its copy at once reads every line once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputSchema } from '../../config/schema.ts';
import { Registry } from './registry.ts';
import { FileSource } from './source.ts';

const lines = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}-line-${String(i).padStart(4, '0')}`);

for (const copy of ['gz', 'plain'] as const) {
  test(`copies: a file and its ${copy === 'gz' ? '.gz' : 'copy'}, both new to the registry and found by one scan, give every line once`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'driftbeat-copies-'));
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const reg = await Registry.open(join(dir, 'data'));
    const got: string[] = [];
    const src = new FileSource({
      input: InputSchema.parse({ paths: [join(logs, 'pred.jsonl*')], model: { name: 'm' }, scan_frequency: '50ms', fingerprint_bytes: 64 }),
      inputId: 'in1',
      registry: reg,
      pollMin: 10,
      pollMax: 50,
      watch: false,
      onLines: (ls) => {
        for (const l of ls) got.push(l.line.toString());
      },
    });
    t.after(async () => {
      await src.stop();
      await reg.close();
      rmSync(dir, { recursive: true, force: true });
    });
    // What a rotation leaves while compress (or copytruncate's copy) runs: the file and its copy.
    const text = lines('a', 200).join('\n') + '\n';
    writeFileSync(join(logs, 'pred.jsonl.1'), text);
    writeFileSync(join(logs, copy === 'gz' ? 'pred.jsonl.1.gz' : 'pred.jsonl.2'), copy === 'gz' ? gzipSync(text) : text);
    await src.readToEnd();
    const twice = got.filter((l, i) => got.indexOf(l) !== i);
    assert.deepEqual({ lines: got.length, twice: twice.slice(0, 3) }, { lines: 200, twice: [] });
  });
}
