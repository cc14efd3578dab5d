/**
 * What every rule type shares: the common keys (`name`, `model`, `fields`, `window`, `schedule`,
 * `reference`, ...), their schema pieces and defaults, field names and globs, reference labels.
 * schema.ts and quality-schema.ts build each type's schema from these; neither imports the other.
 */
import { z } from 'zod';
import { validateDetailed } from 'node-cron';
import type { SourcePosition } from '../errors.ts';
import { camel, duration } from '../config/schema.ts';
import { wildcard } from '../lib/glob.ts';
import type { Severity } from './result.ts';
import { RULE_TYPE_INFO, type RuleType } from './types.ts';

// ---------------------------------------------------------------------------------------------
// the loaded rule: what every type has

/** Where a rule compares against (DESIGN.md §5). */
export type Reference =
  /** The training profile of `version` (default: the rule's version, else each segment's own version). */
  | { kind: 'profile'; version?: string }
  /** The same-length window `offset` ms earlier, same model and segment. */
  | { kind: 'offset'; offset: number }
  /** The same window of another segment, e.g. `{ 'model.version': '1.4.2' }` (a champion version). */
  | { kind: 'segment'; segment: Record<string, string> };

export interface RuleCommon {
  name: string;
  description?: string;
  enabled: boolean;
  model: string;
  /** Only documents of this model version are checked; absent = all versions. */
  version?: string;
  /**
   * Document paths or globs (`*` any characters, `?` one): `features.amount`, `features.*`, `prediction.score`.
   * A bare name in the file means a feature (`amount` -> `features.amount`). Empty for volume.
   */
  fields: string[];
  /** True when `fields` is the type's default: keep only fields of the suitable kind, silently. */
  fieldsDefaulted: boolean;
  /** Window length in ms. */
  window: number;
  /** Cron expression, 5 or 6 fields, evaluated in UTC (see window.ts). */
  schedule: string;
  /** Allowance for late data in ms: the evaluation of a window waits this long after the window's end (window.ts). */
  delay: number;
  /** Windows with fewer documents (per segment) give status `no_data`, not a verdict. */
  minSamples: number;
  /** Segment fields: `model.version`, `host.name`, `labels.<name>`. */
  groupBy: string[];
  severity: Severity;
  /** Names of notifiers of the config. */
  notify: string[];
  /** Re-send every `realert` ms while firing; absent = only on firing and on recovery. */
  realert?: number;
  /** Consecutive breached windows before the alert fires. */
  for: number;
  /** The rule's file (line 1, col 1). */
  source: SourcePosition;
}

// ---------------------------------------------------------------------------------------------
// helpers

export const nonEmpty = z.string().min(1);

export const RULE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const SEGMENT_FIELD_RE = /^(model\.version|host\.name|labels\.[A-Za-z0-9_][A-Za-z0-9_.-]*)$/;
export const STAT_RE = /^(mean|median|std|min|max|p(100|\d{1,2}(\.\d+)?))$/;

/** YAML reads `1.5` as a number: ask for quotes instead of silently turning 1.50 into "1.5". */
export function versionString() {
  return z.union([z.string().min(1), z.number()]).transform((v, ctx) => {
    if (typeof v === 'number') {
      ctx.addIssue({ code: 'custom', message: `expected a string, received number ${v} (quote versions in YAML: '${v}')`, input: v });
      return z.NEVER;
    }
    return v;
  }).meta({ type: 'string', description: "model version, quoted: '1.4.2'" });
}

export function pattern(re: RegExp, message: (s: string) => string, description: string) {
  return z.string().refine((s) => re.test(s), { error: (iss) => message(String(iss.input)) })
    .meta({ pattern: re.source, description });
}

/** A record whose keys must match `re`; a bad key is reported at that key (zod's own says only "Invalid key in record"). */
export function keyedRecord<V extends z.ZodType>(re: RegExp, message: (k: string) => string, description: string, value: V) {
  return z.record(z.string().meta({ pattern: re.source, description }), value).superRefine((rec, ctx) => {
    for (const k of Object.keys(rec)) {
      if (!re.test(k)) ctx.addIssue({ code: 'custom', message: message(k), input: k, path: [k] });
    }
  // Keys are checked even when a value failed, so both problems are reported in one pass.
  }, { when: (payload) => payload.value !== null && typeof payload.value === 'object' });
}

