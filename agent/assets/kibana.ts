/**
 * The Kibana saved objects driftbeat ships (kibana/driftbeat.ndjson), built as data in the 8.x
 * export format of test/fixtures/elastic/kibana/saved-objects/: data views for predictions, results and
 * alerts, one Lens visualization per panel, and the "driftbeat: model overview" dashboard with a
 * model / version control. `agent/assets/gen-kibana.ts` writes the file; a test holds the file
 * equal to this builder's output, so edit here and regenerate, never the NDJSON by hand.
 *
 * Format notes (see test/fixtures/elastic/SOURCES.md): `coreMigrationVersion` 8.8.0 plus a per-type
 * `typeMigrationVersion`; data view `fields`, `fieldFormatMap`, `runtimeFieldMap`..., dashboard
 * `panelsJSON`/`optionsJSON`/`controlGroupInput.panelsJSON` and every `searchSourceJSON` are JSON
 * encoded as strings; Lens `state` is a real object. References go by id: a Lens layer names
 * `indexpattern-datasource-layer-<layerId>`, a dashboard panel `<panelIndex>:panel_<panelIndex>`,
 * an options-list control `controlGroup_<controlId>:optionsListDataView`.
 */
import { outcomesDataView, resultsQualityRuntime } from './kibana-quality.ts';
import {
  CORE_MIGRATION_VERSION, DEFAULT_DASHBOARD_FIELDS, GENERATED_NOTE, IDS, lens, MODEL_RUNTIME_RESULTS, PANEL_VERSION, stableUuid, TOP_VALUES_RUNTIME,
  TYPE_MIGRATION_VERSION, dataView, type DashboardFields, type SavedObject, type SavedObjectReference,
} from './kibana-objects.ts';
import { panelSpecs } from './kibana-panels.ts';

export {
  CORE_MIGRATION_VERSION, count, dataView, dateHistogram, DEFAULT_DASHBOARD_FIELDS, GENERATED_NOTE, IDS, metric, parseNdjson, stableUuid, terms, toNdjson,
  TYPE_MIGRATION_VERSION, type DashboardFields, type LensSpec, type SavedObject, type SavedObjectReference,
} from './kibana-objects.ts';

function dashboard(lenses: { obj: SavedObject; w: number; h: number; timeRange?: { from: string; to: string } }[]): SavedObject {
  const references: SavedObjectReference[] = [];
  const panels: Record<string, unknown>[] = [];
  let x = 0;
  let y = 0;
  let rowH = 0;
  for (const { obj, w, h, timeRange } of lenses) {
    if (x + w > 48) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const panelIndex = stableUuid(`panel:${obj.id}`);
    panels.push({
      embeddableConfig: { enhancements: {}, ...(timeRange ? { timeRange } : {}) },
      gridData: { h, i: panelIndex, w, x, y },
      panelIndex,
      panelRefName: `panel_${panelIndex}`,
      type: 'lens',
      version: PANEL_VERSION,
    });
    references.push({ id: obj.id, name: `${panelIndex}:panel_${panelIndex}`, type: 'lens' });
    x += w;
    rowH = Math.max(rowH, h);
  }

  const controls: Record<string, unknown> = {};
  const controlFields: [string, string][] = [['model.name', 'Model'], ['model.version', 'Model version']];
  controlFields.forEach(([fieldName, title], order) => {
    const id = stableUuid(`control:${fieldName}`);
    controls[id] = {
      explicitInput: {
        enhancements: {},
        exclude: false,
        existsSelected: false,
        fieldName,
        id,
        searchTechnique: 'prefix',
        selectedOptions: [],
        singleSelect: false,
        sort: { by: '_count', direction: 'desc' },
        title,
      },
      grow: true,
      order,
      type: 'optionsListControl',
      width: 'medium',
    };
    references.push({ id: IDS.predictions, name: `controlGroup_${id}:optionsListDataView`, type: 'index-pattern' });
  });

  return {
    attributes: {
      controlGroupInput: {
        chainingSystem: 'HIERARCHICAL',
        controlStyle: 'oneLine',
        ignoreParentSettingsJSON: JSON.stringify({ ignoreFilters: false, ignoreQuery: false, ignoreTimerange: false, ignoreValidations: false }),
        panelsJSON: JSON.stringify(controls),
        showApplySelections: false,
      },
      description: `One model's health: volume, latency, prediction distribution, missing values, unseen categories, out-of-vocabulary words, drift scores, alerts, and quality from ground truth (accuracy by version, label coverage, confusion matrix). ${GENERATED_NOTE}`,
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ filter: [], query: { language: 'kuery', query: '' } }) },
      optionsJSON: JSON.stringify({ hidePanelTitles: false, syncColors: false, syncCursor: true, syncTooltips: false, useMargins: true }),
      panelsJSON: JSON.stringify(panels),
      refreshInterval: { pause: false, value: 60000 },
      timeFrom: 'now-24h',
      timeRestore: true,
      timeTo: 'now',
      title: 'driftbeat: model overview',
      version: 1,
    },
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    id: IDS.dashboard,
    managed: false,
    references,
    type: 'dashboard',
    typeMigrationVersion: TYPE_MIGRATION_VERSION.dashboard,
  };
}

/** Every saved object of kibana/driftbeat.ndjson, data views first (Kibana imports references before their users either way). */
export function buildKibanaObjects(fields: DashboardFields = DEFAULT_DASHBOARD_FIELDS): SavedObject[] {
  const views = [
    dataView(IDS.predictions, 'driftbeat predictions', 'driftbeat-predictions-*', '@timestamp', {
      formats: { 'event.duration': { id: 'duration', params: { inputFormat: 'nanoseconds', outputFormat: 'humanizePrecise', outputPrecision: 1 } } },
    }),
    dataView(IDS.results, 'driftbeat results', 'driftbeat-results*', 'window.to', { runtime: { ...MODEL_RUNTIME_RESULTS, ...TOP_VALUES_RUNTIME, ...resultsQualityRuntime } }),
    // Alert events carry model.name and model.version themselves (agent/alerts/state.ts AlertEvent).
    dataView(IDS.alerts, 'driftbeat alerts', 'driftbeat-alerts*', '@timestamp'),
    outcomesDataView(),
  ];
  const lenses = panelSpecs(fields).map(({ spec, w, h, timeRange }) => ({ obj: lens(spec), w, h, ...(timeRange ? { timeRange } : {}) }));
  return [...views, ...lenses.map((l) => l.obj), dashboard(lenses)];
}
