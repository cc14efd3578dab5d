/**
 * Loads rule files: YAML + `${ENV}` + schema, then the checks that need more than one file or the
 * config (notifiers, reference fields, models, unique names; a window shorter than the schedule
 * interval is a warning). Every problem of every
 * file is collected and reported at once (RuleError, exit 2), each as
 * `file:line:col: rule "<name>": <key>: <message>`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { RuleError, type Problem, type SourcePosition } from '../errors.ts';
import { formatDuration } from '../config/units.ts';
import { wildcard } from '../lib/glob.ts';
import { positionAt, readYaml, validateYaml, type ParsedYaml } from '../config/yaml.ts';
import { KEYS_BY_TYPE, RULE_TYPES, RuleSchema, type Rule, type RuleType } from './schema.ts';
import { scheduleIntervals } from './window.ts';

export interface LoadRulesContext {
  /** Notifier names from the config; undefined skips the notifier check (no config at hand). */
  notifiers?: readonly string[];
  /**
   * Document paths (`features.amount`, `prediction.score`) of the reference profile of a model
   * version (version undefined = the model's default profile); undefined when no profile is known,
   * which skips the field check for that rule.
   */
  referenceFields?: (model: string, version?: string) => readonly string[] | undefined;
  /** Model names rules may use (the config's inputs, the stored profiles); undefined skips the check. */
  models?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface LoadRulesResult {
  rules: Rule[];
  problems: Problem[];
  /** Every rule file read, in order. */
  files: string[];
  /** Per file: the rules it produced (0 or 1) and its problems, for `rules validate`. */
  perFile: { file: string; rule?: Rule; problems: Problem[]; warnings: Problem[] }[];
  /** What a valid rule does that its author may not mean (a window shorter than the schedule interval). */
  warnings: Problem[];
}

/**
 * Document paths of a reference profile, for `referenceFields`: takes the shape of
 * normalize/reference-info.ts ModelReference (names without prefix) structurally.
 */
export function documentFields(ref: { features: ReadonlyMap<string, unknown>; predictions?: ReadonlyMap<string, unknown> | undefined }): string[] {
  return [...[...ref.features.keys()].map((k) => `features.${k}`), ...[...(ref.predictions?.keys() ?? [])].map((k) => `prediction.${k}`)];
}

const RULE_EXT = new Set(['.yml', '.yaml']);