/** Cron via node-cron's own parser, so that whatever node-cron accepts, window.ts understands. */
export const CRON_HELP = '5 or 6 fields: [second] minute hour day-of-month month day-of-week, in UTC, e.g. "*/5 * * * *"';
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (!expr.trim().startsWith('@') && (fields.length < 5 || fields.length > 6)) {
    return `invalid cron expression "${expr}": expected ${CRON_HELP}, received ${fields.length} field(s)`;
  }
  const r = validateDetailed(expr);
  if (r.valid) return undefined;
  const e = r.errors[0];
  // node-cron's own words are good except its generic "is a invalid expression for <field>".
  const what = !e ? 'not a cron expression' : /invalid expression/.test(e.message) ? `${e.field} "${e.value ?? ''}" is out of range or malformed` : e.message;
  return `invalid cron expression "${expr}": ${what} (${CRON_HELP})`;
}
export const cron = z.string().check((ctx) => {
  const p = cronProblem(ctx.value);
  if (p) ctx.issues.push({ code: 'custom', message: p, input: ctx.value });
}).meta({ description: `cron schedule: ${CRON_HELP}`, examples: ['*/5 * * * *', '5 * * * *', '0 */15 * * * *'] });

/** Bare names are features; `text.<name>` (the tokenized form) is the feature too. */
export function normalizeField(f: string): string {
  if (f.startsWith('features.') || f.startsWith('prediction.')) return f;
  if (f.startsWith('text.')) return `features.${f.slice(5)}`;
  return `features.${f}`;
}

/** The fields of `available` matched by any of `globs` (`*` any characters, `?` one), in the order of `available`. */
export function matchFields(globs: readonly string[], available: readonly string[]): string[] {
  const res = globs.map((g) => wildcard(g));
  return available.filter((f) => res.some((re) => re.test(f)));
}

/** `profile:fraud@1.4.2`, `offset:7d`, `segment:model.version=1.3.0` (RuleResult.reference). */
export function referenceLabel(ref: Reference, model: string, version?: string): string {
  switch (ref.kind) {
    case 'profile': {
      const v = ref.version ?? version;
      return `profile:${model}${v ? `@${v}` : ''}`;
    }
    case 'offset':
      return `offset:${formatMs(ref.offset)}`;
    case 'segment':
      return `segment:${Object.entries(ref.segment).map(([k, v]) => `${k}=${v}`).join(',')}`;
  }
}

