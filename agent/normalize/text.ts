/**
 * The text step: a configured text field (or a reference field of type text) becomes
 * `text.<name>` with its content and token count, and its out-of-vocabulary tokens once the
 * reference has a vocabulary (Evidently's tokenizer, tokenize.ts).
 */
import { addUnparsed, type Acc } from './accumulator.ts';
import { textStats } from './tokenize.ts';
import { isNA, put } from './values.ts';

export function addText(acc: Acc, name: string, v: unknown, vocabulary: ReadonlySet<string> | undefined): void {
  if (isNA(acc.ctx, v)) {
    acc.missing.push(name);
    return;
  }
  if (typeof v === 'object') {
    addUnparsed(acc, name, v);
    return;
  }
  const stats = textStats(typeof v === 'string' ? v : String(v), vocabulary);
  if (acc.text === undefined) acc.text = {};
  put(acc.text, name, stats);
}

