/**
 * The catalogue of every error code driftbeat raises (a table, see errors.ts for the classes).
 * Each entry: what the code means and what the user should do. `agent/errors-catalogue.test.ts`
 * scans agent/ and fails when a code is raised that this table lacks, or listed here and raised
 * nowhere. The README's "Error codes" table is generated from it by agent/errors-docs.ts.
 */
export interface CatalogueEntry {
  /** What happened, in the user's words. */
  meaning: string;
  /** What the user should do. */
  action: string;
}

export const ERROR_CATALOGUE: Readonly<Record<string, CatalogueEntry>> = {
  // config and CLI (exit code 2)
  ERR_CONFIG_INVALID: { meaning: 'The config file has problems (unknown key, wrong type, missing value); every problem is listed with file:line:col and key path.', action: 'Fix each listed key; `driftbeat run -c <file> --check` re-checks without starting.' },
  ERR_CONFIG_NOT_FOUND: { meaning: 'The config file given with `-c` (or the default) does not exist.', action: 'Pass an existing file with `-c`, e.g. `-c config.example.yml`.' },
  ERR_CONFIG_CA: { meaning: '`output.elasticsearch.ca` names a CA certificate file that cannot be read.', action: 'Give the path of a readable PEM file, or use `ca_fingerprint`.' },
  ERR_TLS_CA_FINGERPRINT: { meaning: 'No certificate in the chain the engine sent has the SHA-256 fingerprint of `output.elasticsearch.ca_fingerprint`; nothing was sent over that connection, and it is retried as a connection failure.', action: 'Copy the fingerprint Elasticsearch printed at first start (or `openssl x509 -fingerprint -sha256 -in http_ca.crt`); if the engine does not send its CA in the chain, use `ca` with the CA file instead.' },
  ERR_CLI_TIME: { meaning: '`--from`/`--to` of a rules command is not an ISO 8601 time, or `--to` is not after `--from`.', action: 'Pass times such as `2024-05-01T12:00:00Z`, with `--to` later than `--from`.' },
  ERR_DATA_LOCK: { meaning: 'The lock file in `path.data` cannot be created.', action: 'Check that the `path.data` folder exists and is writable by the agent\'s user.' },
  ERR_DATA_LOCKED: { meaning: 'Another driftbeat (pid in the message) already uses this `path.data`.', action: 'Stop the other agent, or give this one its own `path.data`.' },
  ERR_REGISTRY_DIR: { meaning: 'The folder of the offsets registry cannot be created.', action: 'Check `path.data` and its permissions.' },
  ERR_REGISTRY_READ: { meaning: 'The offsets registry file exists but cannot be read.', action: 'Check the file\'s permissions.' },
  ERR_REGISTRY_CORRUPT: { meaning: 'The offsets registry is not valid JSON or has no `entries` array.', action: 'Fix or delete it; deleting re-reads every input file from the start.' },
  // rules
  ERR_RULE_INVALID: { meaning: 'A rule file has problems; every problem is listed with file:line:col, rule and key.', action: 'Fix each listed key; `driftbeat rules validate` re-checks.' },
  ERR_RULE_NO_PROFILE: { meaning: 'A drift rule needs a reference profile for its model (and version) and none is stored.', action: 'Build one with `driftbeat reference build -c <file> --model <m> --version <v> <data>`.' },
  ERR_WATCH_CRON: { meaning: 'A rule\'s schedule (plus its delay) cannot be written as a Watcher cron (both day fields restricted, L/# tokens, wrong field count).', action: 'Restrict only day of month or day of week, use plain weekdays, or choose another delay.' },
  ERR_WATCH_DURATION: { meaning: 'A duration used in a watch is not whole seconds.', action: 'Use whole seconds in window, delay and `for` of rules exported as watches.' },
  ERR_WATCH_NO_RULES: { meaning: '`rules.path` is not set, so there are no rules to generate watches from.', action: 'Set `rules: { path: rules }` in the config.' },
  // reference profiles
  ERR_REFERENCE_MODEL: { meaning: '`--model` names a model no input of the config has.', action: 'Add an input for the model, or pass one of the models listed in the message.' },
  ERR_REFERENCE_METRICS: { meaning: '`reference build --metrics` is not a list of name=number pairs of model_quality metrics.', action: 'Pass e.g. `--metrics f1=0.81,recall=0.7` with metric names of model_quality.' },
  ERR_REFERENCE_FORMAT: { meaning: 'The reference data\'s format cannot be told from its extension, or `--format` is not csv, jsonl or parquet.', action: 'Name the file .csv, .jsonl or .parquet, or pass `--format csv|jsonl|parquet`.' },
  ERR_REFERENCE_DATA: { meaning: 'The reference data file does not exist.', action: 'Pass an existing CSV, JSON-lines or Parquet file as DATA.' },
  ERR_REFERENCE_EMPTY: { meaning: 'The reference data has no rows (or no rows of this model).', action: 'Give the training examples: a header and one row per example.' },
  ERR_REFERENCE_RAGGED: { meaning: 'A CSV row of the reference data has a different number of fields than the header (line in the message).', action: 'Give every row one value per column (an empty value still needs its delimiter).' },
  ERR_REFERENCE_NO_FIELDS: { meaning: 'The reference data has no feature or prediction columns.', action: 'Check the column names against the input\'s `fields`.' },
  ERR_REFERENCE_LAYOUT: { meaning: 'The column named by the input\'s `fields.features` is not an object on every row.', action: 'Fix the data, or set `fields.features` to a column absent from the file to read one column per feature.' },
  ERR_REFERENCE_PREDICTIONS: { meaning: 'Prediction keys or columns asked for are not in the reference data.', action: 'Pass prediction names that exist in the data (listed in the message).' },
  ERR_REFERENCE_READ: { meaning: 'DuckDB could not read the reference data file.', action: 'Check the file is readable and well-formed in its format; the message has DuckDB\'s reason.' },
  ERR_REFERENCE_STORE: { meaning: 'Saving or reading a reference profile in Elasticsearch failed.', action: 'Check the cluster is reachable and the user may read and write the reference index.' },
  // ingest: lines rejected to the dead-letter file (the agent goes on)
  ERR_NORMALIZE_EMPTY_LINE: { meaning: 'An empty line in an input file (skipped).', action: 'Nothing; it is counted and skipped.' },
  ERR_NORMALIZE_INVALID_JSON: { meaning: 'A prediction log line is not valid JSON.', action: 'Fix the writer of the log; the dead-letter entry has the file and offset.' },
  ERR_NORMALIZE_NOT_OBJECT: { meaning: 'A prediction log line is JSON but not an object.', action: 'Write one JSON object per line.' },
  ERR_NORMALIZE_TIMESTAMP: { meaning: 'The timestamp field is absent or not a date.', action: 'Check `fields.timestamp` of the input and the log\'s timestamps.' },
  ERR_NORMALIZE_TIMESTAMP_FORMAT: { meaning: 'The timestamp does not match the input\'s `timestamp_format`.', action: 'Set `timestamp_format` to what the log writes.' },
  ERR_NORMALIZE_TIMESTAMP_RANGE: { meaning: 'The timestamp is outside the accepted range (too old or in the future).', action: 'Check the writer\'s clock and time zone.' },
  ERR_NORMALIZE_MODEL: { meaning: 'No model name for the line.', action: 'Set `model.name` or `model.name_field` of the input.' },
  ERR_NORMALIZE_FEATURES: { meaning: 'The features field is not an object of features.', action: 'Check `fields.features` of the input and what the log writes there.' },
  ERR_NORMALIZE_LINE_TOO_LONG: { meaning: 'A line is longer than `max_line_bytes` (normalize step).', action: 'Raise the input\'s `max_line_bytes`, or shorten what the writer logs.' },
  ERR_LINE_TOO_LONG: { meaning: 'A line is longer than `max_line_bytes` (reader or feedback input); it goes to the dead letter.', action: 'Raise the input\'s `max_line_bytes`, or shorten what the writer logs.' },
  ERR_NORMALIZE_INTERNAL: { meaning: 'driftbeat failed on a line it should have handled (a bug).', action: 'Report it with the dead-letter entry.' },
  // outcomes (feedback) and model quality
  ERR_LINE_EMPTY: { meaning: 'An empty line in a feedback (outcomes) file (skipped).', action: 'Nothing; it is skipped.' },
  ERR_LINE_JSON: { meaning: 'A feedback line is not valid JSON.', action: 'Fix the writer of the outcomes file.' },
  ERR_LINE_NOT_OBJECT: { meaning: 'A feedback line is not a JSON object.', action: 'Write one outcome object per line.' },
  ERR_FEEDBACK_ID: { meaning: 'A feedback line has no usable prediction id.', action: 'Check the feedback input\'s id field; it must be a non-empty string or a number.' },
  ERR_FEEDBACK_ACTUAL: { meaning: 'A feedback line has no actual value.', action: 'Check the feedback input\'s actual field(s).' },
  ERR_TIMESTAMP: { meaning: 'A feedback line has an unusable timestamp.', action: 'Check the feedback input\'s timestamp field and format.' },
  ERR_OUTCOME_NO_PREDICTION_FIELD: { meaning: 'The joined prediction has no (numeric, for regression) `prediction.<join.prediction>`.', action: 'Set `join.prediction` to a prediction key the model logs.' },
  ERR_OUTCOME_NO_ACTUAL_FIELD: { meaning: 'The outcome has no (numeric, for regression) `actual.<join.actual>`.', action: 'Set `join.actual` to a key the outcomes carry (listed in the message).' },
  ERR_OUTCOMES_WRITE: { meaning: 'Elasticsearch refused outcome documents.', action: 'Read the first refusal in the message (mapping, permission); the outcomes are retried.' },
  // outputs
  ERR_SINK_AUTH: { meaning: 'Elasticsearch refused the credentials (401) or the privileges (403); the agent stops and keeps its offsets.', action: 'Fix `username`/`password` or `api_key`, grant create_doc and auto_configure on `<prefix>-*`, restart.' },
  ERR_SINK_UNSUPPORTED: { meaning: 'The output answered, but is not a supported Elasticsearch/OpenSearch.', action: 'Point `output.elasticsearch.hosts` at Elasticsearch 8 or OpenSearch 2.' },
  ERR_SINK_REJECTED: { meaning: 'Elasticsearch refused the batch permanently.', action: 'Read the reason in the message; the documents stay unacknowledged.' },
  ERR_SINK_ABORTED: { meaning: 'A send was stopped (shutdown) with documents unsettled.', action: 'Nothing; they are sent again on restart.' },
  ERR_ENGINE_UNSUPPORTED: { meaning: '`GET /` did not find a supported engine (retrying cannot help).', action: 'Point the config at Elasticsearch 8 or OpenSearch 2.' },
  ERR_CLOSED: { meaning: 'A request was made on an engine connection after it was closed (during shutdown).', action: 'Nothing during shutdown; otherwise report it.' },
  ERR_EMBEDDED_OPEN: { meaning: 'The embedded DuckDB store cannot be opened or initialized.', action: 'Check `output.embedded.path`, its folder and permissions; the message has DuckDB\'s reason.' },
  ERR_EMBEDDED_LOCKED: { meaning: 'Another process (a driftbeat or a DuckDB client) holds the embedded store file.', action: 'Keep `http.enabled` so commands run inside the agent, stop the other process, or use another `output.embedded.path`.' },
  ERR_EMBEDDED_CLOSED: { meaning: 'The embedded store was used after it was closed (during shutdown).', action: 'Nothing during shutdown; otherwise report it.' },
  ERR_EMBEDDED_SQL: { meaning: 'A statement on the embedded store failed.', action: 'Read DuckDB\'s reason in the message; a full disk or a damaged file are the usual causes.' },
  ERR_EMBEDDED_SCHEMA_NEWER: { meaning: 'The embedded store was written by a newer driftbeat.', action: 'Upgrade driftbeat, or point `output.embedded.path` at another file.' },
  ERR_EMBEDDED_STOPPED: { meaning: 'The embedded output received a batch after it was stopped.', action: 'Nothing during shutdown; otherwise report it.' },
  ERR_EMBEDDED_WRITE: { meaning: 'Writing a batch into the embedded store failed; the agent stops and keeps its offsets.', action: 'Read the reason, fix (disk space, permissions), restart.' },
  ERR_EMBEDDED_ABORTED: { meaning: 'A send to the embedded store was stopped while waiting to retry; the batch was not stored.', action: 'Nothing; it is read again on restart.' },
  ERR_RESULTS_WRITE: { meaning: 'Elasticsearch refused rule result documents.', action: 'Read the first refusal (mapping, permission) in the message; check `driftbeat setup` ran.' },
  // rule evaluation
  ERR_BACKEND_ES: { meaning: 'An Elasticsearch `_msearch` for rules failed as a whole; the rules give `error` results.', action: 'Check the cluster is reachable and the user may read `<prefix>-*`.' },
  ERR_BACKEND_SEARCH: { meaning: 'One search of a rule failed in Elasticsearch; that rule gives an `error` result.', action: 'Read the reason; usually a field mapped as text (run `driftbeat setup`) or a missing index.' },
  ERR_BACKEND_PARSE: { meaning: 'An Elasticsearch answer to a rule query could not be read.', action: 'Report it with the engine\'s version.' },
  ERR_BACKEND_BUCKETS: { meaning: 'A rule search makes more buckets than the engine\'s `search.max_buckets`, even with its sizes capped; that rule gives an `error` result.', action: 'Lower the rule\'s `group_by` cardinality or `top`.' },
  ERR_BACKEND_QUERY: { meaning: 'A rule query on the embedded store failed; that rule gives an `error` result.', action: 'Read DuckDB\'s reason in the message.' },
  ERR_STATS_EMPTY: { meaning: 'A statistic got no values (every value missing, or no labelled predictions).', action: 'Widen the window or check the field name.' },
  ERR_STATS_NOT_NUMERIC: { meaning: 'A numeric statistic met a non-numeric value.', action: 'Use `type: cat` for categories, or fix the field.' },
  ERR_STATS_LENGTH: { meaning: 'Two series of a metric have different lengths (a bug in the caller).', action: 'Report it; library users: pass equal-length arrays.' },
  ERR_STATS_RANGE: { meaning: 'Histogram bins cannot be built for the data\'s range (not finite, too many bins).', action: 'Check the field for ±Infinity or huge values.' },
  ERR_STATS_BINS: { meaning: 'The number of quantile bins is not a positive integer.', action: 'Set a positive integer number of bins.' },
  ERR_STATS_BAD_COUNTS: { meaning: 'A category count is negative or not finite.', action: 'Pass finite counts >= 0.' },
  ERR_STATS_TEXT: { meaning: 'A drift test was asked on a text column.', action: 'Use an `oov_rate` rule for text, or `type: cat`/`num`.' },
  ERR_STATS_TYPE: { meaning: 'Unknown column type.', action: 'Use `num`, `cat` or `text`.' },
  ERR_STATS_METHOD: { meaning: 'Unknown drift method.', action: 'Use `auto` or one of the methods listed in the message.' },
  ERR_STATS_METHOD_TYPE: { meaning: 'A numeric-only drift method was asked on a categorical column.', action: 'Use chisquare, z, psi, kl_div, jensenshannon, hellinger or l_infinity for categories.' },
  // alerts and notifications
  ERR_ALERT_STATE: { meaning: 'Reading or writing the alert state in Elasticsearch failed.', action: 'Check the cluster is reachable and the user may read and write driftbeat-state and driftbeat-alerts.' },
  ERR_ALERT_STATE_TOO_MANY: { meaning: 'More alert state documents than the agent loads.', action: 'Reduce `group_by` cardinality or fields per rule.' },
  ERR_ALERT_SILENCE: { meaning: '`alerts silence` got an empty rule name, a bad `--for` duration or a malformed `--segment`.', action: 'Pass a rule name and a duration such as `2h` or `30m`.' },
  ERR_ALERT_UNKNOWN_RULE: { meaning: '`alerts silence` or `alerts unsilence` named a rule that is neither in `rules.path` nor among the stored alerts (a typo would silence nothing).', action: 'Use one of the rule names the message lists.' },
  ERR_NOTIFY_UNKNOWN: { meaning: 'A rule notifies a notifier the config does not define.', action: 'Add it under `notifiers:` or remove it from the rule\'s `notify:`.' },
  ERR_NOTIFY_UNREACHABLE: { meaning: 'A webhook/Slack notifier could not be reached; the message is retried.', action: 'Check the URL and the network.' },
  ERR_NOTIFY_RATE_LIMITED: { meaning: 'The notifier answered 429; the message is retried.', action: 'Nothing, or send fewer alerts (`for`, `group_by`).' },
  ERR_NOTIFY_SERVER: { meaning: 'The notifier answered 5xx; the message is retried.', action: 'Check the receiving service.' },
  ERR_NOTIFY_REJECTED: { meaning: 'The notifier refused the message (4xx); it is not retried.', action: 'Check the URL, token and payload the receiver expects.' },
  ERR_NOTIFY_SMTP_TEMPORARY: { meaning: 'The SMTP server answered a temporary error (4xx); the email is retried.', action: 'Nothing, or check the mail server.' },
  ERR_NOTIFY_SMTP_REJECTED: { meaning: 'The SMTP server refused the email permanently (5xx, auth).', action: 'Check the email notifier\'s host, credentials and addresses.' },
  ERR_NOTIFY_FAILED: { meaning: 'A notifier failed in an unexpected way; the message is retried.', action: 'Read the reason in the message.' },
  // setup and assets
  ERR_SETUP_NO_KIBANA: { meaning: '`setup --kibana` was asked but the config names no Kibana.', action: 'Add `setup: { kibana: { host: ... } }`.' },
  ERR_SETUP_KIBANA_FILES: { meaning: 'The Kibana saved objects folder cannot be read.', action: 'Check the installation is complete.' },
  ERR_ASSETS_NDJSON: { meaning: 'A shipped Kibana saved object file is not valid NDJSON.', action: 'Regenerate with `node --import tsx agent/assets/gen-kibana.ts`.' },
};