function formatMs(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

// ---------------------------------------------------------------------------------------------
// reference

export const ReferenceSchema = camel(
  z.strictObject({
    profile: z.union([
      z.literal(true),
      z.strictObject({ version: versionString().optional().describe('Profile of this version instead of the rule\'s.') }),
    ]).optional().describe('The training profile (the default): true, or { version: \'1.4.2\' }.'),
    offset: duration('7d').optional().describe('A past window of the same length this far back, e.g. 7d (same weekday and hour).'),
    segment: keyedRecord(SEGMENT_FIELD_RE, (s) => `expected model.version, host.name or labels.<name>, received "${s}"`, 'segment field', versionString()).optional().describe("Another segment in the same window, e.g. { model.version: '1.4.2' } (a champion version)."),
  }),
).check((ctx) => {
  const r = ctx.value;
  const given = (['profile', 'offset', 'segment'] as const).filter((k) => r[k] !== undefined);
  if (given.length !== 1) {
    ctx.issues.push({ code: 'custom', message: `expected exactly one of profile, offset or segment, received ${given.length === 0 ? 'none' : given.join(' and ')}`, input: r, path: [] });
  } else if (r.segment !== undefined && Object.keys(r.segment).length === 0) {
    ctx.issues.push({ code: 'custom', message: "expected at least one segment field, e.g. { model.version: '1.4.2' }", input: r.segment, path: ['segment'] });
  } else if (r.offset === 0) {
    ctx.issues.push({ code: 'custom', message: 'expected an offset > 0, e.g. 7d', input: r.offset, path: ['offset'] });
  }
}).transform((r): Reference => {
  if (r.offset !== undefined) return { kind: 'offset', offset: r.offset };
  if (r.segment !== undefined) return { kind: 'segment', segment: r.segment };
  const v = r.profile === true || r.profile === undefined ? undefined : r.profile.version;
  return v === undefined ? { kind: 'profile' } : { kind: 'profile', version: v };
}).describe('What the current window is compared with; exactly one of profile, offset, segment. Default: { profile: true }.');

export const DEFAULT_REFERENCE: Reference = { kind: 'profile' };

// ---------------------------------------------------------------------------------------------
// common keys

export const share = z.number().min(0).max(1);

export function common(minSamplesDefault: number) {
  return {
    name: pattern(RULE_NAME_RE, (s) => `expected letters, digits, '_', '-' or '.', starting with a letter or digit, received "${s}"`, 'rule name')
      .optional().describe('Unique rule name; default: the file name without extension.'),
    description: z.string().optional().describe('Shown in alert messages.'),
    enabled: z.boolean().default(true),
    model: nonEmpty.describe('Model name (model.name of the documents).'),
    version: versionString().optional().describe('Check only this model version; default: all versions.'),
    fields: z.array(nonEmpty).min(1).optional()
      .describe('Field names or globs: amount (a feature), features.*, prediction.score, prediction.*. Default: all fields of the reference that suit the rule type.'),
    window: duration('1h').describe('Length of each evaluated window, e.g. 1h. At least the schedule interval.'),
    schedule: cron,
    delay: duration('1m').prefault('1m').describe('Allowance for late data: how long after the window ends (at its scheduled time) the evaluation waits. It never moves the window.'),
    reference: ReferenceSchema.optional(),
    min_samples: z.int().min(0).default(minSamplesDefault).describe('Fewer documents in a window (per segment) give no_data instead of a verdict.'),
    group_by: z.array(pattern(SEGMENT_FIELD_RE, (s) => `expected model.version, host.name or labels.<name>, received "${s}"`, 'segment field'))
      .default([]).describe('Evaluate each segment separately: model.version, host.name, labels.<name>.'),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    notify: z.array(nonEmpty).default([]).describe('Names of notifiers defined in the config (notifiers:).'),
    realert: duration('1h').optional().describe('Send again this often while the alert keeps firing; default: only on firing and recovery.'),
    for: z.int().min(1).default(1).describe('Consecutive breached windows before the alert fires.'),
  };
}

export type CommonOut = {
  name?: string; description?: string; enabled: boolean; model: string; version?: string; fields?: string[];
  window: number; schedule: string; delay: number; reference?: Reference; minSamples: number; groupBy: string[];
  severity: Severity; notify: string[]; realert?: number; for: number;
};

/** Common keys with defaults applied; `defaultFields` is the type's default when `fields` is absent. */
export function finishCommon(v: CommonOut, defaultFields: string[]): Omit<RuleCommon, 'name' | 'source'> & { name?: string; reference?: Reference } {
  const out: Omit<RuleCommon, 'name' | 'source'> & { name?: string; reference?: Reference } = {
    enabled: v.enabled,
    model: v.model,
    fields: v.fields ? v.fields.map(normalizeField) : defaultFields,
    fieldsDefaulted: v.fields === undefined,
    window: v.window,
    schedule: v.schedule,
    delay: v.delay,
    minSamples: v.minSamples,
    groupBy: v.groupBy,
    severity: v.severity,
    notify: v.notify,
    for: v.for,
  };
  if (v.name !== undefined) out.name = v.name;
  if (v.description !== undefined) out.description = v.description;
  if (v.version !== undefined) out.version = v.version;
  if (v.realert !== undefined) out.realert = v.realert;
  if (v.reference !== undefined) out.reference = v.reference;
  return out;
}

/** The `type` key of a variant, described by its entry in types.ts. */
export function typeKey<T extends RuleType>(type: T) {
  return z.literal(type).describe(RULE_TYPE_INFO[type].summary);
}
