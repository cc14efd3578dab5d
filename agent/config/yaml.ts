/**
 * YAML with positions: parse a file, interpolate `${ENV}` in scalar values, validate with a zod
 * schema, and report every problem at once as `file:line:col: key: expected X, received Y`.
 * Shared by the config loader and the rule loader.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import type { Problem, SourcePosition } from '../errors.ts';
import { registerSecret } from '../telemetry/redact.ts';

export interface ParsedYaml {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
  problems: Problem[];
  /** False when the YAML itself is broken: nothing else can be checked. */
  syntaxOk: boolean;
}

const ENV_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${NAME}` and `${NAME:-default}`; `$${` is a literal `${`. Returns the names that were unset. */
export function interpolateEnv(text: string, env: NodeJS.ProcessEnv, onValue?: (name: string, value: string) => void): { value: string; unset: string[] } {
  const unset: string[] = [];
  const value = text.replace(ENV_RE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const v = env[name!];
    if (v === undefined || v === '') {
      if (fallback !== undefined) return fallback;
      unset.push(name!);
      return '';
    }
    onValue?.(name!, v);
    return v;
  });
  return { value, unset };
}

export function positionOf(file: string, lines: LineCounter, offset: number): SourcePosition {
  const { line, col } = lines.linePos(offset);
  return { file, line, col };
}

/** Reads and parses a YAML file; syntax errors and unset env variables become problems. */
export function readYaml(file: string, options: { env?: NodeJS.ProcessEnv; text?: string; interpolate?: boolean } = {}): ParsedYaml {
  const text = options.text ?? readFileSync(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    problems.push({ position: positionOf(file, lines, e.pos[0]), key: '', message: `invalid YAML: ${e.message.split('\n')[0]}` });
  }
  const syntaxOk = problems.length === 0;
  if (options.interpolate !== false && syntaxOk) {
    const env = options.env ?? process.env;
    visit(doc, {
      Scalar(_key, node, path) {
        if (typeof node.value !== 'string' || !node.value.includes('${')) return;
        const { value, unset } = interpolateEnv(node.value, env, (name, v) => {
          // Values from the environment are treated as secrets: they never reach a log line.
          if (v.length >= 4) registerSecret(v);
          void name;
        });
        node.value = value;
        for (const name of unset) {
          problems.push({
            position: node.range ? positionOf(file, lines, node.range[0]) : { file, line: 1, col: 1 },
            key: keyPathOfNodes([...path, node]),
            message: `environment variable ${name} is not set (use \${${name}:-default} for a default)`,
          });
        }
      },
    });
  }
  // Unset variables are reported, and the rest of the file is still validated (all problems at once).
  const value = syntaxOk ? doc.toJS({ maxAliasCount: 100 }) : undefined;
  return { file, doc, lines, value: value ?? {}, problems, syntaxOk };
}

/** Key path of a node from its ancestors (as yaml's visit() gives them) followed by the node itself. */
function keyPathOfNodes(path: readonly unknown[]): string {
  const parts: (string | number)[] = [];
  for (let i = 0; i < path.length; i++) {
    const p = path[i];
    if (isMap(p)) {
      const pair = path[i + 1] as { key?: unknown } | undefined;
      if (pair && isScalar(pair.key)) parts.push(String(pair.key.value));
    } else if (isSeq(p)) {
      const next = path[i + 1];
      parts.push(p.items.indexOf(next as never));
    }
  }
  return formatKeyPath(parts);
}

/** `['inputs', 0, 'fields', 'timestamp']` -> `inputs[0].fields.timestamp` */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Position of the node at `path` (or of its key, or the nearest existing parent). */
export function positionAt(parsed: Pick<ParsedYaml, 'file' | 'doc' | 'lines'>, path: readonly PropertyKey[], preferKey = false): SourcePosition {
  const { file, doc, lines } = parsed;
  let node: Node | null = doc.contents as Node | null;
  let best: number | undefined = node?.range?.[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      node = pair.value as Node | null;
      best = (preferKey ? keyStart : undefined) ?? node?.range?.[0] ?? keyStart ?? best;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      node = item;
      best = item.range?.[0] ?? best;
    } else {
      break;
    }
  }
  return positionOf(file, lines, best ?? 0);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'object';
  if (value === undefined) return 'nothing';
  return `${typeof value} ${String(value)}`;
}

/** Turns zod issues into problems with positions, in the words of STYLE.md. */
export function issuesToProblems(parsed: Pick<ParsedYaml, 'file' | 'doc' | 'lines'>, issues: readonly z.core.$ZodIssue[], subject?: string): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        out.push({
          position: positionAt(parsed, [...path, k], true),
          key: formatKeyPath([...path, k]),
          message: 'unknown key',
          ...(subject ? { subject } : {}),
        });
      }
      continue;
    }
    const input = (issue as { input?: unknown }).input;
    let message: string;
    switch (issue.code) {
      case 'invalid_type':
        message = `expected ${issue.expected}, received ${describe(input)}`;
        break;
      case 'invalid_value':
        message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, received ${describe(input)}`;
        break;
      case 'invalid_union': {
        const u = issue as { discriminator?: string; options?: unknown[] };
        if (u.discriminator && Array.isArray(u.options)) {
          const got = input && typeof input === 'object' ? (input as Record<string, unknown>)[u.discriminator] : undefined;
          message = `expected one of ${u.options.map((v) => JSON.stringify(v)).join(', ')}, received ${describe(got)}`;
        } else {
          message = `expected one of the allowed shapes, received ${describe(input)}`;
        }
        break;
      }
      case 'too_small':
        message = issue.origin === 'array'
          ? `expected at least ${String(issue.minimum)} item(s), received ${Array.isArray(input) ? input.length : describe(input)}`
          : issue.origin === 'string'
            ? `expected a non-empty string, received ${describe(input)}`
            : `expected a value ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}, received ${describe(input)}`;
        break;
      case 'too_big':
        message = `expected a value ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}, received ${describe(input)}`;
        break;
      case 'invalid_format':
        message = `expected a valid ${issue.format === 'url' ? 'URL' : issue.format}, received ${describe(input)}`;
        break;
      default:
        message = issue.message;
    }
    out.push({ position: positionAt(parsed, path), key: formatKeyPath(path), message, ...(subject ? { subject } : {}) });
  }
  return out;
}

/** Validates a parsed YAML document with a schema; returns the value or the problems. */
export function validateYaml<S extends z.ZodType>(parsed: ParsedYaml, schema: S, subject?: string): { value?: z.output<S>; problems: Problem[] } {
  if (!parsed.syntaxOk) return { problems: parsed.problems };
  const r = schema.safeParse(parsed.value, { reportInput: true });
  if (r.success && parsed.problems.length === 0) return { value: r.data, problems: [] };
  // A key whose env variable is unset is reported once, as that, not again as an empty value.
  const envKeys = new Set(parsed.problems.map((p) => p.key));
  const schemaProblems = r.success ? [] : issuesToProblems(parsed, r.error.issues, subject).filter((p) => !envKeys.has(p.key));
  const problems = [...parsed.problems.map((p) => (subject ? { ...p, subject } : p)), ...schemaProblems];
  problems.sort((a, b) => (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.col ?? 0) - (b.position?.col ?? 0));
  return { problems };
}
