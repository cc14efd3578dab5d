/**
 * The one glob matcher of the agent, picomatch (micromatch/picomatch), in the two dialects the
 * agent reads:
 *
 * - `globToRegExp`: file paths (`paths`, `exclude`, `rotated` of an input). `*` and `?` stay within
 *   one folder and match dot files too (as Go's filepath.Glob that Filebeat uses), `**` crosses
 *   folders, `[abc]`, `[!abc]`, `{a,b}`, `\` escapes. `posix: true` because picomatch 4.0.7 reads a
 *   leading `!` in brackets as a member unless it is set (micromatch/picomatch#187).
 * - `wildcard`: names: rule `fields` (`features.*`, `features.countr?`), index patterns and the
 *   `match`/`path_match` of dynamic templates (Elasticsearch's simple match). `*` is any run of
 *   characters, dots and slashes included; `?` is one character or, with `question: false`
 *   (Elasticsearch), itself; every other character is literal.
 */
import picomatch from 'picomatch';

const PATH_OPTIONS: picomatch.PicomatchOptions = { dot: true, posix: true, noextglob: true };

/**
 * An anchored RegExp over a whole '/'-separated path. Parentheses and `|` are escaped first:
 * picomatch passes them into the RegExp as groups, and a path glob has none (`app(1).log` is a name).
 */
export function globToRegExp(glob: string): RegExp {
  return picomatch.makeRe(glob.replace(/(?<!\\)[()|]/g, (c) => `\\${c}`), PATH_OPTIONS);
}

export interface NameMatcher {
  test(name: string): boolean;
}

// picomatch ends a segment at '/', but a name's `*` crosses it (a field `features.income/month`):
// the pattern and the name both carry this stand-in instead.
const SLASH = '\u0000';
const NAME_OPTIONS: picomatch.PicomatchOptions = { dot: true, nobrace: true, noextglob: true, noglobstar: true, nonegate: true };

/** Matches whole names against `pattern`: `*` any characters, `?` one (or literal), the rest literal. */
export function wildcard(pattern: string, opts: { question?: boolean } = {}): NameMatcher {
  const special = opts.question === false ? /[^\w*/]/g : /[^\w*?/]/g;
  const source = pattern.replace(special, (c) => `\\${c}`).replaceAll('/', SLASH);
  const isMatch = picomatch(source, NAME_OPTIONS);
  return { test: (name) => isMatch(name.replaceAll('/', SLASH)) };
}
