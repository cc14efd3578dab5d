/**
 * The shape of agent/ (issue 14, "What must hold"): no source file over 500 lines, no function over
 * 80 lines, no import cycle, no import against the layers of agent/README.md, no import between
 * test/, bench/ and demo/ against the rules below, and no test data inside agent/ (it would be
 * compiled into dist/). Read with the
 * TypeScript compiler API, so a string or a comment that looks like an import does not count.
 *
 * Every violation is printed (file:line and what to do), so one run lists all the work left.
 * Function length counts the lines from its first token to its closing brace (nested functions
 * count inside their parent too).
 * Function length is checked beyond agent/ too (issue 14 holds for all the code): demo/, bench/,
 * test/support/, and the named functions of the test files (*.test.ts). The callback of a
 * test()/it()/describe() is exempt: it reads as the list of cases or the scenario it checks, and
 * cutting it would only hide the steps a reader follows. An anonymous callback is not named, so it
 * is not measured either; a named helper inside a test file is. File length (500 lines) is checked
 * for the same files: agent/, demo/, bench/, test/support/ and every test file.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 80;

/** Generated code and tables, allowed past the limits (path, or `path:function`), each with why. */
const SIZE_EXCEPTIONS: Record<string, string> = {
};

/**
 * Folders (first segment under agent/, or a top-level file without .ts) and what they must not
 * import. The first five are issue 14's; the others follow agent/README.md's two flows.
 */
const LAYER_RULES: { from: string[]; not: string[]; why: string }[] = [
  { from: ['normalize'], not: ['sinks'], why: 'normalize is pure and upstream of the sinks; the sinks import its document, not the other way' },
  { from: ['results'], not: ['rules'], why: 'results store what the rule path produced; the result type belongs below the rules' },
  { from: ['reference'], not: ['assets'], why: 'reference profiles feed normalize and rules; setup (assets) is above them' },
  { from: ['notify'], not: ['alerts'], why: 'alerts hand messages to notify (outbox -> channels), not the other way' },
  { from: ['rules'], not: ['backends'], why: 'a rule plan is run by a backend chosen once in outputs; rules do not know the backends' },
  {
    from: ['sources', 'pipeline', 'normalize', 'sinks', 'engine'],
    not: ['rules', 'backends', 'results', 'alerts', 'notify', 'assets', 'quality', 'cli'],
    why: 'the ship path runs without rules: it must not depend on the rule path, setup or the command line',
  },
  { from: ['stats'], not: ['*'], why: 'stats is pure and published alone as driftbeat/stats: it imports only errors and lib' },
  { from: ['lib', 'errors', 'errors-catalogue', 'telemetry'], not: ['*'], why: 'foundations every component uses: they import no component' },
  { from: ['results', 'backends'], not: ['alerts', 'notify'], why: 'results and backends come before alerts and notify on the rule path' },
  { from: ['*'], not: ['cli'], why: 'the command line is the top: it calls components, none calls it' },
];
/** What a `not: ['*']` rule still allows. */
const FOUNDATIONS = new Set(['lib', 'errors', 'errors-catalogue', 'telemetry']);

interface SourceFile {
  path: string; // relative to ROOT, '/'-separated
  lines: number;
  sf: ts.SourceFile;
}

interface Import {
  from: string;
  to: string;
  line: number;
  typeOnly: boolean;
}

/** Files under `dir` whose name matches `pattern` (TypeScript by default); folders too with `withDirs`. */
function listSources(dir: string, out: string[] = [], pattern = /(?<!\.d)\.ts$/, withDirs = false): string[] {
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = `${dir}/${name}`;
    if (name === 'node_modules' || name === 'target' || name.startsWith('.')) continue;
    if (statSync(join(ROOT, p)).isDirectory()) {
      if (withDirs) out.push(p);
      listSources(p, out, pattern, withDirs);
    } else if (pattern.test(name)) out.push(p);
  }
  return out;
}

const isTest = (p: string) => p.endsWith('.test.ts');

function parse(path: string): SourceFile {
  const text = readFileSync(join(ROOT, path), 'utf8');
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, path.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  return { path, lines: text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length, sf };
}