/** Rule files of the given files and folders (folders: *.yml and *.yaml, not recursive, sorted). */
export function ruleFiles(paths: readonly string[]): { files: string[]; problems: Problem[] } {
  const files: string[] = [];
  const problems: Problem[] = [];
  for (const p of paths) {
    if (!existsSync(p)) {
      problems.push({ key: '', message: `rule path ${p} does not exist (pass a rule file or a folder of *.yml files)` });
      continue;
    }
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (name.startsWith('.') || !RULE_EXT.has(extname(name))) continue;
        const f = join(p, name);
        if (statSync(f).isFile()) files.push(f);
      }
    } else {
      files.push(p);
    }
  }
  return { files: [...new Set(files)], problems };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : `${typeof v} ${String(v)}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** "unknown key" -> with a hint: a near spelling, or the type the key belongs to. */
function unknownKeyHint(key: string, type: RuleType): string {
  const own = KEYS_BY_TYPE[type];
  const close = own.filter((k) => editDistance(k, key) <= 2).sort((a, b) => editDistance(a, key) - editDistance(b, key));
  const near = close.length ? close.slice(0, 1) : own.filter((k) => k.startsWith(`${key}_`));
  if (near.length) return `unknown key (did you mean ${near.join(' or ')}?)`;
  const owners = RULE_TYPES.filter((t) => t !== type && KEYS_BY_TYPE[t].includes(key));
  if (owners.length) return `unknown key for type ${type} (${key} belongs to ${owners.join(', ')})`;
  return 'unknown key';
}

interface Loaded {
  file: string;
  parsed?: ParsedYaml;
  rule?: Rule;
  problems: Problem[];
  warnings?: Problem[];
}

function loadOne(file: string, ctx: LoadRulesContext): Loaded {
  let parsed: ParsedYaml;
  try {
    parsed = readYaml(file, ctx.env ? { env: ctx.env } : {});
  } catch (err) {
    return { file, problems: [{ position: { file, line: 1, col: 1 }, key: '', message: `cannot read rule file: ${(err as Error).message}` }] };
  }
  const raw = parsed.value;
  const obj = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  const fileName = basename(file, extname(file));
  const name = typeof obj?.name === 'string' && obj.name ? obj.name : fileName;
  const subject = `rule "${name}"`;
  if (!parsed.syntaxOk) return { file, parsed, problems: parsed.problems.map((p) => ({ ...p, subject })) };
  if (!obj) {
    return { file, parsed, problems: [{ position: positionAt(parsed, []), key: '', subject, message: `expected a mapping of rule keys (type, model, window, ...), received ${describe(raw)}` }] };
  }
  // An unknown type leaves nothing to validate the other keys against: say what the types are.
  if (!RULE_TYPES.includes(obj.type as RuleType)) {
    return {
      file, parsed,
      problems: [...parsed.problems.map((p) => ({ ...p, subject })), {
        position: positionAt(parsed, obj.type === undefined ? [] : ['type']), key: 'type', subject,
        message: `expected one of ${RULE_TYPES.map((t) => `"${t}"`).join(', ')}, received ${describe(obj.type)}`,
      }],
    };
  }
  const type = obj.type as RuleType;
  const { value, problems } = validateYaml(parsed, RuleSchema, subject);
  for (const p of problems) if (p.message === 'unknown key' && /^\w+$/.test(p.key)) p.message = unknownKeyHint(p.key, type);
  // Notifier names are checked even when other keys are wrong: one pass shows everything.
  const notifyProblems = notifierChecks(obj.notify, parsed, ctx, subject).filter((n) => !problems.some((p) => p.key === n.key));
  if (!value) return { file, parsed, problems: [...problems, ...notifyProblems] };
  const source: SourcePosition = { file, line: 1, col: 1 };
  const rule = { ...value, name: value.name ?? fileName, source } as Rule;
  return { file, parsed, rule, problems: [...notifyProblems, ...crossChecks(rule, parsed, ctx, subject)], warnings: windowWarnings(rule, parsed, subject) };
}

function notifierChecks(notify: unknown, parsed: ParsedYaml, ctx: LoadRulesContext, subject: string): Problem[] {
  const known = ctx.notifiers;
  if (!known || !Array.isArray(notify)) return [];
  const out: Problem[] = [];
  notify.forEach((n, i) => {
    if (typeof n !== 'string' || n === '' || known.includes(n)) return;
    const list = known.length ? `the config defines ${known.map((k) => `"${k}"`).join(', ')}` : 'the config defines no notifiers (add one under notifiers:)';
    out.push({ position: positionAt(parsed, ['notify', i]), key: `notify[${i}]`, subject, message: `unknown notifier "${n}"; ${list}` });
  });
  return out;
}

/** A length people read: whole days as days (a month is 28d to 31d, not "4w"), else as written. */
function humanDuration(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDuration(ms);
}

/**
 * A window shorter than the schedule interval is valid (a sample of each interval), but leaves the
 * data between windows unchecked: a warning, never a reason to refuse the rule.
 */
function windowWarnings(rule: Rule, parsed: ParsedYaml, subject: string): Problem[] {
  const gaps = scheduleIntervals(rule.schedule);
  if (!gaps || rule.window === 0 || rule.window >= gaps.min) return [];
  // Calendar months (28 to 31 days) need the longest gap; a working-hours schedule's weekend gap is not the interval people mean.
  const suggest = gaps.max <= gaps.min * 1.25 ? gaps.max : gaps.min;
  const interval = gaps.min === gaps.max ? humanDuration(gaps.min) : `${humanDuration(gaps.min)} to ${humanDuration(gaps.max)}`;
  return [{
    position: positionAt(parsed, ['window']), key: 'window', subject,
    message: `${humanDuration(rule.window)} is shorter than the schedule interval ${interval} ("${rule.schedule}"): each evaluation checks only the last ${humanDuration(rule.window)}, and the data between windows is never checked; use window: ${humanDuration(suggest)} to check every document, or schedule the rule more often`,
  }];
}

function crossChecks(rule: Rule, parsed: ParsedYaml, ctx: LoadRulesContext, subject: string): Problem[] {
  const out: Problem[] = [];
  const at = (path: PropertyKey[]) => positionAt(parsed, path);
  const raw = parsed.value as Record<string, unknown>;

  if (scheduleIntervals(rule.schedule) === undefined) {
    out.push({ position: at(['schedule']), key: 'schedule', subject, message: `schedule "${rule.schedule}" never fires (check the day and month fields)` });
  }
  if (rule.window === 0) {
    out.push({ position: at(['window']), key: 'window', subject, message: 'expected a window longer than 0, e.g. 1h' });
  }

  if (ctx.models && !ctx.models.includes(rule.model)) {
    out.push({
      position: at(['model']), key: 'model', subject,
      message: `unknown model "${rule.model}"; the config's inputs and reference profiles know ${ctx.models.length ? ctx.models.map((m) => `"${m}"`).join(', ') : 'no model'}`,
    });
  }
  if (ctx.referenceFields && !rule.fieldsDefaulted && rule.fields.length) {
    const version = rule.reference?.kind === 'profile' ? (rule.reference.version ?? rule.version) : rule.version;
    const available = ctx.referenceFields(rule.model, version);
    if (available) {
      const written = Array.isArray(raw.fields) ? (raw.fields as unknown[]) : [];
      rule.fields.forEach((glob, i) => {
        const re = wildcard(glob);
        if (available.some((f) => re.test(f))) return;
        const shown = available.slice(0, 12).join(', ') + (available.length > 12 ? `, ... (${available.length} in all)` : '');
        out.push({
          position: at(['fields', i]), key: `fields[${i}]`, subject,
          message: `${JSON.stringify(String(written[i] ?? glob))} matches no field of the reference profile ${rule.model}${version ? `@${version}` : ''} (it has ${shown || 'no fields'})`,
        });
      });
    }
  }
  return out;
}

