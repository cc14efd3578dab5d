/**
 * Runs Painless on the real engine: `POST _scripts/painless/_execute` (context `painless_test`,
 * which takes params), so the generated watches' scripts are compiled and executed by the engine's
 * own Painless, not translated. What the script returns comes back as JSON: the script's
 * statements become a function of (ctx, params) whose value a small Painless encoder (jsonOf)
 * writes out; its own functions stay as they are. `ctx` is what Watcher gives a condition or
 * transform: `payload`, `trigger.scheduled_time` (a ZonedDateTime), `watch_id`.
 *
 * Painless compiles each distinct source once (the engine caches it, params apart), so a test that
 * calls one function on many arguments sends one script (`painlessCalls`) with the argument lists
 * as params, within the engine's compilation rate limit.
 */
import type { TestEngine } from './engine.ts';

const JSON_ENCODER = `
String jsonStr(String s) { StringBuilder sb = new StringBuilder(); sb.append('"'); for (int i = 0; i < s.length(); i++) { char c = s.charAt(i); if (c == (char) '"' || c == (char) '\\\\') { sb.append('\\\\'); sb.append(c); } else if (c < (char) ' ') { String h = Integer.toHexString((int) c); sb.append('\\\\u'); for (int k = h.length(); k < 4; k++) { sb.append('0'); } sb.append(h); } else { sb.append(c); } } sb.append('"'); return sb.toString(); }
String jsonOf(def x) {
  if (x == null) { return 'null'; }
  if (x instanceof Map) { StringBuilder sb = new StringBuilder(); sb.append('{'); boolean first = true; for (def e : x.entrySet()) { if (!first) { sb.append(','); } first = false; sb.append(jsonStr(String.valueOf(e.getKey()))); sb.append(':'); sb.append(jsonOf(e.getValue())); } sb.append('}'); return sb.toString(); }
  if (x instanceof List) { StringBuilder sb = new StringBuilder(); sb.append('['); for (int i = 0; i < x.size(); i++) { if (i > 0) { sb.append(','); } sb.append(jsonOf(x.get(i))); } sb.append(']'); return sb.toString(); }
  if (x instanceof Boolean) { return x.toString(); }
  if (x instanceof Number) { double d = ((Number) x).doubleValue(); if (Double.isNaN(d)) { return '"NaN"'; } if (Double.isInfinite(d)) { return d > 0 ? '"Infinity"' : '"-Infinity"'; } return x.toString(); }
  return jsonStr(x.toString());
}
`;

/** Splits a Painless script into its leading function declarations and its statements. */
export function splitFunctions(src: string): { functions: string; statements: string } {
  let i = 0;
  const decl = /^(?:\s|\/\/[^\n]*\n)*(?:String|int|long|double|float|boolean|def|List|Map|void|char)\s+\w+\s*\(/;
  for (;;) {
    const m = decl.exec(src.slice(i));
    if (!m) break;
    let j = src.indexOf('{', i + m[0].length);
    let depth = 0;
    let quote = '';
    for (; j < src.length; j++) {
      const c = src[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) break;
    }
    if (depth !== 0) throw new Error('unbalanced braces in a Painless function');
    i = j + 1;
  }
  return { functions: src.slice(0, i), statements: src.slice(i) };
}

const decode = (v: unknown): unknown => {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  return v;
};

async function execute(engine: TestEngine, source: string, params: Record<string, unknown>): Promise<unknown> {
  const res = await engine.request<{ result?: string; error?: unknown }>('POST', '/_scripts/painless/_execute', { script: { source, params }, context: 'painless_test' });
  if (res.status !== 200 || typeof res.body.result !== 'string') throw new Error(`the engine refused the Painless (${res.status}): ${JSON.stringify(res.body).slice(0, 3000)}`);
  return decode(JSON.parse(res.body.result));
}

export interface WatchContext {
  payload: unknown;
  /** ctx.trigger.scheduled_time, epoch ms. */
  scheduledMs: number;
  watchId?: string;
}

/** Runs a watch script (condition or transform) as Watcher would, with its params and ctx. */
export async function runWatchScript(engine: TestEngine, source: string, params: Record<string, unknown> | undefined, ctx: WatchContext): Promise<unknown> {
  const { functions, statements } = splitFunctions(source);
  const wrapped = `${JSON_ENCODER}${functions}
def __script(Map ctx, Map params) {
${statements}
}
Map c = ['payload': params.__payload, 'watch_id': params.__watch_id, 'trigger': ['scheduled_time': ZonedDateTime.ofInstant(Instant.ofEpochMilli(params.__scheduled), ZoneOffset.UTC)]];
return jsonOf(__script(c, params));`;
  return execute(engine, wrapped, { ...(params ?? {}), __payload: ctx.payload, __scheduled: ctx.scheduledMs, __watch_id: ctx.watchId ?? 'driftbeat-test' });
}

/** Calls the Painless function `fn` (declared in `functions`) once per argument list, in one script. */
export async function painlessCalls(engine: TestEngine, functions: string, fn: string, calls: readonly unknown[][]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const arity = calls[0]!.length;
  const args = Array.from({ length: arity }, (_, k) => `a[${k}]`).join(', ');
  const src = `${JSON_ENCODER}${functions}
List out = new ArrayList(); for (def a : params.__calls) { out.add(${fn}(${args})); } return jsonOf(out);`;
  return (await execute(engine, src, { __calls: calls })) as unknown[];
}

/**
 * A watch's date math (`{{ctx.trigger.scheduled_time}}||-1h-7d`) resolved at a fire time, in every
 * string of a search body: what Watcher does before it runs the search.
 */
export function atFire<T>(v: T, fire: number): T {
  if (typeof v === 'string' && v.startsWith('{{ctx.trigger.scheduled_time}}')) {
    const unit: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
    let t = fire;
    for (const p of v.match(/-\d+[smhdw]/g) ?? []) t -= Number(p.slice(1, -1)) * unit[p.slice(-1)]!;
    return new Date(t).toISOString() as T;
  }
  if (Array.isArray(v)) return v.map((x) => atFire(x, fire)) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, atFire(x, fire)])) as T;
  return v;
}
