/**
 * `driftbeat reference build` refuses or warns instead of profiling garbage with exit 0 (issue 12,
 * item 8): an empty CSV, a header without rows, ragged rows, a free-text column, a proba-like
 * column taken as a feature, a --model the config does not know. Each message names the file and
 * the column (or line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from './support/agent-process.ts';

const WORDS = ['great', 'product', 'arrived', 'late', 'but', 'works', 'well', 'never', 'again', 'love', 'it', 'broken', 'box', 'fast', 'shipping'];

async function build(dir: string, cfg: string, file: string, extra: string[] = []): Promise<{ code: number | string; out: string; profile?: any }> {
  const outFile = join(dir, `${file}.json`);
  const p = startAgent(['reference', 'build', '-c', cfg, '--model', extra.includes('--model') ? extra[extra.indexOf('--model') + 1]! : 'fraud', '--version', '1', join(dir, file), '--no-store', '--out', outFile, ...extra.filter((_, i) => extra[i] !== '--model' && extra[i - 1] !== '--model')]);
  const code = await p.exited;
  return { code, out: p.output(), ...(existsSync(outFile) ? { profile: JSON.parse(readFileSync(outFile, 'utf8')) } : {}) };
}

test('reference build refuses empty, header-only and ragged CSVs, naming file and line', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-ref-checks-'));
  try {
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `inputs:\n  - paths: ["${dir}/*.jsonl"]\n    model: { name: fraud }\noutput:\n  embedded: { path: "${dir}/db.duckdb" }\npath: { data: "${dir}/data" }\n`);
    writeFileSync(join(dir, 'empty.csv'), '');
    writeFileSync(join(dir, 'header.csv'), 'amount,country\n');
    writeFileSync(join(dir, 'ragged.csv'), 'a,b,c\n1,2,3\n4,5,6\n7,8\n');
    writeFileSync(join(dir, 'quoted.csv'), 'a,b,c\n1,"x, y",3\n4,"multi\nline",6\n');

    const empty = await build(dir, cfg, 'empty.csv');
    assert.equal(empty.code, 1, empty.out);
    assert.match(empty.out, /reference data file ".*empty\.csv" is empty: expected a header line/);
    assert.equal(empty.profile, undefined, 'no profile written');

    const header = await build(dir, cfg, 'header.csv');
    assert.equal(header.code, 1, header.out);
    assert.match(header.out, /header\.csv" has a header \(amount, country\) but no data rows/);

    const ragged = await build(dir, cfg, 'ragged.csv');
    assert.equal(ragged.code, 1, ragged.out);
    assert.match(ragged.out, /ragged\.csv" line 4: 2 field\(s\), but the header has 3 \(a,b,c\)/);
    assert.equal(ragged.profile, undefined);

    // Delimiters and newlines inside quotes are data, not ragged rows.
    const quoted = await build(dir, cfg, 'quoted.csv');
    assert.equal(quoted.code, 0, quoted.out);
    assert.deepEqual(quoted.profile.fields.map((f: { field: string }) => f.field), ['features.a', 'features.b', 'features.c']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reference build warns about free text, proba-like features and a model nobody names', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-ref-warn-'));
  try {
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'v.yml'), "type: volume\nname: v\nmodel: fraud\nwindow: 1h\nschedule: '0 * * * *'\nmin_count: 1\n");
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `inputs:\n  - paths: ["${dir}/*.jsonl"]\n    model: { name_field: model }\noutput:\n  embedded: { path: "${dir}/db.duckdb" }\npath: { data: "${dir}/data" }\nrules: { path: "${dir}/rules" }\n`);
    let csv = 'amount,review,proba,label\n';
    for (let i = 0; i < 30; i++) {
      const review = Array.from({ length: 4 + (i % 5) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ') + ` ${i}`;
      csv += `${i * 1.5},"${review}",${((i * 37) % 100) / 100},${i % 2 ? 'pos' : 'neg'}\n`;
    }
    writeFileSync(join(dir, 'train.csv'), csv);

    const r = await build(dir, cfg, 'train.csv', ['--model', 'fraud']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /reference: warning: ".*train\.csv" column "review" looks like free text \(30 distinct values in 30 rows, [\d.]+ words on average\) and is profiled as a category.*add it to the input's fields\.text \(fields: \{ text: \[review\] \}\)/);
    assert.match(r.out, /reference: warning: ".*train\.csv" column "proba" looks like a prediction \(its name, values in \[0, 1\]\) but is profiled as a feature; if it is the model's output, pass --prediction-columns proba/);
    assert.doesNotMatch(r.out, /does not know model/, 'fraud is watched by a rule');

    const told = await build(dir, cfg, 'train.csv', ['--model', 'fraud', '--prediction-columns', 'proba,label']);
    assert.equal(told.code, 0, told.out);
    assert.doesNotMatch(told.out, /looks like a prediction/);
    assert.ok(told.profile.fields.some((f: { field: string }) => f.field === 'prediction.proba'));

    const typo = await build(dir, cfg, 'train.csv', ['--model', 'fruad']);
    assert.equal(typo.code, 0, typo.out);
    assert.match(typo.out, /reference: warning: .*driftbeat\.yml does not know model "fruad": no input names it \(an input reads model names from the field "model"\) and no rule of rules\.path watches it \(known: fraud\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
