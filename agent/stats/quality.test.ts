import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  classification,
  classMetrics,
  logLoss,
  regression,
  rocAuc,
  rocAucBinned,
  rocAucFromHistograms,
  sortLabels,
} from './quality.ts';
import { close } from '../../test/fixtures/stats-samples.ts';

// Rows and expected values from test/fixtures/quality/gen.py: every expected number sits beside the
// scikit-learn/numpy call that produced it (`call` in the JSON, e.g. "M.f1_score(y, p, average='macro')").
interface Expected { call: string; value: number & number[] & number[][] & string[] }
const fx = JSON.parse(readFileSync(new URL('../../test/fixtures/quality/quality.json', import.meta.url), 'utf8')) as Record<
  'binary' | 'multiclass' | 'regression',
  { actual: never[]; predicted: never[]; score?: number[]; expected: Record<string, Expected> }
>;

function near(actual: number, e: Expected, rel = 1e-12): void {
  assert.ok(close(actual, e.value, rel), `${e.call}: got ${actual}, scikit-learn ${e.value}`);
}

test('binary classification equals scikit-learn (accuracy, P/R/F1 of class 1, macro, weighted, confusion)', () => {
  const { actual, predicted, expected: x } = fx.binary;
  const m = classification(actual, predicted);
  near(m.accuracy, x.accuracy!);
  const one = classMetrics(m, 1);
  near(one.precision, x.precision!);
  near(one.recall, x.recall!);
  near(one.f1, x.f1!);
  near(m.macro.f1, x.f1_macro!);
  near(m.weighted.f1, x.f1_weighted!);
  assert.deepEqual(m.matrix, x.confusion_matrix!.value);
  assert.deepEqual(m.labels, ['0', '1']);
});

test('multiclass: per-class, macro and weighted equal scikit-learn; a class only predicted scores 0 (zero_division)', () => {
  const { actual, predicted, expected: x } = fx.multiclass;
  const m = classification(actual, predicted);
  assert.deepEqual(m.labels, x.labels!.value);
  assert.deepEqual(m.matrix, x.confusion_matrix!.value);
  near(m.accuracy, x.accuracy!);
  m.perClass.forEach((c, i) => {
    assert.ok(close(c.precision, x.precision_per_class!.value[i]!, 1e-12), `${x.precision_per_class!.call}[${i}]`);
    assert.ok(close(c.recall, x.recall_per_class!.value[i]!, 1e-12), `${x.recall_per_class!.call}[${i}]`);
    assert.ok(close(c.f1, x.f1_per_class!.value[i]!, 1e-12), `${x.f1_per_class!.call}[${i}]`);
    assert.equal(c.support, x.support!.value[i]);
  });
  near(m.macro.precision, x.precision_macro!);
  near(m.macro.recall, x.recall_macro!);
  near(m.macro.f1, x.f1_macro!);
  near(m.weighted.precision, x.precision_weighted!);
  near(m.weighted.recall, x.recall_weighted!);
  near(m.weighted.f1, x.f1_weighted!);
});

test('ROC AUC: exact from raw scores equals roc_auc_score; from 100 bins within the stated bound', () => {
  const { actual, score, expected: x } = fx.binary;
  near(rocAuc(actual, score!).auc, x.roc_auc!);
  const binned = rocAucBinned(actual, score!, 100);
  assert.ok(binned.errorBound > 0 && binned.errorBound < 0.01, `bound ${binned.errorBound}`);
  assert.ok(Math.abs(binned.auc - x.roc_auc!.value) <= binned.errorBound, `|${binned.auc} - ${x.roc_auc!.value}| > ${binned.errorBound}`);
  // a coarser histogram has a wider bound, and the bound still holds
  const coarse = rocAucBinned(actual, score!, 4);
  assert.ok(coarse.errorBound > binned.errorBound);
  assert.ok(Math.abs(coarse.auc - x.roc_auc!.value) <= coarse.errorBound);
  // one class only: sklearn raises; we report NaN
  assert.ok(Number.isNaN(rocAucFromHistograms([3, 1], [0, 0]).auc));
});

test('log loss equals sklearn log_loss; a certain wrong score is clipped at float64 eps, not infinite', () => {
  const { actual, score, expected: x } = fx.binary;
  near(logLoss(actual, score!), x.log_loss!);
  // M.log_loss([1, 0], [0.0, 0.0]) == 18.021826694558577
  assert.ok(close(logLoss([1, 0], [0, 0]), 18.021826694558577, 1e-12));
});

test('regression: MAE, MSE, RMSE, MAPE (eps for actual 0), mean error, R² equal scikit-learn/numpy', () => {
  const { actual, predicted, expected: x } = fx.regression;
  const m = regression(actual, predicted);
  near(m.mae, x.mae!);
  near(m.mse, x.mse!, 1e-11);
  near(m.rmse, x.rmse!, 1e-11);
  near(m.mape, x.mape!);
  near(m.meanError, x.mean_error!, 1e-11);
  near(m.r2, x.r2!, 1e-11);
  // M.r2_score([2, 2, 2], [2, 2, 2]) == 1.0 ; M.r2_score([2, 2, 2], [1, 2, 3]) == 0.0 (force_finite)
  assert.equal(regression([2, 2, 2], [2, 2, 2]).r2, 1);
  assert.equal(regression([2, 2, 2], [1, 2, 3]).r2, 0);
});

test('label order is unique_labels order: numeric when all numbers, else code units', () => {
  assert.deepEqual(sortLabels(['10', '9', '1']), ['1', '9', '10']);
  assert.deepEqual(sortLabels(['b', 'B', 'a']), ['B', 'a', 'b']);
  assert.throws(() => classification([], []), /No labelled predictions/);
});
