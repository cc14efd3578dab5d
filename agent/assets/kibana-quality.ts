/**
 * The model-quality part of the Kibana objects (kibana.ts assembles them): the outcomes data view
 * and three panels of the model overview, all on the outcome documents the join writes
 * (agent/quality/outcome.ts) and the model_quality results:
 *   - accuracy over time by model version (average of quality.correct per interval and version);
 *   - label coverage (the label_coverage every model_quality result carries, per rule);
 *   - the confusion matrix of the last day (actual x predicted class), a panel time range of its own.
 */
import { count, dataView, dateHistogram, IDS, metric, terms, type LensSpec, type SavedObject } from './kibana-objects.ts';

export const OUTCOMES_VIEW = 'driftbeat-outcomes';

/** The label coverage sits in the flattened `details`, which Lens cannot average: emitted as a number. */
const LABEL_COVERAGE_RUNTIME = {
  label_coverage: {
    type: 'double',
    script: {
      source: [
        "def d = params['_source']['details'];",
        "if (d instanceof Map && d['label_coverage'] instanceof Number) { emit(((Number) d['label_coverage']).doubleValue()); }",
      ].join('\n'),
    },
  },
};

export function outcomesDataView(): SavedObject {
  return dataView(OUTCOMES_VIEW, 'driftbeat outcomes', 'driftbeat-outcomes-*', '@timestamp');
}

export const resultsQualityRuntime = LABEL_COVERAGE_RUNTIME;

export function qualityPanels(): { spec: LensSpec; w: number; h: number; timeRange?: { from: string; to: string } }[] {
  return [
    {
      w: 24, h: 12,
      spec: {
        key: 'quality-by-version', title: 'Model quality (accuracy) by model version', about: 'Share of correct predictions among the labelled ones (average of quality.correct), per interval of prediction time and model version, from the joined outcomes.', dataView: OUTCOMES_VIEW,
        columns: [['x', dateHistogram('@timestamp')], ['split', terms('model.version', 10, 'y', 'Model version')], ['y', metric('average', 'quality.correct', 'Accuracy')]],
        chart: { kind: 'xy', seriesType: 'line', x: 'x', y: ['y'], split: 'split' },
      },
    },
    {
      w: 24, h: 12,
      spec: {
        key: 'label-coverage', title: 'Label coverage', about: 'Labelled predictions / predictions in each evaluated window, from model_quality rule results (details.label_coverage).', dataView: IDS.results,
        query: 'type : "model_quality"',
        columns: [['x', dateHistogram('window.to')], ['split', terms('rule', 10, 'y', 'Rule')], ['y', metric('max', 'label_coverage', 'Label coverage')]],
        chart: { kind: 'xy', seriesType: 'line', x: 'x', y: ['y'], split: 'split' },
      },
    },
    {
      w: 24, h: 12,
      // "The last window": the panel keeps its own time range, whatever the dashboard's.
      timeRange: { from: 'now-1d', to: 'now' },
      spec: {
        key: 'confusion-matrix', title: 'Confusion matrix (last day)', about: 'Labelled predictions of the last day by actual class (rows) and predicted class (columns), from the joined outcomes.', dataView: OUTCOMES_VIEW,
        columns: [['actual', terms('quality.actual_class', 20, 'n', 'Actual')], ['predicted', terms('quality.predicted_class', 20, 'n', 'Predicted')], ['n', count('Predictions')]],
        chart: { kind: 'table', sortBy: 'n' },
      },
    },
  ];
}