/** Loads rules and returns them with every problem (never throws on bad rules). */
export function loadRulesDetailed(paths: readonly string[], ctx: LoadRulesContext = {}): LoadRulesResult {
  const { files, problems } = ruleFiles(paths);
  const loaded = files.map((f) => loadOne(f, ctx));

  const byName = new Map<string, Loaded[]>();
  for (const l of loaded) if (l.rule) byName.set(l.rule.name, [...(byName.get(l.rule.name) ?? []), l]);
  for (const [name, group] of byName) {
    if (group.length < 2) continue;
    for (const l of group) {
      const others = group.filter((o) => o !== l).map((o) => o.file).join(', ');
      const explicit = (l.parsed?.value as Record<string, unknown>).name !== undefined;
      l.problems.push({
        position: explicit ? positionAt(l.parsed!, ['name']) : { file: l.file, line: 1, col: 1 },
        key: 'name', subject: `rule "${name}"`,
        message: `rule name "${name}" is also used by ${others}; rule names must be unique (alerts and results are keyed by them)`,
      });
    }
  }

  const perFile = loaded.map((l) => {
    l.problems.sort((a, b) => (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.col ?? 0) - (b.position?.col ?? 0));
    const warnings = l.warnings ?? [];
    return l.problems.length === 0 && l.rule ? { file: l.file, rule: l.rule, problems: [], warnings } : { file: l.file, problems: l.problems, warnings };
  });
  return {
    rules: perFile.flatMap((p) => (p.rule ? [p.rule] : [])),
    problems: [...problems, ...perFile.flatMap((p) => p.problems)],
    warnings: perFile.flatMap((p) => p.warnings),
    files,
    perFile,
  };
}

/** Loads every rule of the given files and folders, or throws RuleError with all problems of all files. */
export function loadRules(paths: readonly string[], ctx: LoadRulesContext = {}): Rule[] {
  const r = loadRulesDetailed(paths, ctx);
  if (r.problems.length) throw new RuleError(r.problems);
  return r.rules;
}
