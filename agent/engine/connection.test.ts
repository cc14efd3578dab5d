/**
 * The engine connection over real sockets on loopback: TLS with a CA file, with the CA's
 * fingerprint (as Elasticsearch prints it at first start), refused otherwise; keep-alive reuse;
 * the connect and answer timeouts. The certificates are test/fixtures/tls (a test CA and a
 * localhost certificate it signed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ElasticsearchOutputSchema } from '../config/schema.ts';
import { EngineConnection, EngineConnectionError, EngineTimeoutError } from './connection.ts';

const TLS = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'tls');
const CA = join(TLS, 'ca.crt');
const CA_FINGERPRINT = new X509Certificate(readFileSync(CA)).fingerprint256;
const BANNER = { name: 'node-1', cluster_name: 'c', version: { distribution: 'opensearch', number: '2.19.6' } };

interface Seen { requests: { path: string; authorization: string | undefined }[]; connections: number }

/** A server answering every request with the banner; `seen` records what reached it. */
async function listen(server: HttpServer | NetServer, seen?: Seen): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  if (seen) server.on('secureConnection', () => seen.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function answer(seen: Seen) {
  return (req: IncomingMessage, res: ServerResponse) => {
    seen.requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(BANNER)));
  };
}

async function httpsEngine() {
  const seen: Seen = { requests: [], connections: 0 };
  // The certificate and its CA, as Elasticsearch sends them (what a CA fingerprint is checked against).
  const chain = Buffer.concat([readFileSync(join(TLS, 'server.crt')), readFileSync(CA)]);
  const server = createHttpsServer({ cert: chain, key: readFileSync(join(TLS, 'server.key')) }, answer(seen));
  return { seen, ...(await listen(server, seen)) };
}

function connection(host: string, extra: Record<string, unknown> = {}): EngineConnection {
  return new EngineConnection(ElasticsearchOutputSchema.parse({ hosts: [host], username: 'elastic', password: 'changeme', ...extra }));
}

test('https: the CA file or the CA fingerprint is trusted; a wrong fingerprint gets no request, credentials included', async (t) => {
  const engine = await httpsEngine();
  t.after(() => engine.close());
  const url = `https://127.0.0.1:${engine.port}`;

  for (const trust of [{ ca: CA }, { ca_fingerprint: CA_FINGERPRINT }, { ca_fingerprint: CA_FINGERPRINT.replace(/:/g, '').toLowerCase() }, { tls_verify: false }]) {
    const c = connection(url, trust);
    const res = await c.request<typeof BANNER>({ method: 'GET', path: '/' });
    assert.equal(res.body.version.number, '2.19.6', JSON.stringify(trust));
    await c.close();
  }
  assert.equal(engine.seen.requests.length, 4);
  assert.ok(engine.seen.requests.every((r) => r.authorization === `Basic ${Buffer.from('elastic:changeme').toString('base64')}`));

  const wrong = connection(url, { ca_fingerprint: 'AB'.repeat(32) });
  await assert.rejects(wrong.request({ method: 'GET', path: '/' }), (err: unknown) => {
    assert.ok(err instanceof EngineConnectionError);
    assert.equal(err.code, 'ERR_TLS_CA_FINGERPRINT');
    assert.match(err.message, /no certificate with the SHA-256 fingerprint of output\.elasticsearch\.ca_fingerprint/);
    return true;
  });
  await wrong.close();
  // Neither this one nor the next reached the server: nothing was sent over an untrusted socket.
  const untrusted = connection(url);
  await assert.rejects(untrusted.request({ method: 'GET', path: '/' }), (err: unknown) => err instanceof EngineConnectionError && /certificate/i.test(err.message));
  await untrusted.close();
  assert.equal(engine.seen.requests.length, 4);
});

test('keep-alive: requests one after another share one socket', async (t) => {
  const engine = await httpsEngine();
  t.after(() => engine.close());
  const c = connection(`https://127.0.0.1:${engine.port}`, { ca: CA });
  for (let i = 0; i < 5; i++) await c.request({ method: 'POST', path: '/_bulk', bulkBody: '{"create":{}}\n{"a":1}\n' });
  await c.close();
  assert.equal(engine.seen.requests.length, 5);
  assert.equal(engine.seen.connections, 1);
});

test('timeouts: a handshake that never ends is a connect timeout, an answer that never comes is an answer timeout', async (t) => {
  // Accepts TCP and says nothing: the TLS handshake hangs.
  const silent = await listen(createNetServer(() => undefined));
  t.after(() => silent.close());
  const tls = connection(`https://127.0.0.1:${silent.port}`, { ca: CA, timeout: '300ms' });
  await assert.rejects(tls.request({ method: 'GET', path: '/' }), (err: unknown) => err instanceof EngineTimeoutError && /connecting to https:\/\/127\.0\.0\.1:\d+ timed out/.test(err.message));
  await tls.close();

  // Reads the request and never answers.
  const mute = await listen(createHttpServer((req) => req.resume()));
  t.after(() => mute.close());
  const http = connection(`http://127.0.0.1:${mute.port}`, { timeout: '300ms' });
  await assert.rejects(http.request({ method: 'GET', path: '/' }), (err: unknown) => err instanceof EngineTimeoutError && /no answer from http:\/\/127\.0\.0\.1:\d+ within the timeout/.test(err.message));
  await http.close();
});
