import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElasticsearchOutputSchema } from '../../config/schema.ts';
import { ConfigError } from '../../errors.ts';
import { redact } from '../../telemetry/redact.ts';
import { startEsServer, type EsServer } from '../../../test/support/es-server.ts';
import { clientOptions, createElasticsearchClient, describeRequestError } from './client.ts';

const dir = mkdtempSync(join(tmpdir(), 'driftbeat-es-client-'));
const servers: EsServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const parse = (o: Record<string, unknown>) => ElasticsearchOutputSchema.parse({ hosts: ['http://127.0.0.1:9200'], ...o });

test('client options: our retry loop only (maxRetries 0), the configured timeout, all hosts', () => {
  const o = clientOptions(parse({ hosts: ['http://a:9200', 'http://b:9200'], timeout: '7s' }));
  assert.equal(o.maxRetries, 0);
  assert.equal(o.requestTimeout, 7000);
  assert.deepEqual(o.nodes, ['http://a:9200', 'http://b:9200']);
  assert.equal(o.auth, undefined);
});

test('credentials: api key or basic auth, and both are redacted from then on', () => {
  const withKey = clientOptions(parse({ api_key: 'a2V5LWlkOnNlY3JldC1rZXktdmFsdWU=' }));
  assert.deepEqual(withKey.auth, { apiKey: 'a2V5LWlkOnNlY3JldC1rZXktdmFsdWU=' });
  assert.equal(redact('key a2V5LWlkOnNlY3JldC1rZXktdmFsdWU= here'), 'key [REDACTED] here');
  const basic = clientOptions(parse({ username: 'elastic', password: 'p4ss-w0rd-x' }));
  assert.deepEqual(basic.auth, { username: 'elastic', password: 'p4ss-w0rd-x' });
  assert.equal(redact('p4ss-w0rd-x'), '[REDACTED]');
});

test('TLS: a CA file, verification off, and the CA fingerprint only for https hosts', () => {
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const o = clientOptions(parse({ hosts: ['https://es:9200'], ca, tls_verify: false, ca_fingerprint: 'AA:BB' }));
  assert.ok(Buffer.isBuffer(o.tls?.ca));
  assert.equal(o.tls?.rejectUnauthorized, false);
  assert.equal(o.caFingerprint, 'AA:BB');
  // The client throws on a fingerprint with plain http; leave it out there.
  assert.equal(clientOptions(parse({ ca_fingerprint: 'AA:BB' })).caFingerprint, undefined);
  assert.equal(clientOptions(parse({})).tls, undefined);
});

test('a CA file that cannot be read is a config problem naming the key and the path', () => {
  const missing = join(dir, 'nope.pem');
  assert.throws(() => clientOptions(parse({ ca: missing })), (e: unknown) =>
    e instanceof ConfigError && e.code === 'ERR_CONFIG_CA' && e.message.includes('output.elasticsearch.ca') && e.message.includes(missing) && e.message.includes('ENOENT'));
});

test('the built client talks to a server with credentials; its errors reduce to status and type', async () => {
  const es = await startEsServer({ auth: { apiKey: 'Z29vZC1rZXk=' } });
  servers.push(es);
  const good = createElasticsearchClient(parse({ hosts: [es.url], api_key: 'Z29vZC1rZXk=' }));
  const info = await good.info();
  assert.equal(info.tagline, 'You Know, for Search');
  assert.equal(es.requests[0]!.headers.authorization, 'ApiKey Z29vZC1rZXk=');
  await good.close();

  const bad = createElasticsearchClient(parse({ hosts: [es.url], api_key: 'YmFkLWtleQ==' }));
  const err = await bad.info().then(() => undefined, (e: unknown) => e);
  assert.deepEqual(
    { status: describeRequestError(err).status, type: describeRequestError(err).type },
    { status: 401, type: 'security_exception' },
  );
  assert.ok(!JSON.stringify(describeRequestError(err)).includes('YmFkLWtleQ=='));
  await bad.close();

  const url = es.url;
  const gone = createElasticsearchClient(parse({ hosts: [url], timeout: 1000 }));
  es.faults.down();
  const netErr = await gone.info().then(() => undefined, (e: unknown) => e);
  const f = describeRequestError(netErr);
  assert.equal(f.status, undefined);
  assert.equal(f.type, 'ConnectionError');
  es.faults.up();
  await gone.close();
});
