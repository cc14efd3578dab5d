/**
 * Runs the Painless of generated watches (agent/assets/watch-scripts.ts) in tests: a line-for-line
 * translation to JavaScript of the small dialect those scripts are written in (typed declarations,
 * list/map literals, for-each, a few java.lang / java.util calls). No Elasticsearch runs here, so
 * this checks the scripts' logic, not Painless' own parser; the dialect avoids what would translate
 * with a different meaning (integer division is always written with a double operand).
 */
const TYPES = '(?:String|int|long|double|boolean|def|List|Map)';

/** Painless source -> JavaScript source (a function body over `ctx` and `params`). */
export function painlessToJsSource(src: string): string {
  const js = src
    .replace(new RegExp(`^${TYPES} (\\w+)\\(([^)]*)\\) \\{`, 'gm'), (_m, name: string, args: string) =>
      `function ${name}(${args.split(',').map((a) => a.trim().split(' ').pop()).join(', ')}) {`)
    .replace(new RegExp(`for \\(${TYPES} (\\w+) : `, 'g'), 'for (let $1 of ')
    .replace(new RegExp(`\\b${TYPES} (\\w+)( =|;)`, 'g'), 'let $1$2')
    .replace(/\((?:double|long|int)\) /g, '')
    .replace(/new HashMap\(([^)]+)\)/g, 'Object.assign({}, $1)')
    .replace(/new HashMap\(\)/g, '{}')
    .replace(/new ArrayList\(([^)]+)\)/g, '[...$1]')
    .replace(/Collections\.sort\((\w+)\)/g, '$1.sort((x, y) => x - y)')
    .replace(/(\w+)\.put\(([^,]+), ([^)]+)\)/g, '$1[$2] = $3')
    .replace(/(\w+)\.containsKey\(([^)]+)\)/g, 'Object.prototype.hasOwnProperty.call($1, $2)')
    .replace(/(\w+) instanceof Number/g, "(typeof $1 === 'number')")
    .replace(/(\w+) instanceof Map/g, "(typeof $1 === 'object' && $1 !== null)")
    .replace(/(\w+\[\w+\])\.compareTo\((\w+\[\w+\])\) < 0/g, '$1 < $2')
    .replace(/String\.valueOf\(/g, 'String(')
    .replace(/Math\.rint\(/g, 'Math.round(')
    .replace(/\.size\(\)/g, '.length')
    .replace(/\.isEmpty\(\)/g, '.length === 0')
    .replace(/(\w+)\.addAll\(([^)]+)\)/g, '$1.push(...$2)')
    .replace(/\.add\(/g, '.push(')
    .replace(/\.contains\(/g, '.includes(')
    .replace(/\[('\w+':[^;]*)\];/g, '{$1};')
    .replace(/Double\.POSITIVE_INFINITY/g, 'Infinity')
    .replace(/Double\.NEGATIVE_INFINITY/g, '-Infinity')
    .replace(/Double\.NaN/g, 'NaN')
    .replace(/Double\.isNaN\(/g, 'Number.isNaN(')
    .replace(/Double\.isInfinite\(/g, '!Number.isFinite(')
    .replace(/Instant\.ofEpochMilli\(([^)]*)\)\.toString\(\)/g, 'new Date($1).toISOString()');
  return `"use strict";\n${js}`;
}

/** Painless (watch-scripts.ts' subset) -> a JavaScript function (ctx, params). */
export function painlessToJs(src: string): (ctx: unknown, params: unknown) => unknown {
  return new Function('ctx', 'params', painlessToJsSource(src)) as (ctx: unknown, params: unknown) => unknown;
}
