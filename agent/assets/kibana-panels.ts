/**
 * The panels of the "driftbeat: model overview" dashboard, in dashboard order, with their grid size
 * (48 columns wide). kibana.ts lays them out; the quality panels are kibana-quality.ts'.
 */
import { count, dateHistogram, histogram, IDS, metric, percentile, resultLine, terms, type Column, type DashboardFields, type LensSpec } from './kibana-objects.ts';
import { qualityPanels } from './kibana-quality.ts';

export interface Panel {
  spec: LensSpec;
  w: number;
  h: number;
  timeRange?: { from: string; to: string };
}

/** The predictions' own panels: volume, latency, the score and label fields. */
function predictionPanels(f: DashboardFields): Panel[] {
  const P = IDS.predictions;
  return [
    {
      w: 24, h: 12,
      spec: {
        key: 'volume-by-version', title: 'Prediction volume by model version', about: 'Predictions per interval, stacked by model version.', dataView: P,
        columns: [['x', dateHistogram('@timestamp')], ['split', terms('model.version', 10, 'y', 'Model version')], ['y', count('Predictions')]],
        chart: { kind: 'xy', seriesType: 'bar_stacked', x: 'x', y: ['y'], split: 'split' },
      },
    },
    {
      w: 24, h: 12,
      spec: {
        key: 'latency-by-version', title: 'Latency (95th percentile) by model version', about: 'Inference latency (event.duration, nanoseconds) 95th percentile per model version.', dataView: P,
        columns: [['x', dateHistogram('@timestamp')], ['split', terms('model.version', 10, 'y', 'Model version')], ['y', percentile('event.duration', 95, 'Latency p95')]],
        chart: { kind: 'xy', seriesType: 'line', x: 'x', y: ['y'], split: 'split' },
      },
    },
    {
      w: 16, h: 12,
      spec: {
        key: 'score-distribution', title: 'Prediction score distribution', about: `Histogram of ${f.score} over the selected time range.`, dataView: P,
        columns: [['x', histogram(f.score, 'Score')], ['y', count('Predictions')]],
        chart: { kind: 'xy', seriesType: 'bar', x: 'x', y: ['y'] },
      },
    },
    {
      w: 16, h: 12,
      spec: {
        key: 'score-percentiles', title: 'Prediction score percentiles over time', about: `The 5th, 25th, 50th, 75th and 95th percentiles of ${f.score}.`, dataView: P,
        columns: [
          ['x', dateHistogram('@timestamp')],
          ...([5, 25, 50, 75, 95] as const).map((p): [string, Column] => [`p${p}`, percentile(f.score, p, `p${p}`)]),
        ],
        chart: { kind: 'xy', seriesType: 'line', x: 'x', y: ['p5', 'p25', 'p50', 'p75', 'p95'] },
      },
    },
    {
      w: 16, h: 12,
      spec: {
        key: 'label-mix', title: 'Predicted label mix over time', about: `Share of each ${f.label} per interval.`, dataView: P,
        columns: [['x', dateHistogram('@timestamp')], ['split', terms(f.label, 10, 'y', 'Label')], ['y', count('Predictions')]],
        chart: { kind: 'xy', seriesType: 'bar_percentage_stacked', x: 'x', y: ['y'], split: 'split' },
      },
    },
  ];
}

/** The panels of rule results, alerts and model quality. */
function rulePanels(): Panel[] {
  const P = IDS.predictions;
  return [
    {
      w: 24, h: 12,
      spec: resultLine('na-share', 'NA share per feature', 'missing_spike', 'Share of missing values per feature, from missing_spike rule results.', 'NA share'),
    },
    {
      w: 24, h: 12,
      spec: {
        key: 'na-count', title: 'Missing values by feature', about: 'Predictions with a missing value, per feature (terms on the missing field).', dataView: P,
        columns: [['x', terms('missing', 20, 'y', 'Feature')], ['y', count('Predictions with NA')]],
        chart: { kind: 'xy', seriesType: 'bar_horizontal', x: 'x', y: ['y'] },
      },
    },
    {
      w: 24, h: 12,
      spec: resultLine('unseen-share', 'Unseen categories share by feature', 'unseen_categories', 'Share of values not in the reference categories, from unseen_categories rule results.', 'Unseen share'),
    },
    {
      w: 24, h: 12,
      spec: {
        key: 'unseen-top', title: 'Unseen categories (top values)', about: 'Values of categorical features not seen in the reference, from drifted unseen_categories results.', dataView: IDS.results,
        query: 'type : "unseen_categories" and drifted : true',
        columns: [['field', terms('field', 10, 'n', 'Field')], ['value', terms('top_values', 20, 'n', 'Unseen value')], ['n', count('Windows')]],
        chart: { kind: 'table', sortBy: 'n' },
      },
    },
    {
      w: 24, h: 12,
      spec: resultLine('oov-rate', 'OOV rate by text field', 'oov_rate', 'Share of out-of-vocabulary tokens per text field, from oov_rate rule results.', 'OOV rate'),
    },
    {
      w: 24, h: 12,
      spec: {
        key: 'oov-top', title: 'Top out-of-vocabulary words', about: 'Words not in the reference vocabulary, across text fields (oov_tokens).', dataView: P,
        columns: [['word', terms('oov_tokens', 25, 'n', 'Word')], ['n', count('Predictions')]],
        chart: { kind: 'table', sortBy: 'n' },
      },
    },
    {
      w: 48, h: 14,
      spec: resultLine('drift-score', 'Drift score by feature', 'distribution_shift', "Value of each distribution_shift rule's statistic (psi, ks, wasserstein...) per feature.", 'Drift score'),
    },
    {
      w: 48, h: 14,
      spec: {
        key: 'recent-alerts', title: 'Recent alerts', about: 'Alert transitions (firing, recovered) by rule, field and state, latest first.', dataView: IDS.alerts,
        columns: [
          ['rule', terms('rule.name', 20, 'last', 'Rule')],
          ['field', terms('field', 10, 'last', 'Field')],
          ['segment', terms('segment', 5, 'last', 'Segment')],
          ['to', terms('alert.to', 4, 'last', 'State')],
          ['last', metric('max', '@timestamp', 'Last change', 'date')],
        ],
        chart: { kind: 'table', sortBy: 'last' },
      },
    },
    ...qualityPanels(),
  ];
}

/** Every panel of the model overview, in dashboard order. */
export function panelSpecs(f: DashboardFields): Panel[] {
  return [...predictionPanels(f), ...rulePanels()];
}
