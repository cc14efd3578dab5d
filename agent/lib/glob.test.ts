import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globToRegExp, wildcard } from './glob.ts';

test('path globs: one folder per *, ** across folders, dot files, brackets and braces', () => {
  const m = (g: string, p: string) => globToRegExp(g).test(p);
  assert.ok(m('/var/log/*.jsonl', '/var/log/.p.jsonl'), 'a dot file is matched, as Filebeat does');
  assert.ok(!m('/var/log/*.jsonl', '/var/log/a/p.jsonl'));
  assert.ok(m('/var/log/**/*.jsonl', '/var/log/a/b/p.jsonl'));
  assert.ok(m('/l/[!0-9].log', '/l/x.log') && !m('/l/[!0-9].log', '/l/7.log'), '[!...] excludes (picomatch needs posix: true)');
  assert.ok(m('/l/{a,b}.log', '/l/a.log') && !m('/l/{a,b}.log', '/l/c.log'));
  assert.ok(m('/l/a+b(1).log', '/l/a+b(1).log') && m('/l/(a|b).log', '/l/(a|b).log') && !m('/l/(a|b).log', '/l/a.log'), 'parentheses are literal');
  assert.ok(m('/l/\\*.log', '/l/*.log') && !m('/l/\\*.log', '/l/a.log'), 'a backslash escapes');
});

test('name wildcards: * crosses dots and slashes, ? is one character or literal, the rest literal', () => {
  const w = (p: string, n: string, question?: boolean) => wildcard(p, question === undefined ? {} : { question }).test(n);
  assert.ok(w('features.*', 'features.income/month'), 'a feature name with a slash');
  assert.ok(w('features.*', 'features.addr.city'));
  assert.ok(w('features.*', 'features.'));
  assert.ok(!w('features.*', 'prediction.score'));
  assert.ok(w('features.countr?', 'features.country') && !w('features.countr?', 'features.countries'));
  assert.ok(w('logs-?', 'logs-?', false) && !w('logs-?', 'logs-a', false), 'Elasticsearch: ? is itself');
  assert.ok(w('driftbeat-*', 'driftbeat-predictions') && !w('driftbeat-*', 'other-predictions'));
  assert.ok(w('a+b(1)[x]{y,z}!', 'a+b(1)[x]{y,z}!') && !w('{y,z}', 'y'), 'no braces, brackets or extglobs in names');
  assert.ok(w('.hidden*', '.hidden.x') && w('*', '.x'));
});