const lineOf = (sf: ts.SourceFile, pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;

function functionName(node: ts.Node): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name && (ts.isIdentifier(named.name) || ts.isStringLiteral(named.name) || ts.isPrivateIdentifier(named.name))) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText().slice(0, 40)})`;
  return '(anonymous)';
}

/** The callback of a test()/it()/describe() (also `test.skip`, `t.test`, `describe.only`, ...). */
function isTestCallback(node: ts.Node): boolean {
  const call = node.parent;
  if (!call || !ts.isCallExpression(call) || !call.arguments.includes(node as ts.Expression)) return false;
  const callee = call.expression;
  const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? (ts.isIdentifier(callee.expression) && ['test', 'it', 'describe'].includes(callee.expression.text) ? callee.expression.text : callee.name.text) : '';
  return ['test', 'it', 'describe'].includes(name);
}

/**
 * Every function longer than the limit: `file:line name (n lines)`. In a test file (`namedOnly`)
 * only named functions count: test()/it()/describe() callbacks and other anonymous callbacks do not.
 */
function longFunctions(file: SourceFile, namedOnly = false): { key: string; line: number; name: string; lines: number }[] {
  const out: { key: string; line: number; name: string; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body && !(namedOnly && (isTestCallback(node) || functionName(node).startsWith('(')))) {
      const start = lineOf(file.sf, node.getStart(file.sf));
      const lines = lineOf(file.sf, node.end) - start + 1;
      const name = functionName(node);
      if (lines > MAX_FUNCTION_LINES) out.push({ key: `${file.path}:${name}`, line: start, name, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(file.sf);
  return out;
}

/** The files a file imports (relative specifiers only; packages are not layers); `dynamic` adds import('...'). */
function importsOf(file: SourceFile, dynamic = false): Import[] {
  const out: Import[] = [];
  if (dynamic) {
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0]) && node.arguments[0].text.startsWith('.')) {
        const to = relative(ROOT, resolve(ROOT, dirname(file.path), node.arguments[0].text)).split('\\').join('/');
        out.push({ from: file.path, to, line: lineOf(file.sf, node.getStart(file.sf)), typeOnly: false });
      }
      ts.forEachChild(node, visit);
    };
    visit(file.sf);
  }
  for (const st of file.sf.statements) {
    if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const spec = st.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const to = relative(ROOT, resolve(ROOT, dirname(file.path), spec)).split('\\').join('/');
    const typeOnly = ts.isImportDeclaration(st)
      ? Boolean(st.importClause?.isTypeOnly || (st.importClause && !st.importClause.name && st.importClause.namedBindings && ts.isNamedImports(st.importClause.namedBindings) && st.importClause.namedBindings.elements.length > 0 && st.importClause.namedBindings.elements.every((e) => e.isTypeOnly)))
      : st.isTypeOnly;
    out.push({ from: file.path, to, line: lineOf(file.sf, st.getStart(file.sf)), typeOnly });
  }
  return out;
}

/** `agent/rules/plan.ts` -> `rules`; `agent/outputs.ts` -> `outputs`. */
function folderOf(path: string): string {
  const parts = path.split('/');
  return parts.length === 2 ? parts[1]!.replace(/\.ts$/, '') : parts[1]!;
}

function layerViolations(imports: Import[]): string[] {
  const out: string[] = [];
  for (const imp of imports) {
    if (!imp.to.startsWith('agent/')) continue;
    const a = folderOf(imp.from);
    const b = folderOf(imp.to);
    if (a === b) continue;
    for (const rule of LAYER_RULES) {
      const fromMatches = rule.from.includes(a) || (rule.from.includes('*') && a !== 'cli');
      const toMatches = rule.not.includes(b) || (rule.not.includes('*') && !FOUNDATIONS.has(b));
      if (fromMatches && toMatches) {
        out.push(`${imp.from}:${imp.line}: ${a} imports ${b} (${imp.to}${imp.typeOnly ? ', types only' : ''}): ${rule.why}`);
        break;
      }
    }
  }
  return out;
}

/** Import cycles among agent/ files (Tarjan's strongly connected components), each as a path list. */
function cycles(files: string[], imports: Import[]): string[][] {
  const edges = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const i of imports) if (edges.has(i.to)) edges.get(i.from)!.push(i.to);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges.get(v)!.includes(v)) out.push(comp.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) strong(f);
  return out;
}

const sources = listSources('agent').filter((p) => !isTest(p)).map(parse);
/** Static imports make the cycles (a cycle is a load-order problem); layers count import('...') too. */
const imports = sources.flatMap((f) => importsOf(f));
const allImports = sources.flatMap((f) => importsOf(f, true));

/** One break of a rule: a key that survives line shifts and the message to print. */
interface Violation {
  key: string;
  message: string;
}

/** Beyond agent/, checked for function length: demo/, bench/, test/support/ and the test files. */
const functionSources = [
  ...['demo', 'bench', 'test/support'].flatMap((dir) => listSources(dir, [], /(?<!\.d)\.(ts|mjs)$/)).filter((p) => !isTest(p)),
  ...['agent', 'test', 'bench', 'demo'].flatMap((dir) => listSources(dir)).filter(isTest),
].map(parse);

function sizeViolations(): Violation[] {
  const out: Violation[] = [];
  const used = new Set<string>();
  const exempt = SIZE_EXCEPTIONS;
  for (const f of [...sources, ...functionSources]) {
    if (f.lines > MAX_FILE_LINES) {
      if (SIZE_EXCEPTIONS[f.path]) used.add(f.path);
      else out.push({ key: `${f.path}: lines`, message: `${f.path}: ${f.lines} lines (limit ${MAX_FILE_LINES}): split it by job` });
    }
  }
  for (const f of [...sources, ...functionSources]) {
    if (SIZE_EXCEPTIONS[f.path]) continue;
    for (const fn of longFunctions(f, isTest(f.path))) {
      if (exempt[fn.key]) used.add(fn.key);
      else out.push({ key: fn.key, message: `${f.path}:${fn.line}: function ${fn.name} is ${fn.lines} lines (limit ${MAX_FUNCTION_LINES}): make it a short sequence of named steps` });
    }
  }
  for (const k of Object.keys(exempt)) {
    if (!used.has(k)) out.push({ key: `exception ${k}`, message: `SIZE_EXCEPTIONS names ${k}, which is within the limits now (or gone): remove the exception` });
  }
  return out;
}

function layerViolationsOf(imps: Import[]): Violation[] {
  return layerViolations(imps).map((message) => {
    const [path, , rest] = message.split(':');
    return { key: `${path}: imports ${/\((agent\/[^,)]+)/.exec(rest ?? message)?.[1] ?? message}`, message };
  });
}

function cycleViolations(): Violation[] {
  return cycles(sources.map((f) => f.path), imports).map((c) => ({ key: `cycle ${c.join(' <-> ')}`, message: `import cycle: ${c.join(' <-> ')}: move what both need into a third file` }));
}

/** Top-level folders that must not import each other (issue 14): seeded data is shared through demo/. */
const TOP_RULES: { from: string; not: string[]; why: string }[] = [
  { from: 'test', not: ['bench'], why: 'tests share seeded data through demo/ (demo/generate.ts), not through the benchmarks' },
  { from: 'bench', not: ['test'], why: 'benchmarks must run without the test tree (test/engine/launch.mjs excepted: see ENGINE_LAUNCHER)' },
  { from: 'demo', not: ['bench', 'test'], why: 'the demo ships with the product; the benchmarks and tests do not' },
  { from: 'agent', not: ['bench', 'test'], why: 'the product must not depend on its tests or benchmarks (demo/ ships with it: `driftbeat demo`)' },
];

/**
 * The one way to start a real OpenSearch here: test/engine/ is a Maven project (no JavaScript of the
 * test suite), and its launcher is what test/run.mjs, the engine benchmarks and `demo --engine` all
 * start. Importing it is not depending on the tests.
 */
const ENGINE_LAUNCHER = 'test/engine/launch.mjs';

/** Imports across the top-level folders, from every .ts and .mjs file (tests included). */
function topLevelViolations(): Violation[] {
  const out: Violation[] = [];
  for (const top of ['agent', 'test', 'bench', 'demo']) {
    const files = listSources(top, [], /\.(ts|mjs)$/).filter((p) => top !== 'agent' || !isTest(p));
    for (const path of files) {
      const file = parse(path);
      for (const imp of importsOf(file, true)) {
        const to = imp.to.split('/')[0]!;
        const rule = imp.to === ENGINE_LAUNCHER ? undefined : TOP_RULES.find((r) => r.from === top && r.not.includes(to));
        if (rule) out.push({ key: `${path}: imports ${imp.to}`, message: `${path}:${imp.line}: ${top}/ imports ${imp.to}: ${rule.why}` });
      }
    }
  }
  return out;
}

/** Test data belongs in test/fixtures or test/support: what is under agent/ is compiled into dist/. */
function testDataViolations(): Violation[] {
  return listSources('agent', [], /./, true)
    .filter((p) => /(^|\/)(testdata|fixtures)(\/|$)|test-?data|testdocs/i.test(p))
    .map((p) => ({ key: `test data ${p}`, message: `${p}: test data inside agent/ ends up in dist/: move it to test/fixtures/` }));
}

const violations = [...sizeViolations(), ...layerViolationsOf(allImports), ...cycleViolations(), ...topLevelViolations(), ...testDataViolations()];
if (violations.length > 0) console.log(`shape of agent/: ${violations.length} violation(s)\n  ${violations.map((v) => v.message).join('\n  ')}`);

test('agent/ has the shape issue 14 asks for: sizes, layers, cycles, top-level imports, no test data in agent/', () => {
  // Every violation is printed above with its file:line and what to do.
  assert.deepEqual(violations.map((v) => v.message), []);
});

test('the shape check sees what it measures (a long function, a layer break and a cycle in a sample)', () => {
  // The checker itself must be able to fail: run it on a sample written to break every rule.
  const long = `export function f() {\n${'  x();\n'.repeat(MAX_FUNCTION_LINES)}}\n`;
  const sample = { path: 'agent/normalize/sample.ts', lines: MAX_FUNCTION_LINES + 2, sf: ts.createSourceFile('s.ts', `import { a } from '../sinks/sink.ts';\nimport type { B } from './other.ts';\n${long}`, ts.ScriptTarget.Latest, true) };
  assert.deepEqual(longFunctions(sample).map((f) => [f.name, f.lines]), [['f', MAX_FUNCTION_LINES + 2]]);
  // In a test file a long test()/describe() callback is exempt, a long named helper is not.
  const body = `{\n${'  x();\n'.repeat(MAX_FUNCTION_LINES)}}`;
  const testFile = { path: 'test/sample.test.ts', lines: 0, sf: ts.createSourceFile('s.test.ts', `test('a', () => ${body});\ndescribe.skip('b', () => ${body});\nasync function helper() ${body}\n`, ts.ScriptTarget.Latest, true) };
  assert.deepEqual(longFunctions(testFile, true).map((f) => f.name), ['helper']);
  assert.equal(longFunctions(testFile).length, 3);
  const imps = importsOf(sample);
  assert.deepEqual(imps.map((i) => [i.to, i.typeOnly]), [['agent/sinks/sink.ts', false], ['agent/normalize/other.ts', true]]);
  assert.deepEqual(layerViolationsOf(imps).map((v) => v.key), ['agent/normalize/sample.ts: imports agent/sinks/sink.ts']);
  assert.match(layerViolations(imps).join('\n'), /^agent\/normalize\/sample\.ts:1: normalize imports sinks/);
  const ring: Import[] = [
    { from: 'a.ts', to: 'b.ts', line: 1, typeOnly: false },
    { from: 'b.ts', to: 'c.ts', line: 1, typeOnly: false },
    { from: 'c.ts', to: 'a.ts', line: 1, typeOnly: true },
  ];
  assert.deepEqual(cycles(['a.ts', 'b.ts', 'c.ts', 'd.ts'], ring), [['a.ts', 'b.ts', 'c.ts']]);
});
